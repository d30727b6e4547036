"""Checkers for chapter 2 (DIN): local activation pooling, Dice, the masked softmax, the
mini-batch aware L2 penalty, and a model to build: DIN with a softmax.

The same checks run in ``tests/test_din.py`` against seqlib's own implementation.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from seqlib.data.batch import Batch
from seqlib.exercises import _train
from seqlib.exercises._check import Case, assert_tensor_close, check_cases
from seqlib.exercises._predict import Prediction
from seqlib.i18n import N_, tr


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
                            tr("pooled vectors of the tiny batch with score = sum of [e, v, e-v, e*v] (weights are NOT "
                               "softmaxed)"))

    def ignores_padding(fn: Callable[..., torch.Tensor]) -> None:
        noisy = behaviours.clone()
        noisy[mask == 0] = 9.0
        assert_tensor_close(fn(noisy, target, mask, sum_score), expected,
                            tr("values at padded positions must not change the result"))

    def extra_padding(fn: Callable[..., torch.Tensor]) -> None:
        wider = torch.cat([behaviours, torch.full((2, 2, 2), 5.0)], dim=1)  # [2, 5, 2]
        assert_tensor_close(fn(wider, target, torch.cat([mask, torch.zeros(2, 2)], dim=1), sum_score), expected,
                            tr("adding padded columns must change nothing"))

    def empty_history(fn: Callable[..., torch.Tensor]) -> None:
        out = fn(behaviours, target, torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]), sum_score)
        assert_tensor_close(out[0], torch.zeros(2), tr("an empty history must pool to zeros (not NaN)"))

    return [(tr("hand-computed value"), hand_value), (tr("padding is ignored"), ignores_padding),
            (tr("padding columns"), extra_padding), (tr("empty history"), empty_history)]


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
                            tr("with batch mean 0 and variance 1, f(s) = sigmoid(s) * s + (1 - sigmoid(s)) * alpha * s"))

    def shifted_stats(fn: Callable[..., torch.Tensor]) -> None:
        # column means [2, 4], variances [1, 4]: z = (x - mean) / std = [[-1, -1], [1, 1]]
        x = torch.tensor([[1.0, 2.0], [3.0, 6.0]])
        lo, hi = _sig(-1), _sig(1)
        expected = torch.tensor([[1 * (lo + (1 - lo) * 0.25), 2 * (lo + (1 - lo) * 0.5)],
                                 [3 * (hi + (1 - hi) * 0.25), 6 * (hi + (1 - hi) * 0.5)]])
        assert_tensor_close(fn(x, alpha, torch.ones(2)), expected,
                            tr("p(s) must use the standardised input (s - mean) / std"))

    def masked_stats(fn: Callable[..., torch.Tensor]) -> None:
        x = torch.tensor([[1.0, 2.0], [3.0, 6.0], [100.0, -50.0]])
        out = fn(x, alpha, torch.tensor([1.0, 1.0, 0.0]))
        reference = fn(x[:2], alpha, torch.ones(2))
        assert_tensor_close(out[:2], reference, tr("a padded row (mask 0) must not enter the batch statistics"))

    def shapes(fn: Callable[..., torch.Tensor]) -> None:
        x = torch.tensor([[[1.0, 2.0], [3.0, 6.0]], [[2.0, 4.0], [0.0, 0.0]]])  # [2, 2, 2]: B, L, H
        mask = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
        out = fn(x, alpha, mask)
        flat = fn(x.reshape(4, 2)[:3], alpha, torch.ones(3))
        assert_tensor_close(out.reshape(4, 2)[:3], flat,
                            tr("statistics run over every valid position of a [B, L, H] input"))

    return [(tr("mean 0, variance 1"), standard_stats), (tr("standardised gate"), shifted_stats),
            (tr("masked statistics"), masked_stats), (tr("[B, L, H] input"), shapes)]


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
        assert_tensor_close(fn(scores, mask), expected,
                            tr("softmax over the valid positions only (padding gets exactly 0)"))

    def empty_history(fn: Callable[..., torch.Tensor]) -> None:
        out = fn(scores, torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]))
        assert_tensor_close(out[0], torch.zeros(3), tr("an empty history must get all-zero weights (not NaN)"))

    return [(tr("hand-computed value"), hand_value), (tr("empty history"), empty_history)]


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
                            tr("penalty of the tiny batch: each distinct id once, scaled by 1 / n_j; padding (0) excluded"))

    def only_present_rows(fn: Callable[..., torch.Tensor]) -> None:
        w = weight.clone().requires_grad_(True)
        fn(w, ids, counts, lam).backward()
        assert w.grad is not None, tr("the penalty must be differentiable in the table")
        untouched = w.grad[[0, 2]].abs().sum().item()
        assert untouched == 0.0, tr("rows absent from the batch (0, 2) must get no gradient, got {grad}",
                                    grad=w.grad.tolist())

    return [(tr("hand-computed value"), hand_value), (tr("only rows in the batch"), only_present_rows)]


def check_mba_penalty(fn: Callable[..., torch.Tensor], verbose: bool = True) -> bool:
    """Check a student's ``mba_penalty(weight, ids, counts, lam)``.

    Args:
        fn: the candidate implementation.
        verbose: print the result.

    Returns:
        True when all checks pass.
    """
    return check_cases(mba_cases(), fn, verbose)


# ---------------------------------------------------------------- a model: DIN with a softmax
SOFTMAX_DIN_DATA = "synthetic-din"


def with_padding_junk(batch: Batch, extra: int) -> Batch:
    """The batch with ``extra`` more history columns and item/category id 1 on every padded position.

    Args:
        batch: a batch.
        extra: padded columns to add (0 keeps the width).

    Returns:
        A batch a model that ignores padding scores exactly as ``batch``.
    """
    b, length = batch.hist_item.shape
    pad = torch.arange(length + extra) >= batch.hist_len.unsqueeze(1)  # [B, L + extra]
    fields = {}
    for name in ("hist_item", "hist_cate", "hist_time", "neg_item", "neg_cate", "hist_feedback"):
        x = getattr(batch, name)
        if x is not None:
            x = torch.cat([x, torch.zeros(b, extra, dtype=x.dtype)], dim=1)  # [B, L + extra]
            fields[name] = torch.where(pad, torch.ones_like(x), x)
    return Batch(**{**batch.__dict__, **fields})


def repeated_history(batch: Batch) -> Batch:
    """Every history read twice: behaviours ``[a, b, c]`` become ``[a, b, c, a, b, c]``.

    Raw weights (DIN) then pool twice the vector; a softmax halves every weight and pools the
    same vector, so a softmax model scores exactly as before.

    Args:
        batch: a batch with histories of width ``L``.

    Returns:
        The batch with histories of width ``2L`` and twice the lengths.
    """
    length = batch.hist_item.shape[1]
    n = batch.hist_len.clamp(min=1).unsqueeze(1)  # [B, 1]
    position = torch.arange(2 * length).unsqueeze(0)  # [1, 2L]
    source = (position % n).clamp(max=length - 1)  # [B, 2L]
    valid = position < 2 * batch.hist_len.unsqueeze(1)  # [B, 2L]
    fields = {}
    for name in ("hist_item", "hist_cate", "hist_time", "neg_item", "neg_cate", "hist_feedback"):
        x = getattr(batch, name)
        if x is not None:
            fields[name] = torch.where(valid, x.gather(1, source), torch.zeros_like(source, dtype=x.dtype))
    return Batch(**{**batch.__dict__, **fields, "hist_len": 2 * batch.hist_len})


def softmax_din_cases() -> list[Case]:
    """Checks for a model class ``SoftmaxDIN(vocab)``: DIN with softmax-normalised weights."""
    batch = _train.probe_batch(SOFTMAX_DIN_DATA)
    vocab = _train.planted(SOFTMAX_DIN_DATA)[0].vocab

    def shape(cls: Callable[..., object]) -> None:
        model = _train.build(cls, vocab)
        _train.assert_logits(model.eval(), batch)

    def ignores_padding(cls: Callable[..., object]) -> None:
        model = _train.build(cls, vocab).eval()
        with torch.no_grad():
            _train.assert_same_logits(model(with_padding_junk(batch, 5)), model(batch),
                                      tr("5 more padded columns holding other ids"),
                                      tr("the softmax must run over the valid behaviours only (masked_softmax)"))

    def count_is_gone(cls: Callable[..., object]) -> None:
        model = _train.build(cls, vocab).eval()
        with torch.no_grad():
            _train.assert_same_logits(model(repeated_history(batch)), model(batch), tr("every history read twice"),
                                      tr("with weights that sum to 1 each behaviour gets half its weight and v_U(A) "
                                         "stays the same: are the weights still raw, as in DIN?"))

    def gradient(cls: Callable[..., object]) -> None:
        _train.assert_embeddings_learn(cls, vocab, batch)

    def auc_effect(cls: Callable[..., object]) -> None:
        yours, din, _, table = _train.runs_against(cls, SOFTMAX_DIN_DATA, "din", "DIN")
        assert sum(yours) / len(yours) >= 0.6, tr(
            "test AUC after {epochs} epochs: your model stays near chance (0.5) on average; "
            "does forward use the weighted history?\n{table}", epochs=_train.CHECK_EPOCHS, table=table
        )
        assert all(d - y >= 0.01 for d, y in zip(din, yours)), tr(
            "test AUC after {epochs} epochs: a softmax should lose at least 0.01 to DIN on every seed "
            "(it cannot count the relevant behaviours):\n{table}", epochs=_train.CHECK_EPOCHS, table=table
        )
        print(tr("test AUC after {epochs} epochs on the DIN-only planted log:\n{table}", epochs=_train.CHECK_EPOCHS,
                 table=table))

    return [(tr("builds, one logit per sample"), shape), (tr("padding is ignored"), ignores_padding),
            (tr("weights sum to 1"), count_is_gone), (tr("gradient reaches the embeddings"), gradient),
            (tr("AUC against DIN and the base model"), auc_effect)]


def check_softmax_din(cls: Callable[..., object], verbose: bool = True) -> bool:
    """Check a student's ``SoftmaxDIN``: shapes, padding, weights that sum to 1, gradient, then
    test AUC after a short training on the DIN-only planted log against DIN and the base model
    trained the same way (about a minute on one core).

    Args:
        cls: the candidate model class, built as ``cls(vocab)``.
        verbose: print the result (and the AUCs when the model trains).

    Returns:
        True when all checks pass.
    """
    return check_cases(softmax_din_cases(), cls, verbose)


CHECKERS = {
    "local_activation_pool": check_local_activation_pool,
    "dice": check_dice,
    "masked_softmax": check_masked_softmax,
    "mba_penalty": check_mba_penalty,
    "SoftmaxDIN": check_softmax_din,
}

PREDICTIONS = {
    "softmax-intensity": Prediction(
        question=N_("For a DIN trained with a softmax, what does the right panel of the intensity plot become?"),
        options={
            "a": N_("a steeper line: the softmax sharpens the weights of the relevant behaviours"),
            "b": N_("a flat line at 1: the weights of every non-empty history sum to 1, whatever the count"),
            "c": N_("a line falling towards 0 as more behaviours are relevant"),
        },
        correct="b",
        why=N_("The softmax divides each weight by the sum over the valid positions, so the total is exactly 1 for "
               "every non-empty history. The number of relevant behaviours can then reach the tower only through the "
               "direction of v_U(A), not through its length."),
    ),
    "softmax-din-auc": Prediction(
        question=N_("On the DIN-only planted log, where does DIN with a softmax land?"),
        options={
            "a": N_("above DIN: normalised weights train more stably"),
            "b": N_("level with DIN, within the seed spread"),
            "c": N_("below DIN on every seed"),
        },
        correct="c",
        why=N_("The planted click rule reads how many of the last 20 clicks are relevant, and a softmax erases the "
               "count. Trained to convergence, the chapter's DIN + softmax runs fall below DIN on every seed (table "
               "'Base model against DIN'); check_softmax_din measures it again with a short budget."),
    ),
}
