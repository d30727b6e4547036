"""DIEN (MODEL_SPEC DIEN 1-6): extractor, auxiliary loss, attention, GRU variants, model, plots."""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import subprocess
import sys
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")

import pytest
import torch
from torch.testing import assert_close

from seqlib.data.batch import Batch
from seqlib.data.samples import build_samples
from seqlib.data.synthetic import make_synthetic
from seqlib.evaluation import load_samples
from seqlib.exercises import dien as ex
from seqlib.models import DIEN, BaseModel, create
from seqlib.models.dien import FORMS
from seqlib.nn.attention import LocalActivationUnit
from seqlib.nn.aux_loss import AuxiliaryMLP, auxiliary_loss
from seqlib.nn.dien_attention import BilinearAttention, MLPAttention, make_attention, normalize_scores
from seqlib.nn.gru import (AGRUCell, AIGRUCell, AUGRUCell, GRUCell, InterestExtractor, evolve, gru_update, make_cell,
                           scale_update_gate)
from seqlib.records import load_record
from seqlib.train import evaluate, fit


def sig(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


@pytest.fixture(scope="module")
def data():
    syn = make_synthetic(n_users=800, seed=0)
    return build_samples(syn.log, max_len=20, history="positive", seed=0)


def padded(batch: Batch, extra: int, garbage: bool) -> Batch:
    """The same batch with ``extra`` more padded positions, optionally filled with garbage ids."""
    b, length = batch.hist_item.shape
    fields = {}
    for name in ("hist_item", "hist_cate", "hist_time", "neg_item", "neg_cate"):
        x = torch.cat([getattr(batch, name), torch.zeros(b, extra, dtype=torch.long)], dim=1)  # [B, L + extra]
        if garbage:
            pad = torch.arange(length + extra) >= batch.hist_len.unsqueeze(1)  # [B, L + extra]
            x = torch.where(pad, torch.full_like(x, 1), x)
        fields[name] = x
    return Batch(**{**batch.__dict__, **fields})


# ---------------------------------------------------------------- 4. GRU variants
def scalar_cell(cls, **kw):
    """A 1-unit cell with weights chosen for hand computation."""
    cell = cls(1, 1, **kw)
    with torch.no_grad():
        g = cell.n_gates
        cell.weight_ih.copy_(torch.tensor([[0.5], [1.0], [2.0]][:g] if g == 3 else [[0.5], [2.0]]))
        cell.weight_hh.copy_(torch.tensor([[1.0], [-1.0], [0.5]][:g] if g == 3 else [[1.0], [0.5]]))
        cell.bias_ih.zero_()
        cell.bias_hh.zero_()
    return cell


def gru_hand(x: float, h: float, scale: float = 1.0) -> tuple[float, float]:
    """(u, h~) of the scalar GRU above by hand; ``scale`` multiplies the input (AIGRU)."""
    x = scale * x
    r, u = sig(0.5 * x + 1.0 * h), sig(1.0 * x - 1.0 * h)
    return u, math.tanh(2.0 * x + r * 0.5 * h)


def run_two_steps(cell, xs, attn):
    x = torch.tensor(xs).view(1, 2, 1)  # [B=1, L=2, 1]
    a = torch.tensor(attn).view(1, 2)
    final, _ = evolve(cell, x, a, torch.ones(1, 2))
    return final.item()


def test_augru_a0_keeps_state_a1_is_gru():
    torch.manual_seed(0)
    aug, gru = AUGRUCell(3, 4), GRUCell(3, 4)
    gru.load_state_dict(aug.state_dict())
    x, h = torch.randn(5, 3), torch.randn(5, 4)
    assert_close(aug(x, h, torch.zeros(5)), h)
    assert_close(aug(x, h, torch.ones(5)), gru(x, h, torch.zeros(5)))


def test_tf_keep_gate_limits():
    torch.manual_seed(0)
    keep, gru = AUGRUCell(3, 4, gate="tf-keep"), GRUCell(3, 4)
    gru.load_state_dict(keep.state_dict())
    x, h = torch.randn(5, 3), torch.randn(5, 4)
    assert_close(keep(x, h, torch.zeros(5)), gru(x, h, torch.ones(5)))  # a = 0: plain GRU
    u, cand = keep.gates(keep.project(x, torch.ones(5, 1)), h)
    assert_close(keep(x, h, torch.ones(5)), cand)  # a = 1: the candidate replaces the state
    assert_close(scale_update_gate(u, torch.full((5, 1), 0.3), "tf-keep"), 1 - 0.7 * (1 - u))


def vec_att_gru_cell(x, h, a, w_gate_x, w_gate_h, b_gate, w_cand_x, w_cand_h, b_cand):
    """The released code's ``VecAttGRUCell.call`` for scalars, transcribed line by line."""
    r, u = (sig(wx * x + wh * h + b) for wx, wh, b in zip(w_gate_x, w_gate_h, b_gate))
    r_state = r * h
    c = math.tanh(w_cand_x * x + w_cand_h * r_state + b_cand)
    u = (1.0 - a) * u
    return u * h + (1 - u) * c


@pytest.mark.parametrize("a", [0.0, 0.3, 1.0])
def test_released_cell_is_vec_att_gru_cell(a):
    # TF weights: gates (r, keep) on [x, h] with biases (1, 1) as TF starts them; candidate on [x, r * h]
    tf = dict(w_gate_x=(0.5, 1.0), w_gate_h=(1.0, -1.0), b_gate=(1.0, 1.0), w_cand_x=2.0, w_cand_h=0.5, b_cand=0.1)
    cell = AUGRUCell(1, 1, gate="tf-keep", reset="before", gate_bias=1.0)
    assert cell.bias_ih.tolist()[:2] == [1.0, -1.0]  # r starts at sigma(1); u = 1 - keep at 1 - sigma(1)
    with torch.no_grad():  # the book's update gate u is TF's keep gate with its weights negated
        cell.weight_ih.copy_(torch.tensor([[0.5], [-1.0], [2.0]]))
        cell.weight_hh.copy_(torch.tensor([[1.0], [1.0], [0.5]]))
        cell.bias_hh.copy_(torch.tensor([0.0, 0.0, 0.1]))
        cell.bias_ih[2] = 0.0
    h = 0.0
    for x, a_t in [(1.0, a), (-1.0, 0.5), (0.5, a)]:
        expected = vec_att_gru_cell(x, h, a_t, **tf)
        got = cell(torch.tensor([[x]]), torch.tensor([[h]]), torch.tensor([a_t])).item()
        assert got == pytest.approx(expected, abs=1e-6)
        h = expected


def test_reset_before_and_after_by_hand():
    after, before = scalar_cell(GRUCell), scalar_cell(GRUCell, reset="before")
    with torch.no_grad():
        for cell in (after, before):
            cell.bias_hh[2] = 0.3
    x, h = 1.0, 0.5
    r, u = sig(0.5 * x + 1.0 * h), sig(1.0 * x - 1.0 * h)
    after_c = math.tanh(2.0 * x + r * (0.5 * h + 0.3))  # PyTorch: r * (U_h h + b)
    before_c = math.tanh(2.0 * x + 0.5 * (r * h) + 0.3)  # TensorFlow: U_h (r * h) + b
    for cell, c in ((after, after_c), (before, before_c)):
        got = cell(torch.tensor([[x]]), torch.tensor([[h]]), torch.ones(1)).item()
        assert got == pytest.approx((1 - u) * h + u * c, abs=1e-6)
    with pytest.raises(ValueError, match="reset must be 'after'.*got 'middle'"):
        GRUCell(1, 1, reset="middle")


@pytest.mark.parametrize("reset", ["after", "before"])
@pytest.mark.parametrize("gate", ["paper", "tf-keep"])
def test_gate_forms_at_a0_and_a1(gate, reset):
    torch.manual_seed(0)
    cell, gru = AUGRUCell(3, 4, gate=gate, reset=reset), GRUCell(3, 4, reset=reset)
    gru.load_state_dict(cell.state_dict())
    x, h = torch.randn(5, 3), torch.randn(5, 4)
    u, h_tilde = cell.gates(cell.project(x, torch.ones(5, 1)), h)
    if gate == "paper":  # a = 0 keeps the state, a = 1 is the GRU
        assert_close(cell(x, h, torch.zeros(5)), h)
        assert_close(cell(x, h, torch.ones(5)), gru(x, h, torch.ones(5)))
    else:  # a = 0 is the GRU, a = 1 takes the candidate
        assert_close(cell(x, h, torch.zeros(5)), gru(x, h, torch.ones(5)))
        assert_close(cell(x, h, torch.ones(5)), h_tilde)


def test_readable_and_fused_updates_agree():
    torch.manual_seed(0)
    h, h_tilde, u = torch.randn(6, 4), torch.randn(6, 4), torch.rand(6, 4)
    assert_close(gru_update(h, h_tilde, u), (1 - u) * h + u * h_tilde, rtol=0, atol=0)
    assert_close(gru_update(h, h_tilde, u, fused=True), gru_update(h, h_tilde, u))
    slow, fast = AUGRUCell(3, 4, gate="tf-keep"), AUGRUCell(3, 4, gate="tf-keep", fused=True)
    fast.load_state_dict(slow.state_dict())
    x, a, mask = torch.randn(2, 5, 3), torch.rand(2, 5), torch.ones(2, 5)
    assert_close(evolve(fast, x, a, mask)[0], evolve(slow, x, a, mask)[0])


def test_augru_two_steps_by_hand():
    u1, c1 = gru_hand(1.0, 0.0)
    h1 = (1 - 0.5 * u1) * 0.0 + 0.5 * u1 * c1
    u2, c2 = gru_hand(-1.0, h1)
    h2 = (1 - 0.25 * u2) * h1 + 0.25 * u2 * c2
    assert run_two_steps(scalar_cell(AUGRUCell), [1.0, -1.0], [0.5, 0.25]) == pytest.approx(h2, abs=1e-6)


def test_agru_two_steps_by_hand():
    cell = scalar_cell(AGRUCell)  # gates: reset (0.5, 1.0), candidate (2.0, 0.5)
    r1 = sig(0.5 * 1.0)
    h1 = 0.5 * math.tanh(2.0 * 1.0 + r1 * 0.0)
    r2 = sig(0.5 * -1.0 + 1.0 * h1)
    h2 = (1 - 0.25) * h1 + 0.25 * math.tanh(2.0 * -1.0 + r2 * 0.5 * h1)
    assert run_two_steps(cell, [1.0, -1.0], [0.5, 0.25]) == pytest.approx(h2, abs=1e-6)


def test_aigru_two_steps_by_hand():
    u1, c1 = gru_hand(1.0, 0.0, scale=0.5)
    h1 = (1 - u1) * 0.0 + u1 * c1
    u2, c2 = gru_hand(-1.0, h1, scale=0.25)
    h2 = (1 - u2) * h1 + u2 * c2
    assert run_two_steps(scalar_cell(AIGRUCell), [1.0, -1.0], [0.5, 0.25]) == pytest.approx(h2, abs=1e-6)


@pytest.mark.parametrize("gru_type,gate", [("gru", "paper"), ("aigru", "paper"), ("agru", "paper"),
                                           ("augru", "paper"), ("augru", "tf-keep")])
def test_evolve_stops_at_last_valid_step(gru_type, gate):
    torch.manual_seed(0)
    cell = make_cell(gru_type, 4, 4, gate)
    x, a = torch.randn(3, 6, 4), torch.rand(3, 6)
    lengths = torch.tensor([6, 2, 0])
    mask = (torch.arange(6) < lengths.unsqueeze(1)).float()
    final, trace = evolve(cell, x, a, mask, trace=True)
    short, _ = evolve(cell, x[1:2, :2], a[1:2, :2], torch.ones(1, 2))
    assert_close(final[1], short[0])
    assert_close(final[2], torch.zeros(4))
    assert_close(trace["states"][0, -1], final[0])
    assert_close(trace["states"][1, 2:], final[1].expand(4, 4))  # padded steps carry the state


def test_make_cell_errors():
    with pytest.raises(ValueError, match="gru_type"):
        make_cell("lstm", 2, 2)
    with pytest.raises(ValueError, match="gate"):
        make_cell("agru", 2, 2, gate="tf-keep")
    with pytest.raises(ValueError, match="gate"):
        AUGRUCell(2, 2, gate="keep")


def test_evolve_trace_and_gradients_ignore_padding():
    torch.manual_seed(0)
    cell = make_cell("augru", 3, 4)
    x, a = torch.randn(3, 6, 3, requires_grad=True), torch.rand(3, 6)
    lengths = torch.tensor([4, 2, 0])  # the longest history (4) is shorter than L = 6
    mask = (torch.arange(6) < lengths.unsqueeze(1)).float()
    final, trace = evolve(cell, x, a, mask, trace=True)
    for name in ("states", "update", "scaled"):
        assert trace[name].shape == (3, 6, 4)
    assert (trace["update"][mask == 0] == 0).all() and (trace["scaled"][mask == 0] == 0).all()
    assert_close(trace["scaled"][mask == 1], (a.unsqueeze(-1) * trace["update"])[mask == 1])  # paper gate
    assert_close(trace["states"][0, 4:], final[0].expand(2, 4))
    assert_close(trace["states"][2], torch.zeros(6, 4))  # empty history: the zero initial state
    final.sum().backward()
    assert (x.grad[mask == 0] == 0).all()  # padded steps reach neither the result nor its gradient
    assert (x.grad[0, :4].abs().sum(-1) > 0).all()


def test_evolve_all_empty_batch():
    cell = make_cell("gru", 2, 3)
    final, trace = evolve(cell, torch.randn(2, 4, 2), torch.zeros(2, 4), torch.zeros(2, 4), trace=True)
    assert_close(final, torch.zeros(2, 3))
    assert_close(trace["states"], torch.zeros(2, 4, 3))


# ---------------------------------------------------------------- 1. extractor
def test_extractor_matches_gru_on_unpadded_sequences():
    torch.manual_seed(0)
    ext = InterestExtractor(3, 4)
    x = torch.randn(3, 5, 3)
    lengths = torch.tensor([5, 2, 0])
    states, final = ext(x, lengths)
    ref, _ = ext.gru(x[1:2, :2])
    assert_close(states[1, :2], ref[0])
    assert_close(final[1], ref[0, -1])
    assert_close(final[2], torch.zeros(4))
    assert_close(states[1, 2:], torch.zeros(3, 4))


def test_extractor_on_a_batch_shorter_than_its_padding():
    torch.manual_seed(0)
    ext = InterestExtractor(3, 4)
    x = torch.randn(2, 6, 3)
    lengths = torch.tensor([3, 1])  # longest history 3 < L = 6
    states, final = ext(x, lengths)
    ref, _ = ext.gru(x[:, :3])
    assert states.shape == (2, 6, 4)
    assert_close(states[0, :3], ref[0])
    assert_close(states[1, 0], ref[1, 0])
    assert_close(final, torch.stack([ref[0, 2], ref[1, 0]]))
    assert (states[0, 3:] == 0).all() and (states[1, 1:] == 0).all()
    empty, _ = ext(x, torch.zeros(2, dtype=torch.long))
    assert_close(empty, torch.zeros(2, 6, 4))


# ---------------------------------------------------------------- 2. auxiliary loss
def test_auxiliary_loss_checks_pass_on_seqlib():
    assert ex.check_auxiliary_loss(auxiliary_loss, verbose=False)


def test_auxiliary_loss_hand_value_and_mlp_scorer():
    states, pos, neg, mask, expected = ex.aux_example()
    assert_close(auxiliary_loss(states, pos, neg, mask), expected)
    torch.manual_seed(0)
    loss = auxiliary_loss(states, pos, neg, mask, scorer=AuxiliaryMLP(2, 2))
    assert loss.ndim == 0 and torch.isfinite(loss)
    with pytest.raises(ValueError, match="inner-product"):
        auxiliary_loss(torch.zeros(1, 2, 3), pos[:1, :2], neg[:1, :2], mask[:1, :2])


def test_auxiliary_loss_paper_scale_by_hand():
    states, pos, neg, mask, _ = ex.aux_example()
    # the 2 valid pairs (both of user 0), summed and divided by N = 2 samples (Eq. 8 as printed)
    terms = [ex._log_sigmoid(2.0) + ex._log_sigmoid(1.0), ex._log_sigmoid(-1.0) + ex._log_sigmoid(-3.0)]
    assert_close(auxiliary_loss(states, pos, neg, mask, scale="paper"), torch.tensor(-sum(terms) / 2))
    # a third sample without pairs changes N but not P: "paper" shrinks by 2/3, "pairs" stays
    grow = lambda t: torch.cat([t, torch.zeros_like(t[:1])])  # noqa: E731
    big = [grow(t) for t in (states, pos, neg, mask)]
    assert_close(auxiliary_loss(*big, scale="paper"), torch.tensor(-sum(terms) / 3))
    assert_close(auxiliary_loss(*big, scale="pairs"), torch.tensor(-sum(terms) / 2))
    # padding columns change nothing in either scale
    wide = [torch.cat([t, torch.full_like(t[:, :2], 7.0)], dim=1) for t in (states, pos, neg)]
    wide_mask = torch.cat([mask, torch.zeros(2, 2)], dim=1)
    assert_close(auxiliary_loss(*wide, wide_mask, scale="paper"), torch.tensor(-sum(terms) / 2))
    assert_close(auxiliary_loss(*[t[:1, :1] for t in (states, pos, neg, mask)], scale="paper"), torch.tensor(0.0))
    with pytest.raises(ValueError, match="aux_scale"):
        auxiliary_loss(states, pos, neg, mask, scale="sum")


def test_auxiliary_loss_positions_scale_by_hand():
    states, pos, neg, mask, _ = ex.aux_example()
    terms = [ex._log_sigmoid(2.0) + ex._log_sigmoid(1.0), ex._log_sigmoid(-1.0) + ex._log_sigmoid(-3.0)]
    longest = int(mask.sum(1).max())  # the released code's T: the batch's longest history
    expected = -sum(terms) / (mask.shape[0] * (longest - 1))  # reduce_mean over N * (T - 1) positions
    assert_close(auxiliary_loss(states, pos, neg, mask, scale="positions"), torch.tensor(expected))
    wide = [torch.cat([t, torch.full_like(t[:, :2], 7.0)], dim=1) for t in (states, pos, neg)]
    wide_mask = torch.cat([mask, torch.zeros(2, 2)], dim=1)  # more padding: the same T, the same value
    assert_close(auxiliary_loss(*wide, wide_mask, scale="positions"), torch.tensor(expected))


def test_auxiliary_mlp_pair_logits_match_forward():
    torch.manual_seed(0)
    scorer = AuxiliaryMLP(3, 5, hidden=(7, 4))
    h, e_pos, e_neg = torch.randn(6, 3), torch.randn(6, 5), torch.randn(6, 5)
    pos, neg = scorer.pair_logits(h, e_pos, e_neg)
    assert_close(pos, scorer(h, e_pos))
    assert_close(neg, scorer(h, e_neg))
    assert [type(m).__name__ for m in scorer.mlp.net] == ["Linear", "Sigmoid", "Linear", "Sigmoid", "Linear"]
    # by hand for one pair: sigmoid layers, one logit (the released two-way softmax)
    x = torch.cat([h[0], e_pos[0]])
    lin = [m for m in scorer.mlp.net if isinstance(m, torch.nn.Linear)]
    by_hand = lin[2](torch.sigmoid(lin[1](torch.sigmoid(lin[0](x)))))
    assert_close(pos[0], by_hand.squeeze())


# ---------------------------------------------------------------- 3. attention
def test_attention_softmax_over_valid_steps():
    att = BilinearAttention(2, 2)

    def reference(states, target, weight, mask):
        with torch.no_grad():
            att.weight.copy_(weight)
        return att(states, target, mask)

    assert ex.check_bilinear_attention(reference, verbose=False)
    torch.manual_seed(0)
    w = att(torch.randn(4, 5, 2), torch.randn(4, 2), (torch.arange(5) < torch.tensor([[5], [3], [1], [0]])).float())
    assert_close(w.sum(1), torch.tensor([1.0, 1.0, 1.0, 0.0]))
    assert (w[1, 3:] == 0).all()


def test_normalize_scores_by_hand():
    scores = torch.tensor([[0.0, math.log(3.0), 5.0], [2.0, -1.0, 4.0], [1.0, 1.0, 1.0]])
    mask = torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
    soft = normalize_scores(scores, mask, "softmax")
    e = math.e
    assert_close(soft[0], torch.tensor([0.25, 0.75, 0.0]))
    assert_close(soft[1], torch.tensor([e**2, e**-1, e**4]) / (e**2 + e**-1 + e**4))
    assert_close(soft[2], torch.zeros(3))
    sig_ = normalize_scores(scores, mask, "sigmoid")
    assert_close(sig_[0], torch.tensor([0.5, 0.75, 0.0]))  # sigma(log 3) = 3/4; padding 0
    assert_close(sig_[1], torch.tensor([sig(2.0), sig(-1.0), sig(4.0)]))  # no sum-to-one
    assert_close(sig_[2], torch.zeros(3))
    with pytest.raises(ValueError, match="normalize"):
        normalize_scores(scores, mask, None)


def test_bilinear_sigmoid_attention_by_hand():
    att = BilinearAttention(2, 2, normalize="sigmoid")
    with torch.no_grad():
        att.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 2.0]]))
    states = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [3.0, 3.0]]])  # [1, 3, 2]
    target = torch.tensor([[1.0, 1.0]])  # W e_a = [1, 2]: scores [1, 2, (9)]
    mask = torch.tensor([[1.0, 1.0, 0.0]])
    assert_close(att(states, target, mask), torch.tensor([[sig(1.0), sig(2.0), 0.0]]))
    assert_close(att(states, target, mask, temperature=2.0), torch.tensor([[sig(0.5), sig(1.0), 0.0]]))
    with pytest.raises(ValueError, match="normalize"):
        BilinearAttention(2, 2, normalize="relu")


