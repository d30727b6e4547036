"""Comparison-chapter plots, headless: bars equal the numbers they show."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd
import pytest

from seqlib.viz.compare import plot_comparison, plot_slice_effect, plot_train_time


def results() -> dict[str, pd.DataFrame]:
    frame = pd.DataFrame(
        {"model": ["base", "din"], "auc": [0.70, 0.78], "auc_std": [0.01, 0.02], "gauc": [0.6, 0.65],
         "gauc_std": [0.0, 0.01], "valid_users": [10, 10], "seconds": [1.0, 3.0], "runs": [3, 3]}
    )
    other = frame.assign(auc=[0.72, 0.73])
    # as compare_models returns them: per-seed runs in attrs, different per data set
    frame.attrs["runs"] = pd.DataFrame({"model": ["base"] * 3, "seed": [0, 1, 2]})
    other.attrs["runs"] = pd.DataFrame({"model": ["base"] * 2, "seed": [0, 1]})
    return {"synthetic": frame, "ml-1m": other}


def test_comparison_bars_equal_means() -> None:
    fig = plot_comparison(results(), "auc")
    heights = sorted(round(p.get_height(), 4) for p in fig.axes[0].patches)
    assert heights == [0.70, 0.72, 0.73, 0.78]


def test_comparison_rejects_bad_metric() -> None:
    with pytest.raises(ValueError, match="metric"):
        plot_comparison(results(), "logloss")
    with pytest.raises(ValueError, match="no results"):
        plot_comparison({}, "auc")


def test_train_time_and_slice_plots() -> None:
    fig = plot_train_time(results())
    widths = sorted(round(p.get_width(), 4) for p in fig.axes[0].patches)
    assert widths == [1.0, 1.0, 3.0, 3.0]
    frame = pd.DataFrame({"rows": [100, 100, 1000], "valid_users": [3, 4, 30], "auc": [0.4, 0.6, 0.7],
                          "gauc": [0.5, 0.55, 0.66]})
    fig = plot_slice_effect(frame)
    assert len(fig.axes) == 2
