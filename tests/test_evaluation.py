"""compare_models, load_samples and the command line."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from seqlib.__main__ import main
from seqlib.data import build_samples, make_synthetic
from seqlib.evaluation import compare_models, load_samples, shrink_test
from seqlib.train import evaluate


@pytest.fixture(scope="module")
def small() -> tuple:
    return build_samples(make_synthetic(n_users=200, seed=0).log, history="positive")


def test_compare_models_table_and_valid_users(small: tuple) -> None:
    train, test = small
    results, table = compare_models(["base"], data=small, seeds=(0, 1), epochs=1)
    assert list(results.columns[:6]) == ["model", "auc", "auc_std", "gauc", "gauc_std", "valid_users"]
    assert 0.0 < results.auc.iloc[0] < 1.0 and results.auc_std.iloc[0] > 0
    both = test.frame.groupby("user_id")["label"].nunique()
    assert results.valid_users.iloc[0] == int((both == 2).sum())
    assert "±" in table and "valid_users" in table.splitlines()[0]
    assert len(results.attrs["runs"]) == 2


def test_compare_models_is_deterministic(small: tuple) -> None:
    a, _ = compare_models(["base"], data=small, epochs=1)
    b, _ = compare_models(["base"], data=small, epochs=1)
    assert a.auc.iloc[0] == b.auc.iloc[0]


def test_compare_models_rejects_unknown_names(small: tuple) -> None:
    with pytest.raises(ValueError, match="known models: .*base"):
        compare_models(["base", "transformer"], data=small)
    with pytest.raises(ValueError, match="known data sets"):
        load_samples("criteo")


def test_compare_models_refuses_repeated_names_and_seeds(small: tuple) -> None:
    with pytest.raises(ValueError, match="repeated model name\\(s\\) \\['base'\\]"):
        compare_models(["base", "base"], data=small)
    with pytest.raises(ValueError, match="repeated seed\\(s\\) \\['1'\\]"):
        compare_models(["base"], data=small, seeds=(1, 1))


def test_compare_models_trains_to_convergence_by_default(small: tuple) -> None:
    results, table = compare_models(["base"], data=small, max_epochs=5, patience=1)
    runs = results.attrs["runs"]
    assert runs.epochs.iloc[0] >= 1 and runs.epochs_run.iloc[0] >= runs.epochs.iloc[0]
    assert table.splitlines()[0].split()[-1] == "epochs"


def test_labelled_variants_and_worker_processes_give_the_same_runs(small: tuple) -> None:
    variants = {"sum": "base", "mean": ("base", {"pooling": "mean"})}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # what each worker process uses
    try:
        here, _ = compare_models(variants, data=small, seeds=(0, 1), epochs=1, progress=False)
    finally:
        torch.set_num_threads(threads)
    there, table = compare_models(variants, data=small, seeds=(0, 1), epochs=1, progress=False, workers=2,
                                  keep_models=True)
    assert list(there.model) == ["sum", "mean"] and "mean" in table
    cols = ["model", "seed", "auc", "gauc", "epochs"]
    pd.testing.assert_frame_equal(here.attrs["runs"][cols], there.attrs["runs"][cols])
    assert here.auc.iloc[0] != here.auc.iloc[1]  # the options reached the model
    model = there.attrs["models"][("mean", 1)]  # the trained model came back from its worker
    assert model.pooling == "mean" and not model.training
    assert evaluate(model, small[1])["auc"] == there.attrs["runs"].set_index(["model", "seed"]).auc[("mean", 1)]


def test_shrink_test_keeps_earliest_rows(small: tuple) -> None:
    _, test = small
    head = shrink_test(test, 100)
    assert len(head) == 100
    assert head.frame.timestamp.max() <= np.sort(test.frame.timestamp.to_numpy())[99]


def test_cli_prints_the_table(capsys: pytest.CaptureFixture) -> None:
    assert main(["compare", "base", "--epochs", "1"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["model", "auc", "gauc", "valid_users", "epochs"]


def test_cli_rejects_unknown_names(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        main(["compare", "nope"])
    assert "known models" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["compare", "base", "--dataset", "imdb"])
    assert "known data sets" in capsys.readouterr().err


def _fake_results() -> pd.DataFrame:
    from seqlib.evaluation import summarize

    runs = pd.DataFrame({
        "model": ["base", "base", "din", "din"], "seed": [0, 1, 0, 1], "auc": [0.70, 0.72, 0.75, 0.80],
        "gauc": [0.6, 0.6, 0.7, 0.7], "valid_users": [10] * 4, "epochs": [3, 4, 5, 6], "seconds": [1.0] * 4,
    })
    return summarize(runs)


def test_lift_table_by_hand() -> None:
    from seqlib.evaluation import lift_table

    table = lift_table(_fake_results(), oracle_auc=0.9)
    assert table.loc["din", "margin_min"] == pytest.approx(0.05)  # seed 0: 0.75 - 0.70
    assert table.loc["din", "margin_max"] == pytest.approx(0.08)  # seed 1: 0.80 - 0.72
    assert table.loc["base", "margin_min"] == 0.0
    assert table.loc["din", "lift"] == pytest.approx(((0.25 / 0.4) + (0.30 / 0.4)) / 2)
    with pytest.raises(ValueError, match="base model 'dien' is not among"):
        lift_table(_fake_results(), base="dien")
    with pytest.raises(ValueError, match="oracle_auc must be above 0.5"):
        lift_table(_fake_results(), oracle_auc=0.5)
    # Tables of several data sets stack (pandas cannot compare the run frames in attrs).
    both = pd.concat({"a": lift_table(_fake_results()), "b": lift_table(_fake_results())}, names=["data set"])
    assert both.shape[0] == 4 and not both.attrs


def test_format_lifts_reads_as_the_table_says() -> None:
    from seqlib.evaluation import format_lifts, lift_table, summarize

    shown = format_lifts(lift_table(_fake_results(), oracle_auc=0.9))
    assert list(shown.columns) == ["auc", "gauc", "epochs", "margin", "lift"]
    assert shown.loc["din", "auc"] == "0.7750 ± 0.0354"  # mean and std of 0.75, 0.80
    assert shown.loc["din", "margin"] == "+0.050 to +0.080"
    assert shown.loc["base", "margin"] == "+0.000"
    assert shown.loc["din", "lift"] == "69% ± 9%"  # 0.625 and 0.75 of the oracle's lift
    assert shown.loc["din", "epochs"] == "5.5"
    # A single seed has no spread to show; stacked tables keep their index.
    one = summarize(_fake_results().attrs["runs"].query("seed == 0").reset_index(drop=True))
    single = format_lifts(pd.concat({"a": lift_table(one, base=None)}, names=["data set"]))
    assert list(single.columns) == ["auc", "gauc", "epochs"]
    assert single.loc[("a", "din"), "auc"] == "0.7500"
    with pytest.raises(ValueError, match="lacks the columns"):
        format_lifts(_fake_results().drop(columns="runs"))
    with pytest.raises(TypeError, match="table must be a pandas DataFrame"):
        format_lifts([0.7, 0.8])


def test_plot_runs_draws_every_seed_and_the_lines() -> None:
    from seqlib.viz.compare import plot_runs

    fig = plot_runs(_fake_results(), oracle=0.9)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["base", "din"]
    from matplotlib.collections import PathCollection

    dots = sum(len(c.get_offsets()) for c in ax.collections if isinstance(c, PathCollection))
    assert dots == 4  # two seeds per model
    assert {line.get_xdata()[0] for line in ax.lines if line.get_linestyle() in ("--", ":")} >= {0.9, 0.71}


def test_relative_cost_orders_the_models_slowest_first() -> None:
    """compare_models and benchmarks/quality.py start runs in this order: DIEN's time loop is the
    long pole, the base model the shortest; a class that sets nothing counts as the base model."""
    from seqlib.models.registry import relative_cost

    assert sorted(["base", "din", "dien", "dsin"], key=lambda name: -relative_cost(name)) == ["dien", "dsin", "din", "base"]
    assert relative_cost("base") == 1.0 and relative_cost("DIEN") == relative_cost("dien")