@pytest.mark.parametrize("normalize", ["softmax", "sigmoid"])
def test_mlp_attention_is_the_activation_unit(normalize):
    torch.manual_seed(0)
    att = MLPAttention(4, hidden=(6,), activation="prelu", normalize=normalize)
    states, target = torch.randn(3, 5, 4), torch.randn(3, 4)
    mask = (torch.arange(5) < torch.tensor([[5], [2], [0]])).float()
    # the unit's MLP on [h_t, e_a, h_t - e_a, h_t * e_a], by hand for one valid step
    h, e = states[1, 1], target[1]
    features = torch.cat([h, e, h - e, h * e])
    score = att.unit.mlp(features.unsqueeze(0)).squeeze()
    weights = att(states, target, mask)
    expected = torch.sigmoid(score) if normalize == "sigmoid" else torch.softmax(
        att.unit.mlp(torch.cat([states[1, :2], e.expand(2, 4), states[1, :2] - e, states[1, :2] * e], -1)).squeeze(-1),
        dim=0)[1]
    assert_close(weights[1, 1], expected)
    assert_close(weights[2], torch.zeros(5))
    assert (weights[1, 2:] == 0).all()
    noisy = states.clone()
    noisy[mask == 0] = 9.0  # garbage in padded steps: never scored
    assert_close(att(noisy, target, mask), weights)
    (weights[0] * torch.arange(5.0)).sum().backward()  # (a softmax row sums to a constant)
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in att.parameters())


