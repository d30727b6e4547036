"""Run an exercise's named checks in order and report the first failure as a hint."""

from __future__ import annotations

from collections.abc import Callable


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
            message = str(error) or "assertion failed"
        except NotImplementedError as error:
            message = f"not implemented yet ({error})" if str(error) else "not implemented yet"
        except Exception as error:  # noqa: BLE001 - a student's code may raise anything
            message = f"{type(error).__name__}: {error}"
        else:
            continue
        if verbose:
            print(f"✗ check '{name}' failed: {message}")
        return False
    if verbose:
        print(f"✓ all {len(checks)} checks passed")
    return True
