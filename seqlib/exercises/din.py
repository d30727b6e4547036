"""Checkers for chapter 2 (DIN): local activation pooling, Dice, the masked softmax, the
mini-batch aware L2 penalty.

The same checks run in ``tests/test_din.py`` against seqlib's own implementation.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from seqlib.exercises._check import Case, assert_tensor_close, check_cases





def _sig(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))



# ---------------------------------------------------------------- local activation pooling
def sum_score(features: torch.Tensor) -> torch.Tensor:
    """A stand-in activation unit for hand computation: the sum of the features.

    On ``[e, v, e - v, e * v]`` it is ``2 * sum(e) + sum(e * v)``.  # [*, 4D] -> [*, 1]
    """
    return features.sum(dim=-1, keepdim=True)


def pool_example() -> tuple[torch.Tensor, ...]:
    """Two users, L = 3, D = 2; user 0 has 2 behaviours, user 1 has 3.

    Returns:
        ``(behaviours, target, mask, expected pooled vectors)``.
    """
    behaviours = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]], [[1.0, 1.0], [0.5, 0.0], [0.0, -1.0]]])
    target = torch.tensor([[1.0, 1.0], [0.0, 2.0]])
    mask = torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
    # user 0: scores 2*1 + 1 = 3 and 2*1 + 1 = 3 -> 3*[1,0] + 3*[0,1] = [3, 3]
    # user 1: scores 2*2 + 2 = 6, 2*0.5 + 0 = 1, 2*(-1) - 2 = -4 -> [6 + 0.5, 6 + 4] = [6.5, 10]
    expected = torch.tensor([[3.0, 3.0], [6.5, 10.0]])
    return behaviours, target, mask, expected


def pool_cases() -> list[Case]:
    """Checks for ``local_activation_pool(behaviours, target, mask, score) -> [B, D]``."""
    behaviours, target, mask, expected = pool_example()

    def hand_value(fn: Callable[..., torch.Tensor]) -> None:
        assert_tensor_close(fn(behaviours, target, mask, sum_score), expected,
                            "pooled vectors of the tiny batch with score = sum of [e, v, e-v, e*v] (weights are NOT softmaxed)")

    def ignores_padding(fn: Callable[..., torch.Tensor]) -> None:
        noisy = behaviours.clone()
        noisy[mask == 0] = 9.0
        assert_tensor_close(fn(noisy, target, mask, sum_score), expected, "values at padded positions must not change the result")

    def extra_padding(fn: Callable[..., torch.Tensor]) -> None:
        wider = torch.cat([behaviours, torch.full((2, 2, 2), 5.0)], dim=1)  # [2, 5, 2]
        assert_tensor_close(fn(wider, target, torch.cat([mask, torch.zeros(2, 2)], dim=1), sum_score), expected,
                            "adding padded columns must change nothing")

    def empty_history(fn: Callable[..., torch.Tensor]) -> None:
        out = fn(behaviours, target, torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]), sum_score)
        assert_tensor_close(out[0], torch.zeros(2), "an empty history must pool to zeros (not NaN)")

    return [("hand-computed value", hand_value), ("padding is ignored", ignores_padding),
            ("padding columns", extra_padding), ("empty history", empty_history)]


def check_local_activation_pool(fn: Callable[..., torch.Tensor], verbose: bool = True) -> bool:
    """Check a student's ``local_activation_pool(behaviours, target, mask, score)``.

    Args:
        fn: the candidate implementation.
        verbose: print the result.

    Returns:
        True when all checks pass.
    """
    return check_cases(pool_cases(), fn, verbose)


# ---------------------------------------------------------------- Dice
def dice_cases() -> list[Case]:
    """Checks for ``dice(x, alpha, mask) -> [*, H]`` in training mode (batch statistics)."""
    alpha = torch.tensor([0.25, 0.5])

    def standard_stats(fn: Callable[..., torch.Tensor]) -> None:
        # each column has mean 0 and variance 1, so p(s) = sigmoid(s)
        x = torch.tensor([[1.0, -1.0], [-1.0, 1.0]])
        expected = torch.tensor([[_sig(1) + (1 - _sig(1)) * 0.25, -(_sig(-1) + (1 - _sig(-1)) * 0.5)],
                                 [-(_sig(-1) + (1 - _sig(-1)) * 0.25), _sig(1) + (1 - _sig(1)) * 0.5]])
        assert_tensor_close(fn(x, alpha, torch.ones(2)), expected,
                            "with batch mean 0 and variance 1, f(s) = sigmoid(s) * s + (1 - sigmoid(s)) * alpha * s")

    def shifted_stats(fn: Callable[..., torch.Tensor]) -> None:
        # column means [2, 4], variances [1, 4]: z = (x - mean) / std = [[-1, -1], [1, 1]]
        x = torch.tensor([[1.0, 2.0], [3.0, 6.0]])
        lo, hi = _sig(-1), _sig(1)
        expected = torch.tensor([[1 * (lo + (1 - lo) * 0.25), 2 * (lo + (1 - lo) * 0.5)],
                                 [3 * (hi + (1 - hi) * 0.25), 6 * (hi + (1 - hi) * 0.5)]])
        assert_tensor_close(fn(x, alpha, torch.ones(2)), expected, "p(s) must use the standardised input (s - mean) / std")

    def masked_stats(fn: Callable[..., torch.Tensor]) -> None:
        x = torch.tensor([[1.0, 2.0], [3.0, 6.0], [100.0, -50.0]])
        out = fn(x, alpha, torch.tensor([1.0, 1.0, 0.0]))
        reference = fn(x[:2], alpha, torch.ones(2))
        assert_tensor_close(out[:2], reference, "a padded row (mask 0) must not enter the batch statistics")

    def shapes(fn: Callable[..., torch.Tensor]) -> None:
        x = torch.tensor([[[1.0, 2.0], [3.0, 6.0]], [[2.0, 4.0], [0.0, 0.0]]])  # [2, 2, 2]: B, L, H
        mask = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
        out = fn(x, alpha, mask)
        flat = fn(x.reshape(4, 2)[:3], alpha, torch.ones(3))
        assert_tensor_close(out.reshape(4, 2)[:3], flat, "statistics run over every valid position of a [B, L, H] input")

    return [("mean 0, variance 1", standard_stats), ("standardised gate", shifted_stats),
            ("masked statistics", masked_stats), ("[B, L, H] input", shapes)]


def check_dice(fn: Callable[..., torch.Tensor], verbose: bool = True) -> bool:
    """Check a student's ``dice(x, alpha, mask)`` (training mode, eps = 1e-8).

    Args:
        fn: the candidate implementation.
        verbose: print the result.

    Returns:
        True when all checks pass.
    """
    return check_cases(dice_cases(), fn, verbose)


# ---------------------------------------------------------------- masked softmax
def softmax_cases() -> list[Case]:
    """Checks for ``masked_softmax(scores, mask) -> [B, L]``."""
    scores = torch.tensor([[0.0, math.log(3.0), 50.0], [1.0, 1.0, 1.0]])
    mask = torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]])

    def hand_value(fn: Callable[..., torch.Tensor]) -> None:
        expected = torch.tensor([[0.25, 0.75, 0.0], [1 / 3, 1 / 3, 1 / 3]])
        assert_tensor_close(fn(scores, mask), expected, "softmax over the valid positions only (padding gets exactly 0)")

    def empty_history(fn: Callable[..., torch.Tensor]) -> None:
        out = fn(scores, torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]))
        assert_tensor_close(out[0], torch.zeros(3), "an empty history must get all-zero weights (not NaN)")

    return [("hand-computed value", hand_value), ("empty history", empty_history)]


def check_masked_softmax(fn: Callable[..., torch.Tensor], verbose: bool = True) -> bool:
    """Check a student's ``masked_softmax(scores, mask)``.

    Args:
        fn: the candidate implementation.
        verbose: print the result.

    Returns:
        True when all checks pass.
    """
    return check_cases(softmax_cases(), fn, verbose)


# ---------------------------------------------------------------- mini-batch aware L2
def mba_example() -> tuple[torch.Tensor, ...]:
    """A 5-row table, a batch using ids {1, 3, 4} (3 twice, 0 = padding) and counts ``n_j``.

    Returns:
        ``(weight, ids, counts, lam, expected)``.
    """
    weight = torch.tensor([[0.0, 0.0], [1.0, 2.0], [5.0, 5.0], [3.0, 0.0], [1.0, 1.0]])
    ids = torch.tensor([[1, 3, 3], [0, 4, 1]])
    counts = torch.tensor([0.0, 2.0, 7.0, 4.0, 1.0])
    lam = 0.1
    # 0.1 * (|w1|^2 / 2 + |w3|^2 / 4 + |w4|^2 / 1) = 0.1 * (5/2 + 9/4 + 2) = 0.675; row 2 is not in the batch
    return weight, ids, counts, lam, torch.tensor(0.675)


def mba_cases() -> list[Case]:
    """Checks for ``mba_penalty(weight, ids, counts, lam) -> scalar``."""
    weight, ids, counts, lam, expected = mba_example()

    def hand_value(fn: Callable[..., torch.Tensor]) -> None:
        assert_tensor_close(fn(weight, ids, counts, lam), expected,
                            "penalty of the tiny batch: each distinct id once, scaled by 1 / n_j; padding (0) excluded")

    def only_present_rows(fn: Callable[..., torch.Tensor]) -> None:
        w = weight.clone().requires_grad_(True)
        fn(w, ids, counts, lam).backward()
        assert w.grad is not None, "the penalty must be differentiable in the table"
        untouched = w.grad[[0, 2]].abs().sum().item()
        assert untouched == 0.0, f"rows absent from the batch (0, 2) must get no gradient, got {w.grad.tolist()}"

    return [("hand-computed value", hand_value), ("only rows in the batch", only_present_rows)]


def check_mba_penalty(fn: Callable[..., torch.Tensor], verbose: bool = True) -> bool:
    """Check a student's ``mba_penalty(weight, ids, counts, lam)``.

    Args:
        fn: the candidate implementation.
        verbose: print the result.

    Returns:
        True when all checks pass.
    """
    return check_cases(mba_cases(), fn, verbose)


CHECKERS = {
    "local_activation_pool": check_local_activation_pool,
    "dice": check_dice,
    "masked_softmax": check_masked_softmax,
    "mba_penalty": check_mba_penalty,
}
