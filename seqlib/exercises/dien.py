"""Checkers for chapter 3 (DIEN): the AUGRU update, the auxiliary loss, the bilinear attention,
and a model to build: DIEN with the printed AUGRU gate.

The same checks run in ``tests/test_dien.py`` against seqlib's own implementation.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from seqlib.exercises import _train
from seqlib.exercises._check import Case, assert_tensor_close, check_cases
from seqlib.exercises._predict import Prediction
from seqlib.i18n import N_, tr
from seqlib.exercises.din import with_padding_junk
from seqlib.models.dien import DIEN




def _log_sigmoid(x: float) -> float:
    return -math.log1p(math.exp(-x))


# ---------------------------------------------------------------- AUGRU update
def augru_cases() -> list[tuple[str, Callable[[Callable[..., torch.Tensor]], None]]]:
    """Checks for ``augru_update(h_prev, candidate, u, a) -> h_new`` (``u~ = a * u``)."""
    h = torch.tensor([[1.0, -1.0], [0.5, 0.0]])  # [B=2, H=2]
    cand = torch.tensor([[0.0, 1.0], [-0.5, 1.0]])
    u = torch.tensor([[0.5, 0.25], [1.0, 0.8]])

    def a_zero(fn: Callable[..., torch.Tensor]) -> None:
        assert_tensor_close(fn(h, cand, u, torch.zeros(2, 1)), h, tr("with a_t = 0 the state must stay unchanged"))

    def a_one(fn: Callable[..., torch.Tensor]) -> None:
        assert_tensor_close(fn(h, cand, u, torch.ones(2, 1)), (1 - u) * h + u * cand,
                            tr("with a_t = 1 AUGRU must equal the GRU update"))

    def hand_value(fn: Callable[..., torch.Tensor]) -> None:
        a = torch.tensor([[0.5], [0.25]])
        # row 0: u~ = [0.25, 0.125] -> [0.75*1 + 0.25*0, 0.875*-1 + 0.125*1]; row 1: u~ = [0.25, 0.2]
        expected = torch.tensor([[0.75, -0.75], [0.25, 0.2]])
        assert_tensor_close(fn(h, cand, u, a), expected, tr("a hand-computed update (a = [0.5, 0.25] per sample)"))

    return [(tr("a_t = 0 keeps the state"), a_zero), (tr("a_t = 1 is the GRU update"), a_one),
            (tr("hand-computed value"), hand_value)]


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
                            tr("the loss of the tiny batch (pairs h_t with e_{{t+1}} and ê_{{t+1}}, averaged over the 2 "
                               "valid pairs)"))

    def ignores_padding(fn: Callable[..., torch.Tensor]) -> None:
        noisy = [x.clone() for x in (states, positives, negatives)]
        for x in noisy:
            x[mask == 0] = 7.0
        assert_tensor_close(fn(*noisy, mask), expected, tr("values at padded steps must not change the loss"))

    def short_histories(fn: Callable[..., torch.Tensor]) -> None:
        short = torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
        assert_tensor_close(fn(states, positives, negatives, short), torch.tensor(0.0),
                            tr("histories of length 0 or 1 have no (t, t+1) pair: the loss must be 0, not NaN"))

    return [(tr("hand-computed value"), hand_value), (tr("padding is ignored"), ignores_padding),
            (tr("length 0/1 histories"), short_histories)]


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
        assert_tensor_close(fn(states, target, weight, mask), expected,
                            tr("attention of the tiny batch (softmax over valid steps)"))

    def empty_history(fn: Callable[..., torch.Tensor]) -> None:
        empty = torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
        out = fn(states, target, weight, empty)
        assert_tensor_close(out[0], torch.zeros(3), tr("an empty history must get all-zero weights (not NaN)"))

    return [(tr("hand-computed value"), hand_value), (tr("empty history"), empty_history)]


def check_bilinear_attention(fn: Callable[..., torch.Tensor], verbose: bool = True) -> bool:
    """Check a student's ``bilinear_attention(states, target, weight, mask)``.

    Args:
        fn: the candidate implementation.
        verbose: print the result.

    Returns:
        True when all checks pass.
    """
    return check_cases(attention_cases(), fn, verbose)


# ---------------------------------------------------------------- a model: DIEN with the printed gate
PRINTED_GATE_DATA = "synthetic-dien"


def cell_probe(model: torch.nn.Module, a: float, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """One step of ``model.evolving`` on random inputs with attention ``a`` for every sample.

    Args:
        model: a DIEN (its ``evolving`` cell has ``project``, ``gates`` and ``step``).
        a: the attention value.
        seed: seed of the random inputs.

    Returns:
        ``(h, u, h~, h')``: previous state, raw update gate, candidate state, new state.  # [4, H] each
    """
    cell = model.evolving
    n = cell.hidden_size
    g = torch.Generator().manual_seed(seed)
    x, h = torch.randn(4, n, generator=g), torch.randn(4, n, generator=g)  # [4, H] each
    attention = torch.full((4, 1), float(a))  # [4, 1]
    with torch.no_grad():
        gi = cell.project(x, attention)  # [4, 3H]
        u, h_tilde = cell.gates(gi, h)  # [4, H] each
        out = cell.step(gi, h, attention)
    assert isinstance(out, tuple) and len(out) == 3, tr(
        "step(gi, h, a) must return the tuple (h_new, u, u_tilde), as GRUCell.step does, so that the gate "
        "widget can trace it"
    )
    return h, u, h_tilde, out[0]


def printed_gate_cases() -> list[Case]:
    """Checks for a model class ``PrintedGateDIEN(vocab)``: the default DIEN whose evolving cell
    applies the printed gate ``u~ = a * u``."""
    batch = _train.probe_batch(PRINTED_GATE_DATA)
    vocab = _train.planted(PRINTED_GATE_DATA)[0].vocab

    def is_dien(cls: Callable[..., object]) -> None:
        model = _train.build(cls, vocab)
        assert isinstance(model, DIEN), tr(
            "build the variant as a subclass of seqlib.models.DIEN (got {type}), so that the "
            "extractor, the attention, the auxiliary loss and the tower stay as they are", type=type(model).__name__
        )
        reference = _train.build(DIEN, vocab)
        shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
        expected = {k: tuple(v.shape) for k, v in reference.state_dict().items()}
        assert shapes == expected, tr(
            "apart from the gate your model should have DIEN's parameters, name for name and shape for shape; "
            "differs in {differences}", differences=sorted(set(shapes.items()) ^ set(expected.items()))[:4]
        )
        _train.assert_logits(model.eval(), batch)

    def keeps_at_zero(cls: Callable[..., object]) -> None:
        h, _, _, new = cell_probe(_train.build(cls, vocab), 0.0)
        assert_tensor_close(new, h, tr("with a_t = 0 the printed AUGRU carries the state unchanged (u~ = 0 * u); "
                                       "is self.evolving your cell, and does step scale u by a?"))

    def gru_at_one(cls: Callable[..., object]) -> None:
        h, u, h_tilde, new = cell_probe(_train.build(cls, vocab), 1.0)
        assert_tensor_close(new, (1 - u) * h + u * h_tilde,
                            tr("with a_t = 1 the printed AUGRU is the plain GRU step (1 - u) * h + u * h~"))

    def in_between(cls: Callable[..., object]) -> None:
        h, u, h_tilde, new = cell_probe(_train.build(cls, vocab), 0.25)
        scaled = 0.25 * u  # [4, H]
        assert_tensor_close(new, (1 - scaled) * h + scaled * h_tilde,
                            tr("with a_t = 0.25: u~ = 0.25 * u, h' = (1 - u~) * h + u~ * h~"))

    def ignores_padding(cls: Callable[..., object]) -> None:
        model = _train.build(cls, vocab).eval()
        with torch.no_grad():
            _train.assert_same_logits(model(with_padding_junk(batch, 5)), model(batch),
                                      tr("5 more padded columns holding other ids"),
                                      tr("leave interests(batch) and evolve() to DIEN: only the cell changes"))

    def gradient(cls: Callable[..., object]) -> None:
        _train.assert_embeddings_learn(cls, vocab, batch)

    def auc_effect(cls: Callable[..., object]) -> None:
        yours, dien, _, table = _train.runs_against(cls, PRINTED_GATE_DATA, "dien", "DIEN")
        assert sum(yours) / len(yours) >= 0.6, tr(
            "test AUC after {epochs} epochs: your model stays near chance (0.5) on average; "
            "does the state still reach the tower?\n{table}", epochs=_train.CHECK_EPOCHS, table=table
        )
        assert all(d - y >= 0.01 for d, y in zip(dien, yours)), tr(
            "test AUC after {epochs} epochs: the printed gate should lose at least 0.01 to the "
            "released gate on every seed (under a softmax most a_t are near 1/L, so the state barely moves):\n{table}",
            epochs=_train.CHECK_EPOCHS, table=table
        )
        print(tr("test AUC after {epochs} epochs on the DIEN-only planted log:\n{table}", epochs=_train.CHECK_EPOCHS,
                 table=table))

    return [(tr("a DIEN, one logit per sample"), is_dien), (tr("a_t = 0 keeps the state"), keeps_at_zero),
            (tr("a_t = 1 is the GRU step"), gru_at_one), (tr("a_t = 0.25 scales the update gate"), in_between),
            (tr("padding is ignored"), ignores_padding), (tr("gradient reaches the embeddings"), gradient),
            (tr("AUC against DIEN and the base model"), auc_effect)]


def check_printed_gate_dien(cls: Callable[..., object], verbose: bool = True) -> bool:
    """Check a student's ``PrintedGateDIEN``: a DIEN whose evolving cell applies ``u~ = a * u``
    (the cell at a = 0, 1 and 0.25), padding, gradient, then test AUC after a short training on
    the DIEN-only planted log against the default DIEN and the base model trained the same way
    (about a minute on one core).

    Args:
        cls: the candidate model class, built as ``cls(vocab)``.
        verbose: print the result (and the AUCs when the model trains).

    Returns:
        True when all checks pass.
    """
    return check_cases(printed_gate_cases(), cls, verbose)


CHECKERS = {
    "augru_update": check_augru_update,
    "auxiliary_loss": check_auxiliary_loss,
    "bilinear_attention": check_bilinear_attention,
    "PrintedGateDIEN": check_printed_gate_dien,
}

PREDICTIONS = {
    "printed-gate-auc": Prediction(
        question=N_("On the DIEN-only planted log, where does DIEN with the printed gate (u~ = a * u) land?"),
        options={
            "a": N_("above the released DIEN: the state skips the behaviours the attention ignores"),
            "b": N_("level with the released DIEN, within the seed spread"),
            "c": N_("below the released DIEN on every seed, not far above the base model"),
        },
        correct="c",
        why=N_("Under a softmax over L steps the average a_t is 1/L, so u~ = a * u is near 0 at most steps and the "
               "state hardly leaves its start. The chapter's ablation (the printed form against the released one, "
               "three seeds, trained to convergence) shows the gap; check_printed_gate_dien measures the gate alone "
               "with a short budget."),
    ),
    "dien-aux-gradient": Prediction(
        question=N_("Which parameters does model.aux_loss(batch).backward() give a gradient?"),
        options={
            "a": N_("every parameter of the model, the tower included"),
            "b": N_("the behaviour embeddings, the extractor GRU and the auxiliary scorer, nothing else"),
            "c": N_("the attention and the evolving layer, which read the extractor's states"),
        },
        correct="b",
        why=N_("The auxiliary loss scores the extractor's states h_t against the next behaviour's embedding and a "
               "negative's: it reads the embeddings, the extractor and its scorer. The attention, the evolving layer, "
               "the user embedding and the tower are downstream of h_t or beside it and get no gradient from it, so a "
               "large alpha pulls the extractor (and the shared item embeddings) towards next-behaviour prediction "
               "while the click task alone trains the rest."),
    ),
}