def test_released_attention_by_hand():
    torch.manual_seed(0)
    att = make_attention("released", 4, 6)  # state width 4, target width 6: the query is projected
    states, target = torch.randn(2, 3, 4), torch.randn(2, 6)
    mask = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]])
    proj, prelu = att.query
    q = prelu(proj(target))  # [B, 4]: q = PReLU(W_q e_a + b_q)
    lin = [m for m in att.unit.mlp if isinstance(m, torch.nn.Linear)]
    scores = []
    for t in range(3):
        k = states[0, t]
        x = torch.cat([k, q[0], k - q[0], k * q[0]])
        scores.append(lin[2](torch.sigmoid(lin[1](torch.sigmoid(lin[0](x))))).squeeze())
    weights = att(states, target, mask)
    assert_close(weights[0], torch.softmax(torch.stack(scores), 0))
    assert_close(weights[1], torch.tensor([1.0, 0.0, 0.0]))  # one valid step takes all the weight


def test_make_attention_errors():
    assert isinstance(make_attention("mlp", 4, 4).unit, LocalActivationUnit)
    with pytest.raises(ValueError, match="attention must be 'bilinear', 'mlp' or 'released'"):
        make_attention("dot", 4, 4)
    with pytest.raises(ValueError, match="hidden_size"):
        make_attention("mlp", 5, 4)


