"""Checkers for chapter 4 (DSIN): the 30-minute rule, the bias encoding, the masked session
pooling, and a model to build: DSIN with a masked mean instead of self-attention.

The same checks run in ``tests/test_dsin.py`` against seqlib's own implementation.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from seqlib.data.batch import Batch
from seqlib.exercises import _train
from seqlib.exercises._check import assert_tensor_close, check_cases
from seqlib.exercises._predict import Prediction
from seqlib.i18n import N_, tr
from seqlib.models.dsin import DSIN
from seqlib.nn.layers import masked_mean

Case = tuple[str, Callable[[Callable[..., object]], None]]




def _same_ids(actual: object, expected: list[int], what: str) -> None:
    got = np.asarray(actual)
    assert got.shape == (len(expected),), tr("{what}: expected {n} session ids, got shape {shape}", what=what,
                                             n=len(expected), shape=got.shape)
    assert got.tolist() == expected, tr("{what}: expected {expected}, got {actual}", what=what, expected=expected,
                                        actual=got.tolist())


# ---------------------------------------------------------------- the 30-minute rule
def split_cases() -> list[Case]:
    """Checks for ``split_sessions(timestamps, gap=1800) -> session index per event``."""

    def boundary(fn: Callable[..., object]) -> None:
        ts = np.array([0, 1800, 3601, 3602, 10000])
        _same_ids(fn(ts, gap=1800), [0, 0, 1, 1, 2],
                  tr("a gap of exactly 1800 s stays in the session, 1801 s starts a new one"))

    def other_gap(fn: Callable[..., object]) -> None:
        ts = np.array([0, 60, 61, 200, 200])
        _same_ids(fn(ts, gap=60), [0, 0, 0, 1, 1], tr("gap=60: only the 139 s gap breaks (equal times stay together)"))

    def single_and_empty(fn: Callable[..., object]) -> None:
        _same_ids(fn(np.array([5.0]), gap=1800), [0], tr("one event is one session, numbered 0"))
        _same_ids(fn(np.array([], dtype=float), gap=1800), [], tr("no events give no sessions"))

    return [(tr("exact boundary"), boundary), (tr("another threshold"), other_gap),
            (tr("one and zero events"), single_and_empty)]


def check_split_sessions(fn: Callable[..., object], verbose: bool = True) -> bool:
    """Check a student's ``split_sessions(timestamps, gap=1800)``.

    Args:
        fn: the candidate implementation.
        verbose: print the result.

    Returns:
        True when all checks pass.
    """
    return check_cases(split_cases(), fn, verbose)


# ---------------------------------------------------------------- bias encoding
def bias_cases() -> list[Case]:
    """Checks for ``bias_encoding(w_k, w_t, w_c) -> [K, T, d]`` (``wK[k] + wT[t] + wC[c]``)."""
    w_k, w_t, w_c = torch.tensor([1.0, 2.0]), torch.tensor([10.0, 20.0, 30.0]), torch.tensor([100.0, 200.0])

    def shape(fn: Callable[..., object]) -> None:
        out = fn(w_k, w_t, w_c)
        assert isinstance(out, torch.Tensor) and out.shape == (2, 3, 2), tr(
            "K=2 sessions, T=3 positions, d=2 units: expected shape (2, 3, 2), got {shape}",
            shape=getattr(out, "shape", out)
        )

    def hand_value(fn: Callable[..., object]) -> None:
        expected = torch.tensor([[[111.0, 211.0], [121.0, 221.0], [131.0, 231.0]],
                                 [[112.0, 212.0], [122.0, 222.0], [132.0, 232.0]]])
        assert_tensor_close(fn(w_k, w_t, w_c), expected, tr("BE[k, t, c] = wK[k] + wT[t] + wC[c]"))

    def gradient(fn: Callable[..., object]) -> None:
        params = [w.clone().requires_grad_() for w in (w_k, w_t, w_c)]
        fn(*params).sum().backward()
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        assert_tensor_close(torch.cat(grads), torch.tensor([6.0, 6.0, 4.0, 4.0, 4.0, 6.0, 6.0]),
                            tr("gradients of sum(BE): each wK[k] is used T*d=6 times, wT[t] K*d=4 times, wC[c] K*T=6 "
                               "times"))

    return [(tr("shape"), shape), (tr("hand-computed values"), hand_value), (tr("gradients reach all three"), gradient)]


def check_bias_encoding(fn: Callable[..., object], verbose: bool = True) -> bool:
    """Check a student's ``bias_encoding(w_k, w_t, w_c)``.

    Args:
        fn: the candidate implementation.
        verbose: print the result.

    Returns:
        True when all checks pass.
    """
    return check_cases(bias_cases(), fn, verbose)


# ---------------------------------------------------------------- masked session pooling
def pooling_example() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One sample, K = 3 sessions of T = 3 positions, width 2: lengths 2, 1 and 0.

    Returns:
        ``(x, mask, expected)``.  # [1, 3, 3, 2], [1, 3, 3], [1, 3, 2]
    """
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0], [50.0, 50.0]],
                       [[-1.0, 5.0], [60.0, 60.0], [70.0, 70.0]],
                       [[80.0, 80.0], [90.0, 90.0], [99.0, 99.0]]]])
    mask = torch.tensor([[[1.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]])
    expected = torch.tensor([[[2.0, 3.0], [-1.0, 5.0], [0.0, 0.0]]])
    return x, mask, expected


def pooling_cases() -> list[Case]:
    """Checks for ``session_pool(x, mask) -> [B, K, d]`` (mean over each session's valid positions)."""
    x, mask, expected = pooling_example()

    def hand_value(fn: Callable[..., object]) -> None:
        assert_tensor_close(fn(x, mask), expected,
                            tr("mean over valid positions only (session 1: mean of 2 rows; session 2: 1 row)"))

    def ignores_padding(fn: Callable[..., object]) -> None:
        noisy = x.clone()
        noisy[mask == 0] = -7.0
        assert_tensor_close(fn(noisy, mask), expected, tr("values at padded positions must not change the session vector"))

    def empty_session(fn: Callable[..., object]) -> None:
        out = fn(x, torch.zeros_like(mask))
        assert_tensor_close(out, torch.zeros(1, 3, 2), tr("empty sessions must give zero vectors (not NaN from 0/0)"))

    return [(tr("hand-computed value"), hand_value), (tr("padding is ignored"), ignores_padding),
            (tr("empty sessions"), empty_session)]


def check_session_pool(fn: Callable[..., object], verbose: bool = True) -> bool:
    """Check a student's ``session_pool(x, mask)``.

    Args:
        fn: the candidate implementation.
        verbose: print the result.

    Returns:
        True when all checks pass.
    """
    return check_cases(pooling_cases(), fn, verbose)


# ---------------------------------------------------------------- a model: DSIN with a masked mean
MEAN_DSIN_DATA = "synthetic-dsin"


def with_session_junk(batch: Batch) -> Batch:
    """The batch with item/category id 1 on every padded session position (same shapes).

    Args:
        batch: a batch.

    Returns:
        A batch a model that ignores padding scores exactly as ``batch``.
    """
    pad = batch.sess_mask == 0  # [B, K, T]
    fields = {name: torch.where(pad, torch.ones_like(getattr(batch, name)), getattr(batch, name))
              for name in ("sess_item", "sess_cate")}
    return Batch(**{**batch.__dict__, **fields})


def mean_dsin_cases() -> list[Case]:
    """Checks for a model class ``MeanDSIN(vocab)``: DSIN whose extractor is a masked mean."""
    batch = _train.probe_batch(MEAN_DSIN_DATA)
    vocab = _train.planted(MEAN_DSIN_DATA)[0].vocab

    def is_dsin(cls: Callable[..., object]) -> None:
        model = _train.build(cls, vocab)
        assert isinstance(model, DSIN), tr(
            "build the variant as a subclass of seqlib.models.DSIN (got {type}), so that "
            "interests(batch) and the rest of DSIN stay as they are", type=type(model).__name__
        )
        _train.assert_logits(model.eval(), batch)

    def masked_mean_interests(cls: Callable[..., object]) -> None:
        model = _train.build(cls, vocab).eval()
        with torch.no_grad():
            x = model.embed(batch.sess_item, batch.sess_cate, batch.sess_feedback)  # [B, K, T, d]
            if model.bias is not None:
                x = model.bias(x, batch.n_sess)
            got = model.interests(batch)["I"]  # [B, K, d]
        expected = masked_mean(x, batch.sess_mask)  # [B, K, d]
        assert got.shape == expected.shape, tr("session interests I: expected shape {expected}, got {actual}",
                                               expected=tuple(expected.shape), actual=tuple(got.shape))
        over_all_slots = (x * batch.sess_mask.unsqueeze(-1)).sum(dim=2) / x.shape[2]  # [B, K, d]
        if torch.allclose(got, x.mean(dim=2), atol=1e-5) or torch.allclose(got, over_all_slots, atol=1e-5):
            raise AssertionError(tr("session interests I: you average over all T slots, padding included; divide the "
                                    "sum over the valid behaviours by their number (mask.sum, at least 1)"))
        assert torch.allclose(got, expected, atol=1e-5), tr(
            "session interests I = interests(batch)['I'] should be the mean of each session's valid behaviour vectors "
            "(after the bias encoding), 0 for an empty session; is self.extractor still the Transformer layer? "
            "(largest difference {gap:.3g})", gap=float((got - expected).abs().max())
        )

    def ignores_padding(cls: Callable[..., object]) -> None:
        model = _train.build(cls, vocab).eval()
        with torch.no_grad():
            _train.assert_same_logits(model(with_session_junk(batch)), model(batch),
                                      tr("other ids on the padded session positions"))

    def gradient(cls: Callable[..., object]) -> None:
        _train.assert_embeddings_learn(cls, vocab, batch)

    def auc_effect(cls: Callable[..., object]) -> None:
        yours, dsin, base, table = _train.runs_against(cls, MEAN_DSIN_DATA, "dsin", "DSIN")
        assert sum(yours) / len(yours) >= sum(base) / len(base) + 0.01, tr(
            "test AUC after {epochs} epochs: your model does not clear the base model by 0.01 on "
            "average, so the sessions bring it nothing:\n{table}", epochs=_train.CHECK_EPOCHS, table=table
        )
        assert all(y <= d + 0.01 for d, y in zip(dsin, yours)), tr(
            "test AUC after {epochs} epochs: a mean has less to work with than DSIN's self-attention, "
            "yet your model beats DSIN by more than 0.01 on a seed; is it the same model otherwise?\n{table}",
            epochs=_train.CHECK_EPOCHS, table=table
        )
        print(tr("test AUC after {epochs} epochs on the DSIN-only planted log:\n{table}", epochs=_train.CHECK_EPOCHS,
                 table=table))

    return [(tr("a DSIN, one logit per sample"), is_dsin),
            (tr("session interests are masked means"), masked_mean_interests),
            (tr("padding is ignored"), ignores_padding), (tr("gradient reaches the embeddings"), gradient),
            (tr("AUC against DSIN and the base model"), auc_effect)]


def check_mean_dsin(cls: Callable[..., object], verbose: bool = True) -> bool:
    """Check a student's ``MeanDSIN``: a DSIN whose session interests are masked means, padding,
    gradient, then test AUC after a short training on the DSIN-only planted log against DSIN and
    the base model trained the same way (about a minute on one core).

    Args:
        cls: the candidate model class, built as ``cls(vocab)``.
        verbose: print the result (and the AUCs when the model trains).

    Returns:
        True when all checks pass.
    """
    return check_cases(mean_dsin_cases(), cls, verbose)


CHECKERS = {
    "split_sessions": check_split_sessions,
    "bias_encoding": check_bias_encoding,
    "session_pool": check_session_pool,
    "MeanDSIN": check_mean_dsin,
}

PREDICTIONS = {
    "gap-boundaries": Prediction(
        question=N_("Against the planted sessions, how do the rule's boundary precision and recall move at g = 60 s "
                    "and at g = 6 h, compared with 30 minutes?"),
        options={
            "a": N_("60 s: precision falls (it breaks inside planted sessions), recall stays; 6 h: recall falls "
                    "(it merges planted sessions), precision stays"),
            "b": N_("60 s: recall falls, precision stays; 6 h: precision falls, recall stays"),
            "c": N_("both thresholds lower both precision and recall"),
        },
        correct="a",
        why=N_("The planted gaps inside a session are at most 150 s and those between sessions at least an hour. A "
               "60 s threshold adds breaks inside sessions (false boundaries: precision falls) and keeps every true "
               "one; a 6 h threshold drops the true boundaries shorter than 6 h (recall falls) and adds no false one. "
               "The precision/recall curve above shows both."),
    ),
}
