"""Checkers for chapter 1: the mask built from history lengths, and sum pooling of a history.

The same checks run in ``tests/test_viz_data.py`` against seqlib's own
:func:`seqlib.data.batch.length_mask` and :func:`seqlib.nn.layers.masked_sum`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from seqlib.data.batch import length_mask
from seqlib.exercises._check import Case, assert_tensor_close, check_cases
from seqlib.exercises._predict import Prediction
from seqlib.i18n import N_, tr
from seqlib.nn.layers import masked_sum





# ---------------------------------------------------------------- the mask from lengths
def length_mask_cases() -> list[Case]:
    """Checks for ``length_mask(lengths, max_len) -> mask`` (``mask[..., j] = 1`` where ``j < length``)."""

    def hand_value(fn: Callable[..., torch.Tensor]) -> None:
        expected = torch.tensor([[1.0, 1.0, 0.0], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
        assert_tensor_close(fn(torch.tensor([2, 0, 3]), 3), expected,
                            tr("lengths [2, 0, 3] with max_len 3 (right padding: valid positions come first)"),
                            floating=True)

    def any_shape(fn: Callable[..., torch.Tensor]) -> None:
        expected = torch.tensor([[[1.0, 0.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 1.0]]])
        assert_tensor_close(fn(torch.tensor([[1, 0], [2, 2]]), 2), expected,
                            tr("lengths of shape [2, 2] (sessions) must give a mask of shape [2, 2, max_len]"),
                            floating=True)

    def matches_seqlib(fn: Callable[..., torch.Tensor]) -> None:
        generator = torch.Generator().manual_seed(0)
        for max_len in (1, 5, 50):
            lengths = torch.randint(0, max_len + 1, (64,), generator=generator)
            lengths[:2] = torch.tensor([0, max_len])  # an empty and a full history
            assert_tensor_close(fn(lengths, max_len), length_mask(lengths, max_len),
                                tr("random lengths (including 0 and {max_len}) with max_len {max_len}",
                                   max_len=max_len), floating=True)

    return [(tr("hand-computed mask"), hand_value), (tr("lengths of any shape"), any_shape),
            (tr("random lengths, empty and full histories"), matches_seqlib)]


def check_length_mask(fn: Callable[..., torch.Tensor], verbose: bool = True) -> bool:
    """Check a student's ``length_mask(lengths, max_len)``.

    Args:
        fn: the candidate implementation.
        verbose: print the result.

    Returns:
        True when all checks pass.
    """
    return check_cases(length_mask_cases(), fn, verbose)


# ---------------------------------------------------------------- sum pooling
def sum_pooling_cases() -> list[Case]:
    """Checks for ``sum_pooling(hist_emb, mask) -> pooled`` (``[B, L, D], [B, L] -> [B, D]``)."""
    hist = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]], [[5.0, 6.0], [9.0, 9.0], [9.0, 9.0]]])  # [2, 3, 2]
    mask = torch.tensor([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])  # [2, 3]
    expected = torch.tensor([[4.0, 6.0], [5.0, 6.0]])

    def hand_value(fn: Callable[..., torch.Tensor]) -> None:
        assert_tensor_close(fn(hist, mask), expected,
                            tr("the sum over the valid positions of a tiny batch (lengths 2 and 1)"), floating=True)

    def ignores_padding(fn: Callable[..., torch.Tensor]) -> None:
        noisy = hist.masked_fill(mask.unsqueeze(-1) == 0, -7.0)
        assert_tensor_close(fn(noisy, mask), expected,
                            tr("values at padded positions must not change the pooled vector"), floating=True)

    def empty_history(fn: Callable[..., torch.Tensor]) -> None:
        assert_tensor_close(fn(hist, torch.zeros(2, 3)), torch.zeros(2, 2),
                            tr("an empty history must pool to zeros (not NaN)"), floating=True)

    def order_free(fn: Callable[..., torch.Tensor]) -> None:
        generator = torch.Generator().manual_seed(0)
        values = torch.randn(4, 6, 3, generator=generator)  # [4, 6, 3]
        full = torch.ones(4, 6)
        shuffled = values[:, torch.randperm(6, generator=generator)]
        assert_tensor_close(fn(shuffled, full), masked_sum(values, full),
                            tr("a bag of items: shuffling the history must not change the sum"), floating=True)

    return [(tr("hand-computed sum"), hand_value), (tr("padding is ignored"), ignores_padding),
            (tr("empty history"), empty_history), (tr("order does not matter"), order_free)]


def check_sum_pooling(fn: Callable[..., torch.Tensor], verbose: bool = True) -> bool:
    """Check a student's ``sum_pooling(hist_emb, mask)``.

    Args:
        fn: the candidate implementation.
        verbose: print the result.

    Returns:
        True when all checks pass.
    """
    return check_cases(sum_pooling_cases(), fn, verbose)


CHECKERS = {
    "length_mask": check_length_mask,
    "sum_pooling": check_sum_pooling,
}

PREDICTIONS = {
    "sum-or-mean": Prediction(
        question=N_("On chapter 1's synthetic log, trained to convergence with seeds 0, 1 and 2, how does the base model "
                    "with mean pooling compare with the sum?"),
        options={
            "a": N_("the mean gains on every seed: a sum grows with the history length and unsettles the tower"),
            "b": N_("by GAUC the sum is ahead on every seed; by AUC the two are within the seed spread"),
            "c": N_("the mean loses more than 0.02 AUC on every seed: it cannot count at all"),
        },
        correct="b",
        why=N_("The planted DIN effect counts the recent clicks in the candidate's topic. The mean divides that count by "
               "the history length (a median of 7 clicks in training), so it keeps the share and loses the count; "
               "within one user, where GAUC compares, the count is what separates the candidates, and the sum is ahead "
               "on every seed (about 0.004 to 0.019 GAUC). Across users the history length itself says much, and the "
               "two are within a seed spread by AUC (0.878 +/- 0.003 against 0.874 +/- 0.003)."),
    ),
}