# ---------------------------------------------------------------- 5. the model
def test_registry_and_options(data):
    train, _ = data
    assert isinstance(create("dien", train.vocab), DIEN)
    with pytest.raises(ValueError, match="hidden_size"):
        DIEN(train.vocab, form="paper", hidden_size=5)
    with pytest.raises(ValueError, match="aux_scorer"):
        DIEN(train.vocab, aux_scorer="dot")
    DIEN(train.vocab, form="paper", hidden_size=5, aux_scorer="mlp", attention="released")  # MLP scorer: any width
    DIEN(train.vocab, hidden_size=5)  # the released form projects the target to the state width
    with pytest.raises(ValueError, match="hidden_size"):
        DIEN(train.vocab, hidden_size=5, aux_scorer="mlp", attention="mlp")
    with pytest.raises(ValueError, match="attention"):
        DIEN(train.vocab, attention="dot")
    with pytest.raises(ValueError, match="normalize"):
        DIEN(train.vocab, attention_norm="none")
    with pytest.raises(ValueError, match="aux_scale"):
        DIEN(train.vocab, aux_scale="sum")
    with pytest.raises(ValueError, match="form must be 'released'.*'paper'.*got 'tf'"):
        DIEN(train.vocab, form="tf")
    with pytest.raises(ValueError, match="reset must be"):
        DIEN(train.vocab, reset="middle")


