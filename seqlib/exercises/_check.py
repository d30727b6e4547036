"""Run an exercise's named checks in order and report the first failure as a hint."""

from __future__ import annotations

import sys
from collections.abc import Callable

import torch

from seqlib.i18n import tr

# A checker's cases: ``(name, case)`` where ``case(candidate)`` raises AssertionError on failure.
Case = tuple[str, Callable[[Callable[..., object]], None]]


def run_checks(checks: list[tuple[str, Callable[[], None]]], verbose: bool = True) -> bool:
    """Run named checks in order, stopping at the first that fails.

    A check passes when it returns without raising. ``AssertionError`` carries the hint in its
    message; ``NotImplementedError`` means the stub is still a stub; any other exception is
    reported with its type so the student sees what broke.

    Args:
        checks: ``(name, check)`` pairs; each check takes no arguments.
        verbose: print "✓ all N checks passed" or "✗ check '<name>' failed: <message>".

    Returns:
        True when every check passed.
    """
    for name, check in checks:
        try:
            check()
        except AssertionError as error:
            message = str(error) or tr("assertion failed")
        except NotImplementedError as error:
            message = tr("not implemented yet ({error})", error=error) if str(error) else tr("not implemented yet")
        except Exception as error:  # noqa: BLE001 - a student's code may raise anything
            message = f"{type(error).__name__}: {error}"
        else:
            continue
        if verbose:
            print(tr("✗ check '{name}' failed: {message}", name=name, message=message))
        return False
    if verbose:
        print(tr("✓ all {n} checks passed", n=len(checks)))
    return True


def check_cases(cases: list[Case], candidate: Callable[..., object], verbose: bool = True) -> bool:
    """Run ``cases`` against a student's ``candidate`` with :func:`run_checks`.

    Args:
        cases: ``(name, case)`` pairs; each case calls the candidate and asserts on the result.
        candidate: the student's function or class.
        verbose: print the result.

    Returns:
        True when every case passed.

    Raises:
        TypeError: ``candidate`` is not a function or class (e.g. None, or the result of calling
            the function instead of the function); the message names the checker.
    """
    if not callable(candidate):
        checker = sys._getframe(1).f_code.co_name  # the check_... function that called us
        shown = repr(candidate)
        shown = shown if len(shown) <= 60 else shown[:57] + "..."
        raise TypeError(
            f"{checker} takes your function or class itself, got {type(candidate).__name__} {shown}. "
            f"Pass it without calling it, e.g. {checker}(my_function) rather than {checker}(my_function(...))."
        )
    return run_checks([(name, lambda c=case: c(candidate)) for name, case in cases], verbose)


def assert_tensor_close(actual: object, expected: torch.Tensor, what: str, floating: bool = False) -> None:
    """Assert that a student's result is a finite tensor equal to ``expected`` (atol 1e-5).

    Args:
        actual: what the student's code returned.
        expected: the hand-computed value.
        what: the check in words, used as the hint (already translated: pass ``tr("...")``).
        floating: also require a floating-point dtype (e.g. a mask that multiplies embeddings).

    Raises:
        AssertionError: with a hint naming the first difference (type, shape, dtype, NaN, value;
            a tensor of more than 12 values by its largest difference).
    """
    assert isinstance(actual, torch.Tensor), tr("{what}: expected a tensor, got {type}", what=what,
                                                type=type(actual).__name__)
    assert actual.shape == expected.shape, tr("{what}: expected shape {expected}, got {actual}", what=what,
                                              expected=tuple(expected.shape), actual=tuple(actual.shape))
    if floating:
        assert actual.is_floating_point(), tr("{what}: expected a float tensor (it multiplies embeddings), got {dtype}",
                                              what=what, dtype=actual.dtype)
    assert torch.isfinite(actual).all(), tr("{what}: contains NaN or inf", what=what)
    if torch.allclose(actual.double(), expected.double(), atol=1e-5):
        return
    if expected.numel() <= 12:
        raise AssertionError(tr("{what}: expected {expected}, got {actual}", what=what, expected=expected.tolist(),
                                actual=actual.tolist()))
    gap = (actual.double() - expected.double()).abs()
    where = tuple(int(i) for i in torch.unravel_index(gap.argmax(), gap.shape))
    raise AssertionError(tr("{what}: {n} of {total} values differ; the largest difference is at index {where}: "
                            "expected {expected:.4g}, got {actual:.4g}", what=what, n=int((gap > 1e-5).sum()),
                            total=gap.numel(), where=where, expected=float(expected[where]),
                            actual=float(actual[where])))
