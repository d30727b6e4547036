"""DIEN (MODEL_SPEC DIEN 1-6): extractor, auxiliary loss, attention, GRU variants, model, plots."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import pytest
import torch
from torch.testing import assert_close

from seqlib.data.batch import Batch
from seqlib.data.samples import build_samples
from seqlib.data.synthetic import make_synthetic
from seqlib.exercises import dien as ex
from seqlib.models import DIEN, BaseModel, create
from seqlib.nn.aux_loss import AuxiliaryMLP, auxiliary_loss
from seqlib.nn.dien_attention import BilinearAttention
from seqlib.nn.gru import AGRUCell, AIGRUCell, AUGRUCell, GRUCell, InterestExtractor, evolve, make_cell, scale_update_gate
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


# ---------------------------------------------------------------- 5. the model
def test_registry_and_options(data):
    train, _ = data
    assert isinstance(create("dien", train.vocab), DIEN)
    with pytest.raises(ValueError, match="hidden_size"):
        DIEN(train.vocab, hidden_size=5)
    with pytest.raises(ValueError, match="aux_scorer"):
        DIEN(train.vocab, aux_scorer="dot")
    DIEN(train.vocab, hidden_size=5, aux_scorer="mlp")  # the MLP scorer allows any width


@pytest.mark.parametrize("gru_type,gate", [("aigru", "paper"), ("agru", "paper"), ("augru", "paper"),
                                           ("augru", "tf-keep")])
def test_padding_invariance(data, gru_type, gate):
    train, _ = data
    torch.manual_seed(0)
    model = DIEN(train.vocab, gru_type=gru_type, gate=gate).eval()
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


def test_aux_loss_reaches_the_extractor(data):
    train, _ = data
    torch.manual_seed(0)
    model = DIEN(train.vocab)
    model.aux_loss(train[:32]).backward()
    grads = [p.grad for p in model.extractor.parameters()]
    assert all(g is not None and g.abs().sum() > 0 for g in grads)
    assert model.evolving.weight_hh.grad is None  # the aux loss does not touch the evolving layer


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
    assert_close(trace["scaled"], trace["attention"].unsqueeze(-1) * trace["update"])
    assert trace["evolved"].shape == (16, batch.hist_item.shape[1], model.evolving.hidden_size)
    assert model.training  # restored
    clone = DIEN(train.vocab)
    clone.load_state_dict(model.state_dict())
    assert_close(clone.eval()(batch), model.eval()(batch))


def test_dien_beats_base_on_synthetic(data):
    train, test = data
    scores = {}
    for name in ("base", "dien"):
        torch.manual_seed(0)
        model = create(name, train.vocab)
        fit(model, train, epochs=3, batch_size=256, seed=0, progress=False)
        scores[name] = evaluate(model, test)["auc"]
    assert scores["dien"] > scores["base"] + 0.01, scores


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