def test_default_is_the_released_configuration(data):
    train, _ = data
    model = create("dien", train.vocab)
    assert model.form == "released" and model.options == FORMS["released"]
    cell = model.evolving
    assert isinstance(cell, AUGRUCell) and cell.gate == "tf-keep" and cell.reset == "before"
    h = cell.hidden_size
    assert_close(cell.bias_ih[:h], torch.ones(h)) and assert_close(cell.bias_ih[h:2 * h], -torch.ones(h))
    assert_close(cell.bias_hh[:2 * h], torch.zeros(2 * h))  # gates start at r = sigma(1), u = 1 - sigma(1)
    att = model.attention
    assert isinstance(att, MLPAttention) and att.query is not None and att.normalize == "softmax"
    assert [type(m).__name__ for m in att.unit.mlp] == ["Linear", "Sigmoid", "Linear", "Sigmoid", "Linear"]
    assert [m.out_features for m in att.unit.mlp if isinstance(m, torch.nn.Linear)] == [80, 40, 1]
    assert isinstance(model.aux_scorer, AuxiliaryMLP) and model.aux_scale == "positions"
    assert [m.out_features for m in model.aux_scorer.mlp.net if isinstance(m, torch.nn.Linear)] == [100, 50, 1]
    assert model.aux_weight == 1.0
    assert not model.target_product and not model.aux_moves_items  # the two named departures
    d = model.embed.out_dim
    assert model.tower.net[0].in_features == model.dim + 2 * d + h  # [user, e_a, pooled, h'_T]
    product = DIEN(train.vocab, target_product=True)
    assert product.tower.net[0].in_features == model.dim + 3 * d + h  # [user, e_a, pooled, e_a * pooled, h'_T]
    assert model.tower_activation == "prelu" and [type(m).__name__ for m in model.tower.net] == [
        "Linear", "PReLU", "Linear", "PReLU", "Linear"]  # a named departure: the released tower uses Dice
    dice = DIEN(train.vocab, tower_activation="dice")
    assert [type(m).__name__ for m in dice.tower.net] == ["Linear", "Dice", "Linear", "Dice", "Linear"]
    paper = DIEN(train.vocab, form="paper")
    assert paper.options == FORMS["paper"] and isinstance(paper.attention, BilinearAttention)
    assert paper.evolving.gate == "paper" and paper.evolving.reset == "after" and paper.aux_scorer is None
    assert DIEN(train.vocab, form="paper", gate="tf-keep").evolving.gate == "tf-keep"  # an option overrides its form


