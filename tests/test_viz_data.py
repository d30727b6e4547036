"""Chapter 1 plots and exercise checkers, headless: figures show exactly the data they are given."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch

from seqlib.data.batch import length_mask
from seqlib.data.samples import build_samples
from seqlib.data.synthetic import make_synthetic
from seqlib.exercises.basics import (
    check_length_mask,
    check_sum_pooling,
    length_mask_cases,
    sum_pooling_cases,
)
from seqlib.nn.layers import masked_sum
from seqlib.viz.data import (
    format_log_summary,
    event_gaps,
    history_lengths,
    log_summary,
    padding_frames,
    padding_stats,
    plot_history,
    plot_padding,
    plot_sequence_stats,
    truncate_history,
)
from seqlib.viz.viewer import figure_to_png


@pytest.fixture(autouse=True)
def close_figures() -> None:
    yield
    plt.close("all")


def tiny_log() -> pd.DataFrame:
    """User 1: three events (gaps 10 s and 3990 s); user 2: one event; user 3: two at the same second."""
    return pd.DataFrame({
        "user_id": [1, 1, 1, 2, 3, 3],
        "item_id": [10, 11, 12, 10, 13, 14],
        "cate_id": [1, 2, 1, 1, 3, 3],
        "timestamp": [0, 10, 4000, 50, 70, 70],
        "label": [1, 0, 1, 0, 1, 1],
    })


@pytest.fixture(scope="module")
def synthetic_samples() -> tuple[pd.DataFrame, object]:
    data = make_synthetic(n_users=60, seed=1)
    train, _ = build_samples(data.log, max_len=12, history="positive")
    return data.log, train


# ---------------------------------------------------------------- log statistics
def test_lengths_gaps_and_summary_by_hand() -> None:
    log = tiny_log().sample(frac=1.0, random_state=0)  # any row order
    assert history_lengths(log).tolist() == [3, 1, 2]
    assert sorted(event_gaps(log).tolist()) == [0, 10, 3990]
    summary = log_summary({"tiny": log})
    row = summary.loc["tiny"]
    assert (row["users"], row["events"], row["items"], row["categories"]) == (3, 6, 5, 3)
    assert row["median events per user"] == 2.0 and row["max events per user"] == 3
    assert row["zero gaps"] == pytest.approx(1 / 3) and row["gaps <= 1800s"] == pytest.approx(2 / 3)
    assert row["positive rate"] == pytest.approx(4 / 6)


def test_sequence_stats_steps_equal_the_data() -> None:
    log = tiny_log()
    fig = plot_sequence_stats({"a": log, "b": log[log.user_id != 3]}, bins=8)
    ax_len, ax_gap = fig.axes
    values, edges, _ = ax_len.patches[0].get_data()
    assert len(ax_len.patches) == 2 and len(ax_gap.patches) == 2
    np.testing.assert_allclose(values, np.histogram([3, 1, 2], edges)[0] / 3)
    assert values.sum() == pytest.approx(1.0)
    gap_values, gap_edges, _ = ax_gap.patches[0].get_data()
    np.testing.assert_allclose(gap_values, np.histogram([10, 3990], gap_edges)[0] / 3)  # 0-s gap off the log axis
    assert "33.3% at 0 s" in ax_gap.get_legend_handles_labels()[1][0]
    assert ax_gap.patches[1].get_data().values.sum() == pytest.approx(1.0)  # log "b" has no zero gap


def test_stats_bad_input() -> None:
    with pytest.raises(ValueError, match="at least one log"):
        plot_sequence_stats({})
    with pytest.raises(ValueError, match="missing the column"):
        plot_sequence_stats({"x": tiny_log().drop(columns="timestamp")})
    with pytest.raises(ValueError, match="empty"):
        log_summary({"x": tiny_log().iloc[:0]})
    with pytest.raises(ValueError, match="bins"):
        plot_sequence_stats({"x": tiny_log()}, bins=0)


# ---------------------------------------------------------------- one user's timeline
def test_history_has_one_point_per_event() -> None:
    log = tiny_log().assign(topic=[0, 1, 0, 0, 1, 1])
    fig = plot_history(log, 1, color_by="topic")
    ax = fig.axes[0]
    points = np.concatenate([c.get_offsets() for c in ax.collections])
    assert len(points) == 3
    np.testing.assert_allclose(sorted(points[:, 0]), np.array([0, 10, 4000]) / 86400)
    assert len(ax.collections) == 2  # click and no-click markers
    session_lines = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert len(session_lines) == 1  # the 3990 s gap exceeds 30 minutes
    assert len(np.concatenate([c.get_offsets() for c in plot_history(log, 1, max_events=2).axes[0].collections])) == 2


def test_history_markers_follow_behaviour_type() -> None:
    log = tiny_log().drop(columns="label").assign(behavior=["pv", "buy", "pv", "pv", "cart", "pv"])
    ax = plot_history(log, 1, gap=None).axes[0]
    sizes = sorted(len(c.get_offsets()) for c in ax.collections)
    assert sizes == [1, 2] and not ax.lines


def test_history_bad_input() -> None:
    with pytest.raises(ValueError, match="no events"):
        plot_history(tiny_log(), 99)
    with pytest.raises(ValueError, match="column 'topic'"):
        plot_history(tiny_log(), 1, color_by="topic")
    with pytest.raises(ValueError, match="max_events"):
        plot_history(tiny_log(), 1, max_events=0)


# ---------------------------------------------------------------- padding
def test_truncate_history_equals_building_with_a_smaller_max_len(synthetic_samples: tuple) -> None:
    log, train = synthetic_samples
    small, _ = build_samples(log, max_len=5, history="positive")
    cut = truncate_history(train.full(), 5)
    expected = small.full()
    for name in ("hist_item", "hist_cate", "hist_time", "neg_item", "neg_cate", "hist_len"):
        torch.testing.assert_close(getattr(cut, name), getattr(expected, name), msg=name)
    assert torch.equal(cut.item, expected.item)


def test_padding_stats_by_hand() -> None:
    padding, kept = padding_stats(torch.tensor([0, 2, 6]), 4)  # cells 0 + 2 + 4 of 12; 6 of 8 behaviours
    assert padding == pytest.approx(1 - 6 / 12) and kept == pytest.approx(6 / 8)
    assert padding_stats(torch.tensor([0, 0]), 3) == (1.0, 1.0)
    with pytest.raises(ValueError, match="max_len"):
        padding_stats(torch.tensor([1]), 0)


def test_padding_plot_masks_exactly_the_padding(synthetic_samples: tuple) -> None:
    _, train = synthetic_samples
    batch = train.full()
    rows = [0, 1, 2, 3]
    fig = plot_padding(batch, 7, rows=rows)
    image = fig.axes[0].images[0].get_array()
    assert image.shape == (4, 7)
    lengths = batch.hist_len[rows].clamp(max=7)
    np.testing.assert_array_equal(np.ma.getmaskarray(image), length_mask(lengths, 7).numpy() == 0)
    curves = fig.axes[1].lines
    assert len(curves[0].get_xdata()) == batch.hist_item.shape[1]
    np.testing.assert_allclose(curves[0].get_ydata()[6], padding_stats(batch.hist_len, 7)[0])


def test_padding_frames_change_with_max_len(synthetic_samples: tuple) -> None:
    _, train = synthetic_samples
    frames, labels = padding_frames(train.full(), [2, 6, 12], n_rows=5)
    assert labels == ["2", "6", "12"]
    pngs = [figure_to_png(f) for f in frames]
    assert len(set(pngs)) == 3
    assert [f.axes[0].images[0].get_array().shape for f in frames] == [(5, 2), (5, 6), (5, 12)]


def test_padding_bad_input(synthetic_samples: tuple) -> None:
    _, train = synthetic_samples
    batch = train.full()
    with pytest.raises(ValueError, match="max_len must be between 1 and"):
        plot_padding(batch, 13)
    with pytest.raises(ValueError, match="max_len must be between 1 and"):
        truncate_history(batch, 0)
    with pytest.raises(ValueError, match="rows"):
        plot_padding(batch, 3, rows=[len(batch)])
    with pytest.raises(ValueError, match="at least one"):
        padding_frames(batch, [])


def test_padding_widget_redraws_with_the_slider(synthetic_samples: tuple) -> None:
    from seqlib.widgets.data import padding_widget

    _, train = synthetic_samples
    widget = padding_widget(train.full(), max_len=4, n_rows=5)
    slider, out = widget.children
    assert (slider.min, slider.max, slider.value) == (1, 12, 4)
    first = out.outputs
    slider.value = 9  # redraws the figure for the new length
    assert len(out.outputs) == 1 and out.outputs != first
    with pytest.raises(ValueError, match="max_len must be between 1 and"):
        padding_widget(train.full(), max_len=13)


# ---------------------------------------------------------------- exercise checks and checkers
@pytest.mark.parametrize(("name", "case"), length_mask_cases())
def test_seqlib_length_mask_passes_the_exercise_checks(name: str, case: object) -> None:
    case(length_mask)


@pytest.mark.parametrize(("name", "case"), sum_pooling_cases())
def test_seqlib_masked_sum_passes_the_exercise_checks(name: str, case: object) -> None:
    case(masked_sum)


def test_checkers_accept_seqlib_and_reject_wrong_versions(capsys: pytest.CaptureFixture[str]) -> None:
    assert check_length_mask(length_mask, verbose=False)
    assert check_sum_pooling(masked_sum, verbose=False)

    def off_by_one(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
        return (torch.arange(max_len) <= lengths.unsqueeze(-1)).float()

    def left_padded(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
        return (torch.arange(max_len) >= max_len - lengths.unsqueeze(-1)).float()

    def boolean(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
        return torch.arange(max_len) < lengths.unsqueeze(-1)

    def unmasked(hist: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return hist.sum(dim=1)

    def mean(hist: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return (hist * mask.unsqueeze(-1)).sum(1) / mask.sum(1, keepdim=True)

    for wrong in (off_by_one, left_padded, boolean):
        assert not check_length_mask(wrong, verbose=False), wrong.__name__
    for wrong in (unmasked, mean):
        assert not check_sum_pooling(wrong, verbose=False), wrong.__name__
    check_sum_pooling(unmasked)
    assert "✗ check 'hand-computed sum' failed" in capsys.readouterr().out


def test_format_log_summary_shows_counts_as_counts() -> None:
    summary = pd.DataFrame(
        {"users": [2000, 943], "median events per user": [47.0, 65.5], "positive rate": [0.42, float("nan")]},
        index=pd.Index(["synthetic", "taobao"], name="data set"),
    )
    table = format_log_summary(summary)
    assert list(table.columns) == ["synthetic", "taobao"]
    assert table.loc["users"].tolist() == ["2,000", "943"]
    assert table.loc["median events per user"].tolist() == ["47.000", "65.500"]
    assert table.loc["positive rate"].tolist() == ["0.420", "–"]


# The book's text column at a 1280 px wide window (688 px, measured in the built book) and the figure dpi
# of seqlib.nbsetup: a figure wider than the column is scaled down, and its text with it.
PAGE_COLUMN_PX = 688
BOOK_DPI = 80


def smallest_text_px(fig: plt.Figure) -> float:
    """The smallest text of a figure in CSS pixels as the book shows it (scaled to the column)."""
    scale = min(BOOK_DPI, PAGE_COLUMN_PX / fig.get_figwidth()) / 72.0
    sizes = [t.get_fontsize() for t in fig.findobj(matplotlib.text.Text) if t.get_visible() and t.get_text().strip()]
    return min(sizes) * scale


def test_sequence_stats_text_is_readable_in_the_book() -> None:
    syn = make_synthetic(n_users=40, seed=0)
    fig = plot_sequence_stats({"synthetic": syn.log, "copy": syn.log})
    fig.canvas.draw()
    try:
        assert smallest_text_px(fig) >= 9.5, f"smallest text {smallest_text_px(fig):.1f} px at {PAGE_COLUMN_PX} px"
    finally:
        plt.close(fig)


def test_plot_planted_effects_reads_the_rule_back() -> None:
    from seqlib.viz.data import plot_planted_effects

    syn = make_synthetic(n_users=200, seed=0)
    fig = plot_planted_effects(syn.truth, syn.log["label"])
    assert len(fig.axes) == 3
    bars = fig.axes[0].patches
    assert len(bars) >= 5 and bars[-1].get_height() > bars[0].get_height()  # more relevant clicks, more clicks
