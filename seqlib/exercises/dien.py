"""Checkers for chapter 3 (DIEN): the AUGRU update, the auxiliary loss, the bilinear attention.

The same checks run in ``tests/test_dien.py`` against seqlib's own implementation.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from seqlib.exercises._check import assert_tensor_close, check_cases




def _log_sigmoid(x: float) -> float:
    return -math.log1p(math.exp(-x))


# ---------------------------------------------------------------- AUGRU update
def augru_cases() -> list[tuple[str, Callable[[Callable[..., torch.Tensor]], None]]]:
    """Checks for ``augru_update(h_prev, candidate, u, a) -> h_new`` (``u~ = a * u``)."""
    h = torch.tensor([[1.0, -1.0], [0.5, 0.0]])  # [B=2, H=2]
    cand = torch.tensor([[0.0, 1.0], [-0.5, 1.0]])
    u = torch.tensor([[0.5, 0.25], [1.0, 0.8]])

    def a_zero(fn: Callable[..., torch.Tensor]) -> None:
        assert_tensor_close(fn(h, cand, u, torch.zeros(2, 1)), h, "with a_t = 0 the state must stay unchanged")

    def a_one(fn: Callable[..., torch.Tensor]) -> None:
        assert_tensor_close(fn(h, cand, u, torch.ones(2, 1)), (1 - u) * h + u * cand, "with a_t = 1 AUGRU must equal the GRU update")

    def hand_value(fn: Callable[..., torch.Tensor]) -> None:
        a = torch.tensor([[0.5], [0.25]])
        # row 0: u~ = [0.25, 0.125] -> [0.75*1 + 0.25*0, 0.875*-1 + 0.125*1]; row 1: u~ = [0.25, 0.2]
        expected = torch.tensor([[0.75, -0.75], [0.25, 0.2]])
        assert_tensor_close(fn(h, cand, u, a), expected, "a hand-computed update (a = [0.5, 0.25] per sample)")

    return [("a_t = 0 keeps the state", a_zero), ("a_t = 1 is the GRU update", a_one), ("hand-computed value", hand_value)]


def check_augru_update(fn: Callable[..., torch.Tensor], verbose: bool = True) -> bool:
    """Check a student's ``augru_update(h_prev, candidate, u, a)``.

    Args:
        fn: the candidate implementation.
        verbose: print the result.

    Returns:
        True when all checks pass.
    """
    return check_cases(augru_cases(), fn, verbose)


# ---------------------------------------------------------------- auxiliary loss
def aux_example() -> tuple[torch.Tensor, ...]:
    """A tiny batch: two users, L = 3, widths 2; user 0 has 3 behaviours, user 1 has 1.

    Returns:
        ``(states, positives, negatives, mask, expected)``.
    """
    states = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [5.0, 5.0]], [[2.0, 2.0], [9.0, 9.0], [9.0, 9.0]]])
    positives = torch.tensor([[[0.0, 0.0], [2.0, 0.0], [0.0, -1.0]], [[1.0, 1.0], [3.0, 3.0], [3.0, 3.0]]])
    negatives = torch.tensor([[[0.0, 0.0], [-1.0, 0.0], [0.0, 3.0]], [[1.0, 1.0], [4.0, 4.0], [4.0, 4.0]]])
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    # valid pairs: user 0, t = 0 (<h0, e1> = 2, <h0, ê1> = -1) and t = 1 (<h1, e2> = -1, <h1, ê2> = 3)
    terms = [_log_sigmoid(2.0) + _log_sigmoid(1.0), _log_sigmoid(-1.0) + _log_sigmoid(-3.0)]
    expected = torch.tensor(-sum(terms) / 2)
    return states, positives, negatives, mask, expected


def aux_cases() -> list[tuple[str, Callable[[Callable[..., torch.Tensor]], None]]]:
    """Checks for ``auxiliary_loss(states, positives, negatives, mask) -> scalar``."""
    states, positives, negatives, mask, expected = aux_example()

    def hand_value(fn: Callable[..., torch.Tensor]) -> None:
        assert_tensor_close(fn(states, positives, negatives, mask), expected,
                            "the loss of the tiny batch (pairs h_t with e_{t+1} and ê_{t+1}, averaged over the 2 valid pairs)")

    def ignores_padding(fn: Callable[..., torch.Tensor]) -> None:
        noisy = [x.clone() for x in (states, positives, negatives)]
        for x in noisy:
            x[mask == 0] = 7.0
        assert_tensor_close(fn(*noisy, mask), expected, "values at padded steps must not change the loss")

    def short_histories(fn: Callable[..., torch.Tensor]) -> None:
        short = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
        assert_tensor_close(fn(states, positives, negatives, short), torch.tensor(0.0),
                            "histories of length 0 or 1 have no (t, t+1) pair: the loss must be 0, not NaN")

    return [("hand-computed value", hand_value), ("padding is ignored", ignores_padding),
            ("length 0/1 histories", short_histories)]


def check_auxiliary_loss(fn: Callable[..., torch.Tensor], verbose: bool = True) -> bool:
    """Check a student's ``auxiliary_loss(states, positives, negatives, mask)`` (inner product).

    Args:
        fn: the candidate implementation.
        verbose: print the result.

    Returns:
        True when all checks pass.
    """
    return check_cases(aux_cases(), fn, verbose)


# ---------------------------------------------------------------- bilinear attention
def attention_cases() -> list[tuple[str, Callable[[Callable[..., torch.Tensor]], None]]]:
    """Checks for ``bilinear_attention(states, target, weight, mask) -> [B, L]``."""
    states = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [3.0, 3.0]], [[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]])  # [2, 3, 2]
    target = torch.tensor([[1.0, 0.0], [0.0, 1.0]])  # [2, 2]
    weight = torch.tensor([[1.0, 0.0], [0.0, 2.0]])  # [H=2, D=2]
    mask = torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
    # row 0: scores h W e_a = [1, 0, (pad)] -> softmax over 2 valid steps; row 1: W e_a = [0, 2] -> [0, 2, 4]
    e = math.e
    expected = torch.tensor([[e / (e + 1), 1 / (e + 1), 0.0],
                             [1 / (1 + e**2 + e**4), e**2 / (1 + e**2 + e**4), e**4 / (1 + e**2 + e**4)]])

    def hand_value(fn: Callable[..., torch.Tensor]) -> None:
        assert_tensor_close(fn(states, target, weight, mask), expected, "attention of the tiny batch (softmax over valid steps)")

    def empty_history(fn: Callable[..., torch.Tensor]) -> None:
        empty = torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
        out = fn(states, target, weight, empty)
        assert_tensor_close(out[0], torch.zeros(3), "an empty history must get all-zero weights (not NaN)")

    return [("hand-computed value", hand_value), ("empty history", empty_history)]


def check_bilinear_attention(fn: Callable[..., torch.Tensor], verbose: bool = True) -> bool:
    """Check a student's ``bilinear_attention(states, target, weight, mask)``.

    Args:
        fn: the candidate implementation.
        verbose: print the result.

    Returns:
        True when all checks pass.
    """
    return check_cases(attention_cases(), fn, verbose)


CHECKERS = {
    "augru_update": check_augru_update,
    "auxiliary_loss": check_auxiliary_loss,
    "bilinear_attention": check_bilinear_attention,
}