def test_aux_fixed_items_scores_the_same_and_moves_only_the_history(data):
    """``aux_moves_items=False`` (the default): the same auxiliary loss value; the extractor and the scorer learn,
    the history's embeddings learn through the states, and an item that is only a negative (or
    only a scored next behaviour, never read by the extractor) gets no gradient."""
    train, _ = data
    batch = train[:64]
    torch.manual_seed(0)
    moving = DIEN(train.vocab, aux_moves_items=True)
    fixed = DIEN(train.vocab)
    fixed.load_state_dict(moving.state_dict())
    assert moving.aux_moves_items and not fixed.aux_moves_items
    loss_moving, loss_fixed = moving.aux_loss(batch), fixed.aux_loss(batch)
    assert_close(loss_fixed, loss_moving)
    loss_moving.backward()
    loss_fixed.backward()
    read = batch.hist_item[batch.hist_mask.bool()].unique()  # items the extractor reads
    scored = torch.cat([batch.hist_item[:, 1:][batch.hist_mask[:, 1:].bool()],
                        batch.neg_item[:, 1:][batch.hist_mask[:, 1:].bool()]]).unique()
    only_scored = scored[~torch.isin(scored, read)]
    assert len(only_scored) > 0, "the probe batch needs negatives outside every history"
    grad_moving, grad_fixed = moving.embed.item.weight.grad, fixed.embed.item.weight.grad
    assert grad_moving[only_scored].abs().sum() > 0  # as released: the scored vectors move
    assert grad_fixed[only_scored].abs().sum() == 0  # fixed: they do not
    assert grad_fixed[read].abs().sum() > 0  # the history still learns through the states
    for part in (fixed.extractor, fixed.aux_scorer):
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in part.parameters())


def test_released_tower_input_by_hand(data):
    train, _ = data
    torch.manual_seed(0)
    model = DIEN(train.vocab, target_product=True).eval()
    batch = train[:8]
    parts = model.interests(batch)
    pooled = (parts["behaviours"] * parts["mask"].unsqueeze(-1)).sum(1)  # [B, D]
    x = torch.cat([model.user(batch.user), parts["target"], pooled, parts["target"] * pooled, parts["final"]], -1)
    assert_close(model(batch), model.tower(x).squeeze(-1))


@pytest.mark.parametrize("options", [
    {"gru_type": "aigru"}, {"gru_type": "agru"}, {"gru_type": "augru"}, {"gate": "tf-keep"},
    {"attention": "mlp"}, {"attention_norm": "sigmoid"}, {"attention": "mlp", "attention_norm": "sigmoid"},
    {"aux_scale": "paper", "aux_scorer": "mlp"},
])
def test_padding_invariance(data, options):
    train, _ = data
    torch.manual_seed(0)
    model = DIEN(train.vocab, **options).eval()
    batch = train[:64]
    ref_logits, ref_loss = model(batch), model.loss(batch)
    for garbage in (False, True):
        longer = padded(batch, 7, garbage)
        assert_close(model(longer), ref_logits)
        assert_close(model.loss(longer), ref_loss)


def test_short_histories_and_gradients(data):
    train, _ = data
    torch.manual_seed(0)
    model = DIEN(train.vocab)
    batch = train[:8]
    batch.hist_len = torch.tensor([0, 1, 1, 0, 1, 1, 1, 1])
    keep = torch.arange(batch.hist_item.shape[1]) < batch.hist_len.unsqueeze(1)
    batch.hist_item, batch.hist_cate = batch.hist_item * keep, batch.hist_cate * keep
    loss = model.loss(batch)
    assert torch.isfinite(loss)
    assert_close(model.aux_loss(batch), torch.tensor(0.0))
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


@pytest.mark.parametrize("options", [{}, {"attention": "mlp"}, {"attention_norm": "sigmoid", "gate": "tf-keep"}])
def test_every_parameter_gets_a_gradient(data, options):
    train, _ = data
    torch.manual_seed(0)
    model = DIEN(train.vocab, **options)
    model.loss(train[:64]).backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert not missing, missing


def test_aux_scales_in_the_model(data):
    train, _ = data
    torch.manual_seed(0)
    pairs = DIEN(train.vocab, aux_scale="pairs")
    paper = DIEN(train.vocab, aux_scale="paper")
    released = DIEN(train.vocab)
    paper.load_state_dict(pairs.state_dict())
    released.load_state_dict(pairs.state_dict())
    batch = train[:32]
    n_pairs = (batch.hist_mask[:, :-1] * batch.hist_mask[:, 1:]).sum()
    longest = int(batch.hist_len.max())
    assert_close(paper.aux_loss(batch), pairs.aux_loss(batch) * n_pairs / len(batch))
    assert_close(released.aux_loss(batch), pairs.aux_loss(batch) * n_pairs / (len(batch) * (longest - 1)))


def test_aux_loss_reaches_the_extractor(data):
    train, _ = data
    torch.manual_seed(0)
    model = DIEN(train.vocab)
    model.aux_loss(train[:32]).backward()
    grads = [p.grad for p in model.extractor.parameters()]
    assert all(g is not None and g.abs().sum() > 0 for g in grads)
    assert model.evolving.weight_hh.grad is None  # the aux loss does not touch the evolving layer


