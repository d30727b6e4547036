"""Chapter 4 plots, headless: break lines equal the gaps above the threshold, stats match counts."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch

from seqlib.data.sessions import boundary_curve
from seqlib.viz.dsin import (
    BREAK_GID,
    GAPS,
    format_gap,
    plot_boundary_curve,
    plot_session_attention,
    plot_session_stats,
    plot_sessions,
    session_frames,
    session_stats,
    user_timeline,
)
from seqlib.viz.viewer import frame_viewer

TIMES = np.array([0, 30, 100, 1900, 3700, 3701, 20000, 20060])  # gaps 30, 70, 1800, 1800, 1, 16299, 60
CATES = np.array([1, 1, 2, 2, 3, 3, 1, 4])


def break_lines(fig: plt.Figure) -> int:
    return sum(line.get_gid() == BREAK_GID for line in fig.axes[0].lines)


@pytest.mark.parametrize("gap", [20, 60, 1799, 1800, 1801, 21600])
def test_break_lines_equal_gaps_above_threshold(gap: float) -> None:
    fig = plot_sessions(TIMES, CATES, gap)
    expected = int((np.diff(TIMES) > gap).sum())
    assert break_lines(fig) == expected
    assert f"{expected + 1} sessions" in fig.axes[0].get_title()
    threshold = [line for line in fig.axes[1].lines if line.get_xdata()[0] == gap]
    assert len(threshold) == 1 and fig.axes[1].get_xscale() == "log"
    plt.close(fig)


def test_timeline_colours_follow_categories() -> None:
    fig = plot_sessions(TIMES, CATES, 1800)
    colours = fig.axes[0].collections[0].get_facecolors()
    assert len(colours) == len(TIMES)
    assert np.allclose(colours[0], colours[1]) and not np.allclose(colours[0], colours[2])
    plt.close(fig)


def test_plot_sessions_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="one category per timestamp"):
        plot_sessions(TIMES, CATES[:3])
    with pytest.raises(ValueError, match="gap must be > 0"):
        plot_sessions(TIMES, CATES, 0)


def test_session_frames_cover_every_timeline_and_gap() -> None:
    open_before = len(plt.get_fignums())
    frames, labels = session_frames({"a": (TIMES, CATES), "b": (TIMES[:4], CATES[:4])}, gaps=GAPS)
    assert len(frames) == len(labels) == 2 * len(GAPS) and len(plt.get_fignums()) == open_before
    assert all(frame.startswith(b"\x89PNG") for frame in frames) and len(set(frames[: len(GAPS)])) > 1
    assert labels[GAPS.index(1800)] == "a, 30 min" and format_gap(21600) == "6 h"
    viewer = frame_viewer(frames, labels, title="sessions", param_name="gap", initial=GAPS.index(1800))
    assert viewer.data.count("data:image/png;base64,") >= 2 * len(GAPS)


def test_user_timeline_and_session_stats() -> None:
    log = pd.DataFrame({"user_id": [2, 1, 1, 1, 2], "cate_id": [5, 1, 2, 3, 6],
                        "timestamp": [10, 4000, 0, 100, 0]})
    ts, cats = user_timeline(log, 1)
    assert ts.tolist() == [0, 100, 4000] and cats.tolist() == [2, 3, 1]
    with pytest.raises(ValueError, match="no behaviours"):
        user_timeline(log, 7)
    stats = session_stats(log, gap=1800)
    assert sorted(stats["gaps"].tolist()) == [10, 100, 3900]
    assert stats["sessions_per_user"].tolist() == [2, 1]  # user 1: {0, 100}, {4000}; user 2: {0, 10}
    assert stats["session_sizes"].tolist() == [2, 1, 2]
    fig = plot_session_stats({"toy": log, "toy2": log})
    assert len(fig.axes) == 3 and fig.axes[0].get_xscale() == "log"
    assert any(line.get_xdata()[0] == 1800 for line in fig.axes[0].lines)
    plt.close(fig)


def test_boundary_curve_plot_draws_its_numbers() -> None:
    curve = boundary_curve(TIMES, np.array([0, 0, 0, 0, 1, 1, 2, 2]), gaps=[60, 1800, 21600])
    fig = plot_boundary_curve(curve)
    precision = fig.axes[0].lines[0].get_ydata()
    np.testing.assert_allclose(precision, curve["precision"])
    plt.close(fig)


def test_session_attention_bars_match_weights() -> None:
    attention = {"n_sess": torch.tensor([2, 0]), "sess_len": torch.tensor([[3, 1, 0], [0, 0, 0]]),
                 "a_I": torch.tensor([[0.25, 0.75, 0.0], [0.0, 0.0, 0.0]]),
                 "a_H": torch.tensor([[0.6, 0.4, 0.0], [0.0, 0.0, 0.0]])}
    fig = plot_session_attention(attention, index=0)
    heights = [round(p.get_height(), 4) for p in fig.axes[0].patches]
    assert heights == [0.25, 0.75, 0.6, 0.4]
    plt.close(fig)
    with pytest.raises(ValueError, match="no sessions"):
        plot_session_attention(attention, index=1)


def test_widget_slider_and_menu_redraw() -> None:
    from seqlib.widgets.dsin import session_widget

    widget = session_widget({"a": (TIMES, CATES), "b": (TIMES[:3], CATES[:3])})
    menu, slider, label = widget.children[0].children
    assert label.value == "30 min" and slider.value == 1800
    assert round(10**slider.min) == 60 and round(10**slider.max) == 21600  # 1 minute to 6 hours, log scale
    slider.value = 3600
    assert label.value == "1 h"
    menu.value = "b"
    assert len(plt.get_fignums()) == 0  # every redraw closes its figure


@pytest.mark.parametrize("gap", GAPS)
def test_session_legend_covers_no_bar(gap: float) -> None:
    rng = np.random.default_rng(0)
    # Inner and outer gaps, most of them long: the tallest bar sits at the right edge.
    times = np.cumsum(rng.choice([30, 90, 4 * 3600, 30 * 3600], size=120, p=[0.1, 0.1, 0.1, 0.7]))
    fig = plot_sessions(times, rng.integers(0, 5, size=120), gap)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    hist = fig.axes[1]
    legend = hist.get_legend().get_window_extent(renderer)
    bars = [patch.get_window_extent(renderer) for patch in hist.patches if patch.get_height() > 0]
    assert bars, "the histogram has bars"
    covered = [bar for bar in bars if bar.overlaps(legend)]
    plt.close(fig)
    assert not covered, f"at {format_gap(gap)} the legend covers {len(covered)} bars"
