"""DIN (MODEL_SPEC DIN 1-6): local activation, no softmax, Dice, mini-batch aware L2, model, plots."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch
from torch.nn import functional as F
from torch.testing import assert_close

from seqlib.data.batch import Batch
from seqlib.data.samples import build_samples
from seqlib.data.synthetic import make_synthetic
from seqlib.evaluation import load_samples
from seqlib.exercises import din as ex
from seqlib.models import DIN, create
from seqlib.nn.attention import (
    LocalActivationUnit,
    activation_features,
    attention_pool,
    local_activation,
    masked_softmax,
    pool_valid,
)
from seqlib.nn.dice import Dice, activation, masked_moments
from seqlib.nn.regularization import l2_penalty, mba_penalty
from seqlib.train import evaluate, fit
from seqlib.viz.din import attention_frames, attention_weights, plot_attention, plot_intensity
from seqlib.viz.dien import with_candidate


@pytest.fixture(scope="module")
def data():
    syn = make_synthetic(n_users=300, seed=0)
    train, test = build_samples(syn.log, max_len=20, history="positive", seed=0)
    return syn, train, test


@pytest.fixture(scope="module")
def batch(data) -> Batch:
    _, train, _ = data
    return train[torch.arange(64)]


def padded(batch: Batch, extra: int) -> Batch:
    """The same batch with ``extra`` more history columns and garbage ids on every padded position."""
    b, length = batch.hist_item.shape
    fields = {}
    for name in ("hist_item", "hist_cate", "hist_time", "neg_item", "neg_cate"):
        x = torch.cat([getattr(batch, name), torch.zeros(b, extra, dtype=torch.long)], dim=1)  # [B, L + extra]
        pad = torch.arange(length + extra) >= batch.hist_len.unsqueeze(1)  # [B, L + extra]
        fields[name] = torch.where(pad, torch.ones_like(x), x)
    return Batch(**{**batch.__dict__, **fields})


def emptied(batch: Batch, rows: list[int]) -> Batch:
    """The batch with the histories of ``rows`` made empty (length 0, all padding)."""
    hist_len = batch.hist_len.clone()
    hist_len[rows] = 0
    keep = torch.arange(batch.hist_item.shape[1]) < hist_len.unsqueeze(1)
    return Batch(**{**batch.__dict__, "hist_len": hist_len, "hist_item": batch.hist_item * keep,
                    "hist_cate": batch.hist_cate * keep})


def model_for(train, **kw) -> DIN:
    torch.manual_seed(0)
    return create("din", train.vocab, **kw)


# ---------------------------------------------------------------- 1-3. local activation, no softmax
def library_pool(behaviours, target, mask, score):
    return attention_pool(local_activation(behaviours, target, mask, score), behaviours)


@pytest.mark.parametrize("name_case", ex.pool_cases(), ids=lambda c: c[0])
def test_local_activation_pool_exercise_cases(name_case) -> None:
    name_case[1](library_pool)


def test_pool_hand_value_is_weighted_sum_without_softmax() -> None:
    behaviours, target, mask, expected = ex.pool_example()
    weights = local_activation(behaviours, target, mask, ex.sum_score)
    assert_close(weights, torch.tensor([[3.0, 3.0, 0.0], [6.0, 1.0, -4.0]]))
    assert_close(attention_pool(weights, behaviours), expected)


def test_activation_features_order() -> None:
    e, v = torch.tensor([[2.0, 3.0]]), torch.tensor([[1.0, -1.0]])
    assert_close(activation_features(e, v), torch.tensor([[2.0, 3.0, 1.0, -1.0, 1.0, 4.0, 2.0, -3.0]]))


@pytest.mark.parametrize("normalize", [None, "softmax"])
def test_masked_positions_get_exactly_zero(data, batch, normalize) -> None:
    _, train, _ = data
    model = model_for(train, normalize=normalize)
    weights = model.attention(padded(batch, 3))
    mask = padded(batch, 3).hist_mask
    assert (weights[mask == 0] == 0).all()
    assert (weights[mask == 1] != 0).any()


@pytest.mark.parametrize("train_mode", [True, False])
@pytest.mark.parametrize("normalize", [None, "softmax"])
def test_padding_invariance(data, batch, train_mode, normalize) -> None:
    _, train, _ = data
    model = model_for(train, normalize=normalize)
    model.train(train_mode)
    wide = padded(batch, 5)
    with torch.no_grad():
        assert_close(model(wide), model(batch))
        assert_close(model.attention(wide)[:, : batch.hist_item.shape[1]], model.attention(batch))
    if train_mode:  # the Dice running statistics moved identically
        a, b = model_for(train, normalize=normalize), model_for(train, normalize=normalize)
        a(batch), b(wide)
        assert_close(a.activation_unit.mlp[1].running_mean, b.activation_unit.mlp[1].running_mean)


def test_default_weights_do_not_sum_to_one(data, batch) -> None:
    _, train, _ = data
    model = model_for(train)
    fit(model, train, epochs=1, batch_size=256, seed=0, progress=False)
    sums = attention_weights(model, batch).sum(dim=1)
    assert not torch.allclose(sums, torch.ones_like(sums), atol=1e-2)
    assert sums.std() > 1e-3  # the total varies across samples: interest intensity


def test_softmax_sums_to_one_over_valid_positions(data, batch) -> None:
    _, train, _ = data
    model = model_for(train, normalize="softmax")
    weights = model.attention(emptied(batch, [0]))
    assert_close(weights[1:].sum(dim=1), torch.ones(len(batch) - 1))
    assert_close(weights[0], torch.zeros_like(weights[0]))
    raw = model_for(train).attention(batch, normalize="softmax")  # override on a raw model
    assert_close(raw.sum(dim=1), torch.ones(len(batch)))


@pytest.mark.parametrize("name_case", ex.softmax_cases(), ids=lambda c: c[0])
def test_masked_softmax_exercise_cases(name_case) -> None:
    name_case[1](masked_softmax)


def test_fast_first_layer_equals_mlp_on_features() -> None:
    torch.manual_seed(0)
    unit = LocalActivationUnit(4, (6, 3), "prelu")
    behaviours, target = torch.randn(3, 5, 4), torch.randn(3, 4)
    mask = (torch.arange(5) < torch.tensor([[5], [2], [0]])).float()
    assert_close(unit(behaviours, target, mask), local_activation(behaviours, target, mask, unit.mlp))


@pytest.mark.parametrize("normalize", [None, "softmax"])
def test_packed_forward_equals_dense_pooling(data, batch, normalize) -> None:
    _, train, _ = data
    model = model_for(train, normalize=normalize).eval()
    with torch.no_grad():
        target = model.embed(batch.item, batch.cate)
        behaviours = model.embed(batch.hist_item, batch.hist_cate)
        interest = attention_pool(model.attention(batch), behaviours)  # dense: Eq. din-pool on [B, L, D]
        x = torch.cat([model.user(batch.user), target, interest], dim=-1)
        assert_close(model(batch), model.tower(x).squeeze(-1))


def test_pool_valid_equals_attention_pool() -> None:
    weights = torch.tensor([[0.5, -1.0, 0.0], [0.0, 0.0, 0.0]])
    behaviours = torch.arange(12.0).reshape(2, 3, 2)
    mask = torch.tensor([[1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
    rows, cols = mask.nonzero(as_tuple=True)
    packed = pool_valid(weights[rows, cols], behaviours[rows, cols], rows, 2)
    assert_close(packed, attention_pool(weights, behaviours))
    assert_close(packed, torch.tensor([[-2.0, -2.5], [0.0, 0.0]]))


def test_unknown_normalize_is_rejected() -> None:
    with pytest.raises(ValueError, match="normalize"):
        LocalActivationUnit(4, normalize="sum")  # type: ignore[arg-type]


# ---------------------------------------------------------------- 4. Dice
def library_dice(x: torch.Tensor, alpha: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    dice = Dice(x.shape[-1]).train()
    with torch.no_grad():
        dice.alpha.copy_(alpha)
    return dice(x, mask)


@pytest.mark.parametrize("name_case", ex.dice_cases(), ids=lambda c: c[0])
def test_dice_exercise_cases(name_case) -> None:
    name_case[1](library_dice)


def test_dice_with_stats_0_1_in_eval_is_the_hand_formula() -> None:
    dice = Dice(2).eval()
    with torch.no_grad():
        dice.alpha.copy_(torch.tensor([0.1, 0.5]))
    x = torch.tensor([[2.0, -1.0]])
    sig = lambda s: 1 / (1 + math.exp(-s))  # noqa: E731
    expected = torch.tensor([[2 * (sig(2) + (1 - sig(2)) * 0.1), -1 * (sig(-1) + (1 - sig(-1)) * 0.5)]])
    assert_close(dice(x), expected)  # fresh running stats: mean 0, var 1


def test_dice_with_zero_stats_is_prelu() -> None:
    dice = Dice(3).eval()
    with torch.no_grad():
        dice.alpha.copy_(torch.tensor([0.1, 0.25, 0.5]))
        dice.running_var.zero_()
    x = torch.tensor([[1.5, -2.0, 0.3], [-0.5, 4.0, -3.0]])
    assert_close(dice(x), F.prelu(x, dice.alpha))


def test_dice_uses_running_stats_in_eval_and_batch_stats_in_train() -> None:
    dice = Dice(1, momentum=0.5)
    x = torch.tensor([[1.0], [3.0]])  # batch mean 2, biased var 1, unbiased var 2
    dice.train()
    out_train = dice(x)
    assert_close(dice.running_mean, torch.tensor([1.0]))  # 0.5 * 0 + 0.5 * 2
    assert_close(dice.running_var, torch.tensor([1.5]))  # 0.5 * 1 + 0.5 * 2
    dice.eval()
    out_eval = dice(x)
    z = (x - 1.0) / math.sqrt(1.5 + 1e-8)
    assert_close(out_eval, x * (0.25 + 0.75 * torch.sigmoid(z)))
    assert not torch.allclose(out_train, out_eval)
    before = dice.running_mean.clone()
    dice(torch.tensor([[100.0], [200.0]]))
    assert_close(dice.running_mean, before)  # eval never updates the statistics


def test_dice_masked_stats_exclude_padding() -> None:
    x = torch.tensor([[[1.0], [3.0], [50.0]], [[2.0], [-7.0], [-7.0]]])  # [B=2, L=3, H=1]
    mask = torch.tensor([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    mean, var = masked_moments(x, mask)
    assert_close(mean, torch.tensor([2.0]))
    assert_close(var, torch.tensor([2.0 / 3.0]))
    dice = Dice(1, momentum=1.0).train()
    dice(x, mask)
    assert_close(dice.running_mean, torch.tensor([2.0]))
    assert_close(dice.running_var, torch.tensor([1.0]))  # unbiased: 2 / (3 - 1)


def test_dice_fast_path_equals_masked_path() -> None:
    torch.manual_seed(0)
    x = torch.randn(7, 4)
    a, b = Dice(4).train(), Dice(4).train()
    assert_close(a(x), b(x, torch.ones(7)))
    assert_close(a.running_var, b.running_var)
    one = torch.randn(1, 4)  # a batch of one: no statistics to estimate, no crash
    assert torch.isfinite(Dice(4).train()(one)).all()


def test_dice_gradients_match_finite_differences() -> None:
    dice = Dice(3).double().train()
    x = torch.randn(6, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: dice(t), (x,))


def test_activation_factory() -> None:
    assert isinstance(activation("dice", 4), Dice)
    assert isinstance(activation("prelu", 4), torch.nn.PReLU)
    with pytest.raises(ValueError, match="activation"):
        activation("relu", 4)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mask shape"):
        masked_moments(torch.zeros(2, 3, 4), torch.ones(3))


# ---------------------------------------------------------------- 5. mini-batch aware L2
@pytest.mark.parametrize("name_case", ex.mba_cases(), ids=lambda c: c[0])
def test_mba_exercise_cases(name_case) -> None:
    name_case[1](mba_penalty)


def test_din_loss_adds_the_mba_penalty(data, batch) -> None:
    _, train, _ = data
    counts = train.item_counts()
    model = model_for(train, regularization="mba", reg_lambda=0.5, item_counts=counts).eval()
    table = model.embed.item.weight.detach()
    ids = sorted(set(batch.item.tolist()) | set(batch.hist_item[batch.hist_mask.bool()].tolist()))
    expected = 0.5 * sum(float(table[j].square().sum() / counts[j]) for j in ids)  # row by row
    assert_close(model.penalty(batch), torch.tensor(expected))
    bce = F.binary_cross_entropy_with_logits(model(batch), batch.label)
    assert_close(model.loss(batch), bce + expected)


def test_l2_penalty_is_the_whole_table(data, batch) -> None:
    _, train, _ = data
    model = model_for(train, regularization="l2", reg_lambda=0.01)
    assert_close(model.penalty(batch), 0.01 * model.embed.item.weight.square().sum())
    assert_close(l2_penalty(torch.tensor([[1.0, 2.0], [3.0, 0.0]]), 0.5), torch.tensor(7.0))


def test_bad_regularization_options(data) -> None:
    _, train, _ = data
    with pytest.raises(ValueError, match="item_counts"):
        create("din", train.vocab, regularization="mba", reg_lambda=0.1)
    with pytest.raises(ValueError, match="regularization"):
        create("din", train.vocab, regularization="l1")
    with pytest.raises(ValueError, match="reg_lambda"):
        create("din", train.vocab, regularization="l2", reg_lambda=-1.0)
    with pytest.raises(ValueError, match="counts"):
        mba_penalty(torch.zeros(4, 2), torch.tensor([1]), torch.ones(3), 0.1)


# ---------------------------------------------------------------- model
def test_empty_history_gives_no_nan(data, batch) -> None:
    _, train, _ = data
    for kw in ({}, {"normalize": "softmax"}, {"activation": "prelu"}):
        model = model_for(train, **kw)
        empty = emptied(batch, list(range(len(batch))))  # every history empty
        loss = model.loss(empty)
        loss.backward()
        assert torch.isfinite(loss)
        assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)
        assert (model.attention(empty) == 0).all()
        some = emptied(batch, [0, 5])
        assert torch.isfinite(model(some)).all()


def test_gradients_reach_every_part(data, batch) -> None:
    _, train, _ = data
    model = model_for(train)
    model.loss(batch).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, f"no gradient for {name}"
    hist_rows = batch.hist_item[batch.hist_mask.bool()].unique()
    assert model.embed.item.weight.grad[hist_rows].abs().sum(dim=1).gt(0).all()


def test_training_is_deterministic(data) -> None:
    _, train, test = data
    results = []
    for _ in range(2):
        model = model_for(train)
        history = fit(model, train, epochs=1, batch_size=256, seed=3, progress=False)
        results.append((history.train_loss.item(), evaluate(model, test)["auc"]))
    assert results[0] == results[1]


def test_din_beats_base_on_synthetic_data() -> None:
    # The chapter's setting: clicks depend on the candidate's topic among recent behaviours.
    train, test = load_samples("synthetic", max_len=20)
    aucs = {}
    for name in ("base", "din"):
        torch.manual_seed(0)
        model = create(name, train.vocab)
        fit(model, train, epochs=1, batch_size=128, seed=0, progress=False)
        aucs[name] = evaluate(model, test)["auc"]
    assert aucs["din"] > aucs["base"] + 0.01, aucs


def test_registry_and_options(data) -> None:
    _, train, _ = data
    assert isinstance(create("din", train.vocab), DIN)
    model = create("din", train.vocab, activation="prelu", attention_hidden=(36,))
    assert isinstance(model.tower.net[1], torch.nn.PReLU)
    assert len(model.activation_unit.mlp) == 3


# ---------------------------------------------------------------- plots and widget
def test_plot_attention_bars_are_the_weights(data, batch) -> None:
    syn, train, _ = data
    model = model_for(train)
    sample = batch.select(torch.tensor([3]))
    relevant = syn.relevant_mask(sample, train.vocab)[0]
    n = int(sample.hist_len[0])
    for softmax in (False, True):
        fig = plot_attention(model, sample, relevant, softmax=softmax)
        heights = torch.tensor([p.get_height() for p in fig.axes[0].patches[:n]])
        expected = attention_weights(model, sample, softmax)[0, :n]
        assert_close(heights, expected, check_dtype=False)
        assert f"{float(expected.sum()):.3f}" in fig.axes[0].get_title()
        plt.close(fig)
    with pytest.raises(ValueError, match="one sample"):
        plot_attention(model, batch)


def test_attention_frames_and_intensity(data, batch) -> None:
    syn, train, _ = data
    model = model_for(train)
    sample = batch.select(torch.tensor([0]))
    candidates = {"a": (int(batch.item[1]), int(batch.cate[1]), None),
                  "b": (int(batch.item[2]), int(batch.cate[2]), None)}
    frames, labels = attention_frames(model, sample, candidates)
    assert labels == ["a, raw", "a, softmax", "b, raw", "b, softmax"]
    assert len(frames) == 4
    fig = plot_intensity(model, batch, syn.relevant_mask(batch, train.vocab))
    assert len(fig.axes) == 2
    plt.close("all")
    other = with_candidate(sample, *candidates["b"][:2])
    assert int(other.item[0]) == candidates["b"][0]


def test_attention_widget_builds(data, batch) -> None:
    from seqlib.widgets.din import attention_widget

    _, train, _ = data
    model = model_for(train)
    candidates = {"x": (int(batch.item[1]), int(batch.cate[1]), None)}
    widget = attention_widget(model, batch.select(torch.tensor([0])), candidates)
    toggle = widget.children[0].children[1]
    toggle.value = True  # redraws without error
    plt.close("all")


def test_the_activation_unit_start(data) -> None:
    _, train, _ = data
    batch = train[:64]
    valid = batch.hist_mask.bool()
    torch.manual_seed(0)
    default = create("din", train.vocab).eval().attention(batch, normalize=None)  # [B, L]
    torch.manual_seed(0)
    summing = create("din", train.vocab, attention_start=1.0).eval().attention(batch, normalize=None)
    for weights in (default, summing):
        assert (weights[~valid] == 0).all()
    assert default[valid].abs().max() < 0.5  # PyTorch's usual init: every weight starts near 0
    assert (summing[valid] - 1.0).abs().max() < 0.2  # every behaviour starts near weight 1 (sum pooling)
    with pytest.raises(ValueError, match="start"):
        create("din", train.vocab, attention_start=float("nan"))


# ---------------------------------------------------------------- sign of the raw weights
def covariance_of_total_and_logit(model: DIN, batch: Batch) -> float:
    with torch.no_grad():
        totals, logits = model.attention(batch, normalize=None).sum(1), model(batch)
    return float(((totals - totals.mean()) * (logits - logits.mean())).mean())


def test_flipped_sign_is_the_same_model_and_orient_restores_it(data, batch) -> None:
    _, train, _ = data
    model = model_for(train).eval()
    score, first, d = model.activation_unit.mlp[-1], model.tower.net[0], model.embed.out_dim
    with torch.no_grad():  # what the flip must do, by hand: the score layer and the v_U(A) columns
        expected = [-score.weight, -score.bias, -first.weight[:, -d:], first.weight[:, :-d].clone()]
        model.flip_attention_sign_()
        assert_close([score.weight, score.bias, first.weight[:, -d:], first.weight[:, :-d]], expected)
        model.flip_attention_sign_()
    model.orient_attention_(batch)  # whichever sign the initialisation had
    assert covariance_of_total_and_logit(model, batch) > 0
    assert model.orient_attention_(batch) is False  # already oriented: untouched
    with torch.no_grad():
        logits, weights = model(batch), model.attention(batch, normalize=None)
    model.flip_attention_sign_()
    with torch.no_grad():
        assert_close(model(batch), logits, atol=1e-5, rtol=1e-5)  # the symmetry: same logits
        assert_close(model.attention(batch, normalize=None), -weights)
    assert covariance_of_total_and_logit(model, batch) < 0
    assert model.orient_attention_(batch) is True
    with torch.no_grad():
        assert_close(model(batch), logits, atol=1e-5, rtol=1e-5)
        assert_close(model.attention(batch, normalize=None), weights)


def test_softmax_din_is_never_flipped(data, batch) -> None:
    _, train, _ = data
    model = model_for(train, normalize="softmax").eval()
    with torch.no_grad():
        model.activation_unit.mlp[-1].bias.fill_(-3.0)
        before = model(batch)
    assert model.orient_attention_(batch) is False
    with torch.no_grad():
        assert_close(model(batch), before)


def test_fit_orients_the_raw_weights(data) -> None:
    # Two starts that are the same model with opposite signs train into mirror images of each
    # other; without the orientation at the end of fit, one of them would end negative.
    _, train, _ = data
    first = train.subset(torch.arange(min(len(train), 2048))).full()
    models = [model_for(train), model_for(train)]
    models[1].flip_attention_sign_()
    for model in models:
        fit(model, train, epochs=1, progress=False)
        model.eval()
        assert covariance_of_total_and_logit(model, first) > 0
    with torch.no_grad():
        assert_close(models[0](first), models[1](first), atol=1e-4, rtol=1e-4)