def test_aux_loss_pairs_plain_item_vectors_with_feedback(data):
    train, _ = data
    vocab = dataclasses.replace(train.vocab, feedback_levels=np.arange(3))
    torch.manual_seed(0)
    model = DIEN(vocab)
    batch = train[:16]
    levels = torch.randint(1, 3, batch.hist_item.shape) * batch.hist_mask.long()  # [B, L]
    batch = Batch(**{**batch.__dict__, "hist_feedback": levels})
    states = model.extractor(model.history(batch), batch.hist_len)[0]  # the states see the feedback
    plain = model.embed(batch.hist_item, batch.hist_cate)  # the aux targets do not
    expected = auxiliary_loss(states, plain, model.embed(batch.neg_item, batch.neg_cate), batch.hist_mask,
                              model.aux_scorer, model.aux_scale)
    assert_close(model.aux_loss(batch), expected)
    assert_close(model.aux_loss(batch, model.interests(batch)), expected)
    assert not torch.allclose(model.history(batch), plain)


def test_aux_weight_zero_is_target_loss_only(data):
    train, _ = data
    torch.manual_seed(0)
    with_aux = DIEN(train.vocab, aux_weight=0.5)
    without = DIEN(train.vocab, aux_weight=0.0)
    without.load_state_dict(with_aux.state_dict())
    batch = train[:32]
    assert_close(with_aux.loss(batch), without.loss(batch) + 0.5 * with_aux.aux_loss(batch))


def test_gate_trace_and_state_dict(data):
    train, _ = data
    torch.manual_seed(0)
    model = DIEN(train.vocab)
    batch = train[:16]
    trace = model.gate_trace(batch)
    a, u, valid = trace["attention"].unsqueeze(-1), trace["update"], trace["mask"].unsqueeze(-1)
    assert_close(trace["scaled"], (1 - (1 - a) * (1 - u)) * valid)  # released: the keep gate scaled
    paper = DIEN(train.vocab, form="paper").gate_trace(batch)
    assert_close(paper["scaled"], paper["attention"].unsqueeze(-1) * paper["update"])  # printed: u~ = a u
    assert trace["evolved"].shape == (16, batch.hist_item.shape[1], model.evolving.hidden_size)
    assert model.training  # restored
    clone = DIEN(train.vocab)
    clone.load_state_dict(model.state_dict())
    assert_close(clone.eval()(batch), model.eval()(batch))


def test_dien_beats_base_on_synthetic():
    # The DIEN-only planted log (order matters there), both models trained to convergence:
    # chapter 3's margin is about +0.11 AUC on every seed.
    train, test = load_samples("synthetic-dien")
    scores = {}
    for name in ("base", "dien"):
        torch.manual_seed(0)
        model = create(name, train.vocab)
        fit(model, train, seed=0, progress=False)
        scores[name] = evaluate(model, test)["auc"]
    assert scores["dien"] > scores["base"] + 0.05, scores


# ---------------------------------------------------------------- exercises, plot, widget
def test_exercise_checkers_accept_reference_and_reject_stubs():
    def stub(*args):
        raise NotImplementedError("exercise")

    reference = {"augru_update": lambda h, c, u, a: torch.lerp(h, c, scale_update_gate(u, a)),
                 "auxiliary_loss": auxiliary_loss}
    for name, fn in reference.items():
        assert ex.CHECKERS[name](fn, verbose=False)
    for checker in ex.CHECKERS.values():
        assert not checker(stub, verbose=False)
    wrong = lambda h, c, u, a: torch.lerp(h, c, scale_update_gate(u, a, "tf-keep"))  # noqa: E731
    assert not ex.check_augru_update(wrong, verbose=False)


def test_gate_plot_headless(data):
    from seqlib.viz.dien import plot_gate_scaling

    train, _ = data
    torch.manual_seed(0)
    model = DIEN(train.vocab)
    sample = train[3:4]
    fig = plot_gate_scaling(model, sample, temperature=0.5)
    assert fig.axes[0].get_title()
    assert fig.axes[-1].get_xlabel() and all(ax.get_ylabel() for ax in fig.axes)
    matplotlib.pyplot.close(fig)


def test_deterministic_under_seed(data):
    train, _ = data
    outputs = []
    for _ in range(2):
        torch.manual_seed(3)
        model = DIEN(train.vocab, gru_type="agru")
        outputs.append(model.loss(train[:32]))
    assert_close(outputs[0], outputs[1])


def test_gate_widget_builds(data):
    from seqlib.viz.dien import gate_scaling_frames
    from seqlib.widgets.dien import gate_scaling_widget

    train, _ = data
    torch.manual_seed(0)
    model = DIEN(train.vocab)
    sample = train[3:4]
    candidates = {"A": (1, int(train.vocab.item_cate[1]), None), "B": (2, int(train.vocab.item_cate[2]), None)}
    widget = gate_scaling_widget(model, sample, candidates)
    choice, temperature = widget.children[0].children
    temperature.value = 0.1  # redraws without error
    choice.value = "B"
    frames, labels = gate_scaling_frames(model, sample, candidates, temperatures=(0.5, 2.0))
    assert len(frames) == len(labels) == 4
    for fig in frames:
        matplotlib.pyplot.close(fig)
    agru = DIEN(train.vocab, gru_type="agru")
    with pytest.raises(ValueError, match="update gate"):
        gate_scaling_frames(agru, sample, candidates, temperatures=(1.0,))


# ---------------------------------------------------------------- the ablation script
ROOT = Path(__file__).resolve().parents[1]
ABLATION = ROOT / "benchmarks" / "dien_ablation.py"


def load_ablation():
    """The ablation script as a module."""
    spec = importlib.util.spec_from_file_location("dien_ablation", ABLATION)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_ablation_configs_build(data):
    module = load_ablation()
    train, _ = data
    for label, (name, options) in module.CONFIGS.items():
        model = create(name, train.vocab, **options)
        assert (name == "dien") == isinstance(model, DIEN), label
        plain = label in (name, "dien[released]")  # a form's own name: no departures from it
        assert plain == (options in ({}, module.PAPER, module.RELEASED)), label  # a label names its departures
        if name == "dien":
            released = label.startswith(("dien[released", "dien[as-released"))
            assert options["form"] == ("released" if released else "paper"), label
            # the printed form as printed: its auxiliary loss moves the item vectors it scores
            as_released = label.startswith("dien[as-released")
            assert model.aux_moves_items == (not released or "moving-items" in label or as_released), label
            assert model.target_product == ("product" in label or as_released), label
            assert model.tower_activation == ("dice" if "dice" in label else "prelu"), label


