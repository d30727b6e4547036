"""Measuring DIN's regularisers (book chapter 2): SGD steps on the penalties, what Adam does to an
L2 term, the per-epoch SGD curves and their plots."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch
from torch.testing import assert_close

from seqlib.data.samples import build_samples
from seqlib.data.synthetic import make_synthetic
from seqlib.models import create
from seqlib.nn.regularization import (
    frequency_buckets,
    full_batches,
    l2_penalty,
    matched_l2_lambda,
    mba_penalty,
    norms_by_frequency,
    penalty_only_norms,
    sgd_curves,
)
from seqlib.train import evaluate, fit, make_optimizer
from seqlib.viz.din import plot_penalty_only, plot_regularization_curves


@pytest.fixture(scope="module")
def data():
    syn = make_synthetic(n_users=120, seed=0)
    return build_samples(syn.log, max_len=10, history="positive", seed=0)


def sgd_step(weight: torch.nn.Parameter, loss: torch.Tensor, lr: float) -> None:
    """One plain SGD step on ``loss`` (the optimiser ``fit`` builds for ``optimizer="sgd"``)."""
    opt = torch.optim.SGD([weight], lr=lr)
    opt.zero_grad()
    loss.backward()
    opt.step()


def test_mba_sgd_step_shrinks_each_row_in_the_batch_by_2_lr_lambda_over_n() -> None:
    w0 = torch.tensor([[0.0, 0.0], [1.0, -2.0], [0.5, 0.5], [3.0, 1.0], [-1.0, 4.0]])
    weight = torch.nn.Parameter(w0.clone())
    counts = torch.tensor([0.0, 4.0, 1.0, 10.0, 2.0])
    ids = torch.tensor([[1, 1, 3, 0], [3, 0, 0, 1]])  # rows 1 and 3 (each several times), padding 0
    lr, lam = 0.5, 0.2
    sgd_step(weight, mba_penalty(weight, ids, counts, lam), lr)
    expected = w0.clone()
    expected[1] *= 1 - 2 * lr * lam / 4.0  # once per batch, however often the id occurs
    expected[3] *= 1 - 2 * lr * lam / 10.0
    assert_close(weight.detach(), expected)  # rows 0 (padding), 2 and 4 (absent) untouched


def test_plain_l2_sgd_step_shrinks_every_row_by_2_lr_lambda() -> None:
    w0 = torch.tensor([[1.0, -2.0], [0.5, 0.5], [3.0, 1.0]])
    weight = torch.nn.Parameter(w0.clone())
    sgd_step(weight, l2_penalty(weight, 0.1), lr=0.3)
    assert_close(weight.detach(), w0 * (1 - 2 * 0.3 * 0.1))


def test_din_penalty_under_sgd_shrinks_only_the_batch_item_rows(data) -> None:
    train, _ = data
    counts = train.item_counts()
    model = create("din", train.vocab, regularization="mba", reg_lambda=0.3, item_counts=counts)
    batch = train[torch.arange(16)]
    table = model.embed.item.weight
    before = table.detach().clone()
    opt = make_optimizer(model, "sgd", lr=0.7)
    opt.zero_grad()
    model.penalty(batch).backward()
    opt.step()
    present = torch.zeros(len(before), dtype=torch.bool)
    present[torch.cat([batch.item, batch.hist_item.flatten()])] = True
    present[0] = False
    factor = torch.where(present, 1 - 2 * 0.7 * 0.3 / counts.clamp(min=1.0), torch.ones(()))  # [V]
    assert_close(table.detach(), before * factor.unsqueeze(1))
    assert int(present.sum()) > 5 and not torch.equal(table.detach(), before)


def test_matched_l2_gives_a_rare_row_the_same_shrinkage_per_epoch() -> None:
    lr, lam, n_batches = 1.0, 0.3, 200
    assert matched_l2_lambda(lam, n_batches) == pytest.approx(lam / n_batches)
    for n_j in (1, 3, 7):  # a rare id: its n_j samples land in n_j different batches of the epoch
        mba = torch.nn.Parameter(torch.tensor([[0.0, 0.0], [1.0, 1.0]]))  # row 0 is padding
        l2 = torch.nn.Parameter(torch.tensor([[1.0, 1.0]]))
        counts = torch.tensor([0.0, float(n_j)])
        in_batch = set(range(0, n_batches, n_batches // n_j)[:n_j])
        for step in range(n_batches):
            ids = torch.tensor([1 if step in in_batch else 0])
            sgd_step(mba, mba_penalty(mba, ids, counts, lam), lr)
            sgd_step(l2, l2_penalty(l2, matched_l2_lambda(lam, n_batches)), lr)
        mba_factor, l2_factor = float(mba.detach()[1, 0]), float(l2.detach()[0, 0])
        assert mba_factor == pytest.approx((1 - 2 * lr * lam / n_j) ** n_j)
        assert l2_factor == pytest.approx((1 - 2 * lr * lam / n_batches) ** n_batches)
        # Both approximate exp(-2 lr lambda); they agree to first order in lr * lambda / n_j.
        assert abs(mba_factor - l2_factor) < 2 * (lr * lam) ** 2 / n_j
    with pytest.raises(ValueError, match="n_batches"):
        matched_l2_lambda(0.1, 0)
    with pytest.raises(ValueError, match="mba_lambda"):
        matched_l2_lambda(-0.1, 10)


def test_adam_moves_an_l2_only_row_by_lr_whatever_lambda() -> None:
    lr = 3e-3
    first_steps = []
    start = torch.tensor([[0.05, -0.03, 0.08, -0.06, 0.02, 0.04, -0.07, 0.03]])
    for lam in (1e-2, 1e-4):
        row = torch.nn.Embedding(1, 8)
        with torch.no_grad():
            row.weight.copy_(start)
        before = row.weight.detach().clone()
        opt = make_optimizer(row, "adam", lr=lr)
        opt.zero_grad()
        l2_penalty(row.weight, lam).backward()
        grad = row.weight.grad.abs().clone()  # [1, 8]: 2 * lambda * |w|
        opt.step()
        step = (before - row.weight.detach()).abs()  # [1, 8]
        # Adam's first step is lr * |g| / (|g| + eps) per coordinate: lambda cancels up to eps.
        assert_close(step, lr * grad / (grad + 1e-8), rtol=1e-4, atol=0.0)
        first_steps.append(step)
    assert all(float((s / lr).min()) > 0.98 for s in first_steps)
    assert_close(first_steps[0], first_steps[1], rtol=0.02, atol=0.0)  # 100 times less lambda, same step


def test_penalty_only_norms_sgd_and_adamw_scale_with_lambda_adam_does_not() -> None:
    lr, steps = 3e-3, 15
    adam = {lam: penalty_only_norms("adam", lam, lr, steps) for lam in (1e-2, 1e-4)}
    start = adam[1e-2][0]
    assert adam[1e-2][-1] < 0.7 * start  # a real shrink ...
    assert adam[1e-2][-1] == pytest.approx(adam[1e-4][-1], rel=1e-2)  # ... identical for 100x less lambda
    for name in ("sgd", "adamw"):
        for lam in (1e-2, 1e-4):
            norms = penalty_only_norms(name, lam, lr, steps)
            assert norms[0] == pytest.approx(start)
            assert_close(torch.as_tensor(norms), torch.as_tensor(start * (1 - 2 * lr * lam) ** np.arange(steps + 1)),
                         rtol=1e-5, atol=0.0)
    assert penalty_only_norms("sgd", 0.1, 1.0, 3)[-1] == pytest.approx(start * 0.8**3, rel=1e-5)
    with pytest.raises(ValueError, match="optimizer"):
        penalty_only_norms("rmsprop", 0.1, 1.0, 3)
    with pytest.raises(ValueError, match="lr"):
        penalty_only_norms("sgd", 0.1, 0.0, 3)


def test_full_batches_drops_the_remainder_only(data) -> None:
    train, _ = data
    kept = full_batches(train, 32, seed=1)
    assert len(kept) == len(train) // 32 * 32 and len(train) % 32 != 0
    assert set(kept.frame["row"]) <= set(train.frame["row"])
    assert kept.frame["row"].tolist() == full_batches(train, 32, seed=1).frame["row"].tolist()
    assert kept.frame["row"].tolist() != full_batches(train, 32, seed=2).frame["row"].tolist()
    assert len(full_batches(train, 1)) == len(train)
    with pytest.raises(ValueError, match="batch_size"):
        full_batches(train, len(train) + 1)


def test_frequency_buckets_and_their_norms() -> None:
    counts = torch.tensor([0.0, 1.0, 5.0, 6.0, 50.0, 51.0, 400.0])
    buckets = frequency_buckets(counts, (1, 6, 51))
    assert list(buckets) == ["n=1-5", "n=6-50", "n>=51"]
    assert buckets["n=1-5"].tolist() == [False, True, True, False, False, False, False]
    assert buckets["n=6-50"].tolist() == [False, False, False, True, True, False, False]
    assert buckets["n>=51"].tolist() == [False, False, False, False, False, True, True]
    assert list(frequency_buckets(counts, (1, 2))) == ["n=1", "n>=2"]
    weight = torch.tensor([[9.0, 9.0], [3.0, 4.0], [0.0, 1.0], [1.0, 0.0], [0.0, 3.0], [6.0, 8.0], [0.0, 0.0]])
    norms = norms_by_frequency(weight, buckets)
    assert norms == pytest.approx({"n=1-5": 3.0, "n=6-50": 2.0, "n>=51": 5.0})
    assert math.isnan(norms_by_frequency(weight, frequency_buckets(counts, (1000,)))["n>=1000"])
    with pytest.raises(ValueError, match="edges"):
        frequency_buckets(counts, (6, 1))
    with pytest.raises(ValueError, match="edges"):
        frequency_buckets(counts, ())


def test_sgd_curves_measure_the_run_and_are_repeatable(data) -> None:
    train, test = data
    fit_part, valid = train.subset(torch.arange(0, 300)), train.subset(torch.arange(300, 500))
    test = test.subset(torch.arange(200))
    buckets = frequency_buckets(fit_part.item_counts(), (1, 20))

    def run(seed: int, probe: int | None = None, **options) -> tuple[pd.DataFrame, torch.nn.Module]:
        torch.manual_seed(0)
        model = create("din", train.vocab, **options)
        curves = sgd_curves(model, fit_part, valid, test, epochs=2, lr=0.5, batch_size=50, seed=seed,
                            buckets=buckets, train_probe=probe)
        return curves, model

    curves, model = run(0)
    assert list(curves.epoch) == [1, 2]
    for column in ("train_loss", "train_logloss", "valid_logloss", "valid_auc", "test_logloss", "test_auc",
                   "test_gauc", "seconds", "norm n=1-19", "norm n>=20"):
        assert column in curves and curves[column].notna().all(), column
    assert curves.train_logloss.iloc[-1] == pytest.approx(evaluate(model, fit_part)["logloss"])
    assert curves.test_auc.iloc[-1] == pytest.approx(evaluate(model, test)["auc"])
    timeless = curves.drop(columns="seconds")
    pd.testing.assert_frame_equal(timeless, run(0)[0].drop(columns="seconds"))
    assert not np.allclose(curves.train_loss, run(1)[0].train_loss)
    # A probe of the training samples changes what is measured, not what is trained.
    probed = run(0, probe=120)[0].drop(columns="seconds")
    pd.testing.assert_frame_equal(probed.drop(columns="train_logloss"), timeless.drop(columns="train_logloss"))
    assert not np.allclose(probed.train_logloss, timeless.train_logloss)
    pd.testing.assert_frame_equal(run(0, probe=10_000)[0].drop(columns="seconds"), timeless)
    # The same passes as fit's own SGD epochs with the documented seeds.
    torch.manual_seed(0)
    manual = create("din", train.vocab)
    for epoch in (1, 2):
        fit(manual, fit_part, epochs=1, batch_size=50, lr=0.5, optimizer="sgd", seed=epoch, progress=False)
    assert_close(manual.embed.item.weight, model.embed.item.weight)
    # The training log loss is the data term only: a strong penalty raises train_loss above it.
    regular, _ = run(0, regularization="mba", reg_lambda=0.9, item_counts=fit_part.item_counts())
    assert (regular.train_loss > regular.train_logloss).all()
    assert regular["norm n=1-19"].iloc[-1] < 0.5 * curves["norm n=1-19"].iloc[-1]
    with pytest.raises(ValueError, match="train_probe"):
        run(0, probe=0)


def curve_frame() -> pd.DataFrame:
    rows = []
    for group, shift in (("none", 0.0), ("MBA", 1.0)):
        for seed in (0, 1, 2):
            for epoch in (1, 2, 3):
                rows.append({"regularizer": group, "seed": seed, "epoch": epoch,
                             "train_logloss": shift + epoch + seed, "test_auc": shift - epoch * seed,
                             "norm n=1-5": 0.1 * epoch + shift, "norm n>=51": 0.2 * epoch + shift})
    return pd.DataFrame(rows)


def test_plot_regularization_curves_draws_seed_means_per_group() -> None:
    frame = curve_frame()
    fig = plot_regularization_curves(frame, metrics=("train_logloss", "test_auc"))
    assert len(fig.axes) == 3
    loss_ax, auc_ax, norm_ax = fig.axes
    assert loss_ax.get_title() == "training log loss" and auc_ax.get_title() == "test AUC"
    assert [ln.get_label() for ln in loss_ax.get_lines()] == ["none", "MBA"]
    assert_close(torch.as_tensor(loss_ax.get_lines()[0].get_ydata(), dtype=torch.float64),
                 torch.tensor([2.0, 3.0, 4.0], dtype=torch.float64))  # mean over seeds 0, 1, 2
    assert_close(torch.as_tensor(auc_ax.get_lines()[1].get_ydata(), dtype=torch.float64),
                 torch.tensor([0.0, -1.0, -2.0], dtype=torch.float64))
    assert len(norm_ax.get_lines()) == 4 and "n_j" in norm_ax.get_title()
    assert [t.get_text() for t in norm_ax.get_legend().get_texts()] == ["n=1-5", "n>=51"]
    assert [ln.get_linestyle() for ln in norm_ax.get_lines()] == ["-", "-", "--", "--"]
    assert all(ax.get_xlabel() == "epoch" for ax in fig.axes)
    plt.close(fig)
    five = plot_regularization_curves(frame, metrics=("train_logloss", "test_auc", "train_logloss", "test_auc"))
    assert len(five.axes) == 5  # two rows of three, the sixth slot removed
    plt.close(five)
    assert len(plot_regularization_curves(frame, metrics=("test_auc",), norms=()).axes) == 1
    with pytest.raises(ValueError, match="valid_auc"):
        plot_regularization_curves(frame, metrics=("valid_auc",))
    with pytest.raises(ValueError, match="nothing to plot"):
        plot_regularization_curves(frame, metrics=(), norms=())


def test_plot_penalty_only_draws_one_line_per_optimiser_and_lambda() -> None:
    fig = plot_penalty_only({"SGD": {0.1: np.array([1.0, 0.5, 0.25]), 0.01: np.array([1.0, 0.9, 0.8])},
                             "Adam": {0.1: np.array([1.0, 0.7, 0.4])}})
    (ax,) = fig.axes
    assert [ln.get_label() for ln in ax.get_lines()] == ["SGD, λ = 0.1", "SGD, λ = 0.01", "Adam, λ = 0.1"]
    assert [ln.get_linestyle() for ln in ax.get_lines()] == ["-", "--", "-"]
    assert ax.get_lines()[0].get_color() == ax.get_lines()[1].get_color() != ax.get_lines()[2].get_color()
    assert ax.get_xlabel() == "step" and ax.get_ylim()[0] == 0.0
    assert list(ax.get_lines()[0].get_ydata()) == [1.0, 0.5, 0.25]
    plt.close(fig)
    with pytest.raises(ValueError, match="empty"):
        plot_penalty_only({})


def test_regularization_benchmark_tiny_end_to_end(tmp_path) -> None:
    import subprocess
    import sys
    from pathlib import Path

    from seqlib.records import load_record

    root = Path(__file__).resolve().parents[1]
    command = [sys.executable, str(root / "benchmarks" / "regularization.py"), "--tiny", "--out", str(tmp_path), "--jobs", "1"]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    runs, meta = load_record("din-regularization-tiny", tmp_path)
    assert sorted(runs["model"]) == ["mini-batch aware L2", "none", "plain L2"]
    assert meta["settings"]["optimizer"] == "sgd" and "--tiny" in meta["command"]
    for run in runs.to_dict("records"):
        curve = pd.DataFrame(run["curve"])
        assert list(curve["epoch"]) == [1, 2]
        best = curve.loc[curve["valid_auc"].idxmax()]
        assert run["auc"] == best["test_auc"] and run["epochs"] == best["epoch"]  # read at the best validation epoch
    plain = runs.set_index("model").loc["plain L2", "options"]
    assert plain["regularization"] == "l2" and plain["reg_lambda"] < meta["settings"]["lam"]  # matched: lambda / n_batches
    bad = subprocess.run([sys.executable, str(root / "benchmarks" / "regularization.py"), "--tiny"], cwd=root,
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "--out" in bad.stderr