def test_ablation_script_tiny_end_to_end(tmp_path):
    command = [sys.executable, str(ABLATION), "--tiny", "--out", str(tmp_path), "--jobs", "1"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    runs, meta = load_record("dien-ablation-tiny", tmp_path)
    assert sorted(runs["model"]) == ["base", "dien"] and set(runs["seed"]) == {0}
    assert runs["auc"].between(0.0, 1.0).all() and runs["gauc"].between(0.0, 1.0).all()
    assert (runs["epochs"] <= runs["epochs_run"]).all() and (runs["epochs_run"] <= 2).all()
    assert meta["settings"]["data"]["dataset"] == "synthetic-tiny" and "--tiny" in meta["command"]
    assert "dien" in done.stdout and "auc" in done.stdout  # the printed table
    again = subprocess.run([*command, "--resume"], cwd=ROOT, capture_output=True, text=True)
    assert again.returncode == 0 and "0 run(s) to do, 2 already recorded" in again.stdout, again.stderr
    changed = subprocess.run([*command, "--resume", "--lr", "0.01"], cwd=ROOT, capture_output=True, text=True)
    assert changed.returncode != 0 and "lr" in changed.stderr


def test_ablation_script_records_under_a_given_name(tmp_path):
    command = [sys.executable, str(ABLATION), "--tiny", "--out", str(tmp_path), "--jobs", "1", "--configs", "base",
               "--name", "pooling-tiny"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    runs, meta = load_record("pooling-tiny", tmp_path)
    assert list(runs["model"]) == ["base"] and "--name pooling-tiny" in meta["command"]
    assert not (tmp_path / "dien-ablation-tiny.json").exists()
    bad = subprocess.run([*command[:-1], "a/b"], cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 2 and "--name takes letters" in bad.stderr and "'a/b'" in bad.stderr


def test_ablation_script_builds_the_sessions_a_dsin_config_reads(tmp_path):
    # "dsin[sessions-20]" reads sessions of 20 behaviours: the samples must be built with that shape
    # (with the default shape the model would refuse the batch)
    command = [sys.executable, str(ABLATION), "--tiny", "--out", str(tmp_path), "--jobs", "1", "--configs",
               "dsin[sessions-20]", "--name", "sessions-tiny"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    runs, meta = load_record("sessions-tiny", tmp_path)
    assert list(runs["model"]) == ["dsin[sessions-20]"] and runs["auc"].between(0.0, 1.0).all()
    assert meta["settings"]["configs"]["dsin[sessions-20]"] == {"model": "dsin", "options": {"session_len": 20}}


def test_ablation_session_configs_fix_their_shape_and_stay_out_of_the_default_ablation():
    # the session-length configurations name their T whatever the data set's default, and the
    # planted DSIN ablation (its default list) does not rerun them
    ablation = load_ablation()
    assert ablation.CONFIGS["dsin[sessions-10]"] == ("dsin", {"session_len": 10})
    assert ablation.CONFIGS["dsin[sessions-20]"] == ("dsin", {"session_len": 20})
    assert "dsin" in ablation.DSIN_CONFIGS and not any("sessions-" in c for c in ablation.DSIN_CONFIGS)


def test_ablation_script_tiny_needs_a_folder():
    done = subprocess.run([sys.executable, str(ABLATION), "--tiny"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2 and "--out" in done.stderr


def test_plot_margin_sweep_draws_the_per_seed_margins():
    import pandas as pd

    from seqlib.viz.dien import plot_margin_sweep

    runs = pd.DataFrame({
        "value": [2, 2, 2, 2, 6, 6, 6, 6], "seed": [0, 0, 1, 1] * 2, "model": ["dien", "gru"] * 4,
        "auc": [0.80, 0.79, 0.82, 0.80, 0.85, 0.80, 0.87, 0.81],
    })
    fig = plot_margin_sweep(runs, "dien", ["gru"])
    line = fig.axes[0].lines[0]
    assert list(line.get_xdata()) == [2, 6]
    np.testing.assert_allclose(np.asarray(line.get_ydata(), dtype=float), [0.015, 0.055])  # mean over seeds of the per-seed margins
    with pytest.raises(ValueError, match=r"no runs of \['din'\]"):
        plot_margin_sweep(runs, "dien", ["din"])
    with pytest.raises(ValueError, match="columns"):
        plot_margin_sweep(runs.drop(columns="seed"), "dien", ["gru"])


@pytest.mark.parametrize("cls", [GRUCell, AIGRUCell, AGRUCell])
def test_reset_before_counts_both_biases_once(cls):
    # with reset="before" every bias is additive: the cell must equal the same cell whose input bias
    # holds b_ih + b_hh and whose recurrent bias is 0 (neither bias dropped nor added twice)
    torch.manual_seed(0)
    cell, merged = cls(3, 4, reset="before"), cls(3, 4, reset="before")
    merged.load_state_dict(cell.state_dict())
    with torch.no_grad():
        torch.nn.init.uniform_(cell.bias_hh, -0.5, 0.5)
        merged.bias_ih.copy_(cell.bias_ih + cell.bias_hh)
        merged.bias_hh.zero_()
    x, h, a = torch.randn(5, 3), torch.randn(5, 4), torch.rand(5)
    assert_close(cell(x, h, a), merged(x, h, a))
