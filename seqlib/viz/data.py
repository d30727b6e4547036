"""Plots of the data sets, of one user's timeline and of padding (book chapter 1).

* :func:`log_summary` and :func:`plot_sequence_stats` — how long the users' histories are and how
  far apart their events lie, for several logs side by side;
* :func:`plot_history` — one user's behaviours on a time axis (row = category, colour = any
  column such as the planted topic, marker = click / no click or the behaviour type);
* :func:`truncate_history`, :func:`padding_stats`, :func:`plot_padding` and
  :func:`padding_frames` — what a history length ``max_len`` keeps, cuts and pads (the
  kernel-free viewer of chapter 1 flips through its frames).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from seqlib.data.batch import Batch, length_mask
from seqlib.data.sessions import session_breaks
from seqlib.data.validate import seconds_array, validate_log

DAY = 86400.0
# Marker and legend text per value of the marker column; other columns cycle through _MARKERS.
_NAMED_MARKERS = {
    "label": {1: ("o", "click"), 0: ("x", "no click")},
    "behavior": {"pv": (".", "page view"), "cart": ("s", "cart"), "fav": ("^", "favourite"), "buy": ("*", "buy")},
}
_MARKERS = ("o", "s", "^", "D", "v", "*", "P", "X")
_HISTORY_FIELDS = ("hist_item", "hist_cate", "hist_time", "neg_item", "neg_cate")


# ---------------------------------------------------------------- statistics of a log
def history_lengths(log: pd.DataFrame) -> np.ndarray:
    """Number of events of each user.

    Args:
        log: an interaction log (``user_id, item_id, cate_id, timestamp``).

    Returns:
        One count per user, in ``user_id`` order.  # [U]
    """
    validate_log(log)
    return log.groupby("user_id", sort=True).size().to_numpy()


def event_gaps(log: pd.DataFrame) -> np.ndarray:
    """Seconds between each event and the same user's previous event.

    Args:
        log: an interaction log (any row order; it is sorted by user and time here).

    Returns:
        One gap per event that has an earlier event of its user (``N - U`` values, >= 0).  # [N - U]
    """
    validate_log(log)
    user = log["user_id"].to_numpy()
    ts = seconds_array(log["timestamp"])  # fractional seconds kept
    order = np.lexsort((ts, user))
    user, ts = user[order], ts[order]
    same_user = user[1:] == user[:-1]  # [N - 1]
    return np.diff(ts)[same_user]


def log_summary(logs: Mapping[str, pd.DataFrame], gap: float = 1800) -> pd.DataFrame:
    """A few numbers per log: size, history lengths, gaps and the positive rate.

    Args:
        logs: data set name -> interaction log.
        gap: the session threshold in seconds whose share of gaps is reported.

    Returns:
        One row per data set: ``users, events, items, categories, median events per user,
        max events per user, zero gaps`` (share of gaps of 0 s), ``gaps <= {gap}s`` (share within
        a session by the gap rule) and ``positive rate`` (mean ``label``; NaN without labels).
    """
    if not logs:
        raise ValueError("log_summary needs at least one log, got none")
    rows = []
    for name, log in logs.items():
        validate_log(log, name=f"log {name!r}")
        lengths, gaps = history_lengths(log), event_gaps(log)
        rows.append({
            "data set": name,
            "users": len(lengths),
            "events": len(log),
            "items": log["item_id"].nunique(),
            "categories": log["cate_id"].nunique(),
            "median events per user": float(np.median(lengths)),
            "max events per user": int(lengths.max()),
            "zero gaps": float((gaps == 0).mean()) if gaps.size else float("nan"),
            f"gaps <= {gap:g}s": float((gaps <= gap).mean()) if gaps.size else float("nan"),
            "positive rate": float(log["label"].mean()) if "label" in log.columns else float("nan"),
        })
    return pd.DataFrame(rows).set_index("data set")


def format_log_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """:func:`log_summary` as a table to read: one column per data set, counts as counts.

    Transposing the summary for display would make every column float, so counts would show as
    ``2000.000``. Here a measure whose values are all whole numbers (users, events, ...) gets
    thousands separators, any other measure (shares, rates) three decimals, and a missing value
    (the positive rate of a log without labels) a dash.

    Args:
        summary: the result of :func:`log_summary` (one row per data set).

    Returns:
        Strings, one row per measure and one column per data set.
    """
    def measure(row: pd.Series) -> pd.Series:
        values = row.dropna().astype(float)
        whole = bool((values == values.round()).all())
        text = row.map(lambda v: f"{float(v):,.0f}" if whole else f"{float(v):.3f}")
        return text.where(row.notna(), "–")

    return summary.T.apply(measure, axis=1)


def plot_sequence_stats(
    logs: Mapping[str, pd.DataFrame], bins: int = 30, gap: float = 1800, title: str | None = None
) -> Figure:
    """History-length and inter-event-gap distributions of several logs, on log axes.

    Both panels draw one step histogram per log over shared logarithmic bins. The heights are
    shares: of the users (left) and of all gaps (right). Gaps of 0 s (events at the same second,
    e.g. MovieLens ratings saved together) cannot sit on a log axis; their share is given in the
    legend, so a log's right-hand steps sum to one minus that share.

    Args:
        logs: data set name -> interaction log.
        bins: number of logarithmic bins per panel.
        gap: a session threshold in seconds, drawn as a vertical line on the gap panel.
        title: figure title.

    Returns:
        A figure with two axes; each holds one ``StepPatch`` per log (none on the gap panel for
        a log without two events of one user).
    """
    if not logs:
        raise ValueError("plot_sequence_stats needs at least one log, got none")
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    if not gap > 0:
        raise ValueError(f"gap must be > 0 seconds, got {gap}")
    for name, log in logs.items():
        validate_log(log, name=f"log {name!r}")
    lengths = {name: history_lengths(log) for name, log in logs.items()}
    gaps = {name: event_gaps(log) for name, log in logs.items()}
    longest = max(int(x.max()) for x in lengths.values())
    widest = max([int(g.max()) for g in gaps.values() if g.size] + [2])
    length_edges = np.geomspace(1, longest + 1, bins + 1)
    gap_edges = np.geomspace(1, widest + 1, bins + 1)

    fig, (ax_len, ax_gap) = plt.subplots(1, 2, figsize=(9, 4))
    for i, name in enumerate(logs):
        color = f"C{i}"
        counts, _ = np.histogram(lengths[name], length_edges)
        ax_len.stairs(counts / len(lengths[name]), length_edges, color=color, lw=1.8,
                      label=f"{name} (median {np.median(lengths[name]):.0f})")
        g = gaps[name]
        if g.size:
            counts, _ = np.histogram(g[g > 0], gap_edges)
            zero = float((g == 0).mean())
            extra = f", {zero:.1%} at 0 s" if zero > 0 else ""
            ax_gap.stairs(counts / g.size, gap_edges, color=color, lw=1.8, label=f"{name}{extra}")
    ax_len.set(xscale="log", xlabel="events per user (log scale)", ylabel="share of users",
               title="History length")
    ax_len.legend(fontsize=9)
    for seconds, text in ((60, "1 min"), (DAY, "1 day")):
        ax_gap.axvline(seconds, color="gray", lw=0.8, ls=":")
        ax_gap.text(seconds, 0.98, f" {text}", transform=ax_gap.get_xaxis_transform(), ha="left", va="top",
                    fontsize=9, color="gray")
    ax_gap.axvline(gap, color="black", lw=1.0, ls="--", label=f"session gap ({gap / 60:g} min)")
    ax_gap.set(xscale="log", xlabel="seconds since the user's previous event (log scale)",
               ylabel="share of gaps", title="Gap between consecutive events")
    ax_gap.legend(fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------- one user's timeline
def _markers_for(column: str | None, values: Sequence[object]) -> dict[object, tuple[str, str]]:
    """Marker and legend text for each value of the marker column."""
    named = _NAMED_MARKERS.get(column or "", {})
    out = {}
    for i, value in enumerate(values):
        key = value.item() if isinstance(value, np.generic) else value
        out[value] = named.get(key, (_MARKERS[i % len(_MARKERS)], f"{column} = {value}"))
    return out


def plot_history(
    log: pd.DataFrame,
    user_id: object,
    color_by: str = "cate_id",
    marker_by: str | None = "auto",
    gap: float | None = 1800,
    max_events: int | None = None,
    title: str | None = None,
) -> Figure:
    """One user's behaviours over time: a row per category, colour and marker from two columns.

    Args:
        log: an interaction log; extra columns (e.g. a planted ``topic``) may colour the points.
        user_id: the raw user id to draw.
        color_by: the column that colours the points (categories are grouped by it on the y axis).
        marker_by: the column that picks the marker: ``"auto"`` uses ``label`` (click / no click)
            or else ``behavior`` (Taobao's pv/cart/fav/buy) when present; ``None`` for one marker.
        gap: draw a dashed line where the gap rule starts a new session (``None``: no lines).
        max_events: draw only the user's first ``max_events`` events.
        title: axes title (a default names the user).

    Returns:
        A figure with one axes whose scatter collections hold one point per drawn event.

    Raises:
        ValueError: missing columns, an empty log, a user without events, ``max_events < 1``.
    """
    validate_log(log)
    if marker_by == "auto":
        marker_by = next((c for c in ("label", "behavior") if c in log.columns), None)
    for column in (color_by, marker_by):
        if column is not None and column not in log.columns:
            raise ValueError(f"column {column!r} is not in the log (columns: {list(log.columns)})")
    if max_events is not None and max_events < 1:
        raise ValueError(f"max_events must be >= 1, got {max_events}")
    rows = log[log["user_id"] == user_id]
    if rows.empty:
        raise ValueError(f"user {user_id!r} has no events in the log")
    rows = rows.sort_values("timestamp", kind="stable").iloc[:max_events]
    ts = seconds_array(rows["timestamp"])  # fractional seconds kept
    x = (ts - ts[0]) / DAY  # [n] days since the first event

    groups = rows[color_by].to_numpy()
    group_values = pd.unique(np.sort(groups))
    cmap = plt.get_cmap("tab10" if len(group_values) <= 10 else "tab20")
    color_of = {v: cmap(i % cmap.N) for i, v in enumerate(group_values)}
    pairs = pd.DataFrame({"group": groups, "cate": rows["cate_id"].to_numpy()}).drop_duplicates()
    cate_order = list(dict.fromkeys(pairs.sort_values(["group", "cate"])["cate"]))  # grouped rows
    row_of = {c: i for i, c in enumerate(cate_order)}
    y = rows["cate_id"].map(row_of).to_numpy()  # [n]
    colors = np.array([color_of[v] for v in groups])  # [n, 4]

    fig, ax = plt.subplots(figsize=(9, 0.6 + 0.24 * max(len(cate_order), 8)))
    if gap is not None:
        starts = np.flatnonzero(session_breaks(ts, gap))[1:]  # new sessions after the first
        for s in starts:
            ax.axvline((x[s - 1] + x[s]) / 2, color="gray", lw=0.7, ls="--", alpha=0.6)
    kinds = rows[marker_by].to_numpy() if marker_by else np.zeros(len(rows), dtype=int)
    kind_values = sorted(pd.unique(kinds), key=str)
    markers = _markers_for(marker_by, kind_values) if marker_by else {0: ("o", "event")}
    handles = []
    for value in kind_values:
        sel = kinds == value
        marker, text = markers[value]
        ax.scatter(x[sel], y[sel], marker=marker, s=60 if marker == "." else 36, c=colors[sel],
                   linewidths=1.2, zorder=3)
        handles.append(Line2D([], [], ls="", marker=marker, color="black", label=text))
    ax.set_yticks(range(len(cate_order)), [str(c) for c in cate_order] if len(cate_order) <= 30 else [])
    ax.set(xlabel="days since the user's first event", ylabel="category id",
           title=title or f"User {user_id}: {len(rows)} events"
           + (" (dashed: a new session by the gap rule)" if gap is not None else ""))
    ax.set_ylim(-0.7, len(cate_order) - 0.3)
    fig.legend(handles=handles, loc="upper right", fontsize=9, title=marker_by or "marker")
    if len(group_values) <= 10:
        patches = [Line2D([], [], ls="", marker="s", color=color_of[v], label=str(v)) for v in group_values]
        fig.legend(handles=patches, loc="lower right", fontsize=9, title=color_by)
    fig.tight_layout(rect=(0.0, 0.0, 0.86, 1.0))  # room for the legends on the right
    return fig


# ---------------------------------------------------------------- padding and masks
def truncate_history(batch: Batch, max_len: int) -> Batch:
    """The same samples with only their ``max_len`` most recent behaviours, right-padded again.

    This is what :func:`~seqlib.data.build_samples` with a smaller ``max_len`` produces, so a
    plot can move ``max_len`` without rebuilding the samples.

    Args:
        batch: samples whose history tensors have length ``L``.
        max_len: the new history length, ``1 <= max_len <= L``.

    Returns:
        A batch whose history tensors are ``[B, max_len]`` and ``hist_len <= max_len``.
    """
    width = batch.hist_item.shape[1]
    if not 1 <= max_len <= width:
        raise ValueError(f"max_len must be between 1 and the batch's history length {width}, got {max_len}")
    new_len = batch.hist_len.clamp(max=max_len)  # [B]
    offsets = torch.arange(max_len)  # [max_len]
    valid = offsets < new_len.unsqueeze(1)  # [B, max_len]
    pos = (batch.hist_len - new_len).unsqueeze(1) + offsets  # [B, max_len]: most recent behaviours
    pos = torch.where(valid, pos, 0)  # [B, max_len]
    cut = {name: torch.where(valid, getattr(batch, name).gather(1, pos), 0) for name in _HISTORY_FIELDS}
    return Batch(**{**batch.__dict__, **cut, "hist_len": new_len})


def padding_stats(lengths: torch.Tensor, max_len: int) -> tuple[float, float]:
    """How much of a ``[B, max_len]`` history tensor is padding, and how much history it keeps.

    Args:
        lengths: each sample's number of available behaviours.  # [B]
        max_len: the history length ``L``.

    Returns:
        ``(padding share, kept share)``: the share of the ``B * L`` cells that are padding, and
        the share of all available behaviours that fit (1.0 when there are none).
    """
    if max_len < 1:
        raise ValueError(f"max_len must be >= 1, got {max_len}")
    if lengths.numel() == 0:
        raise ValueError("lengths is empty")
    kept = lengths.clamp(max=max_len).double().sum()  # behaviours that fit
    total = lengths.double().sum()
    padding = 1.0 - kept / (lengths.numel() * max_len)
    return float(padding), float(kept / total) if total > 0 else 1.0


def spread_rows(lengths: torch.Tensor, n_rows: int) -> np.ndarray:
    """Indices of ``n_rows`` samples spread evenly over the range of history lengths.

    Args:
        lengths: history lengths.  # [B]
        n_rows: how many samples to pick (at most ``B``).

    Returns:
        Sample indices, shortest history first.  # [n_rows]
    """
    if n_rows < 1:
        raise ValueError(f"n_rows must be >= 1, got {n_rows}")
    order = np.argsort(lengths.numpy(), kind="stable")
    picks = np.linspace(0, len(order) - 1, min(n_rows, len(order))).round().astype(int)
    return order[picks]


def plot_padding(
    batch: Batch, max_len: int, rows: Sequence[int] | None = None, n_rows: int = 12, title: str | None = None
) -> Figure:
    """What a history length keeps and pads: a few samples' history tensors, and the whole batch.

    Left: the ``[rows, max_len]`` history tensor of a few samples after
    :func:`truncate_history`, coloured by category; grey cells are padding (mask 0) and a black
    tick marks each sample's length. Right: for every history length from 1 to ``L``, the share
    of the batch's cells that are padding and the share of its behaviours that fit.

    Args:
        batch: samples with histories of length ``L`` (e.g. ``SampleSet.full()``).
        max_len: the history length shown, ``1 <= max_len <= L``.
        rows: the samples to draw (default: ``n_rows`` spread over the history lengths).
        n_rows: number of samples when ``rows`` is not given.
        title: figure title.

    Returns:
        A figure with two axes: an image of shape ``[rows, max_len]`` with the padding cells
        masked, and the two curves over ``1..L``.
    """
    width = batch.hist_item.shape[1]
    if not 1 <= max_len <= width:
        raise ValueError(f"max_len must be between 1 and the batch's history length {width}, got {max_len}")
    rows = spread_rows(batch.hist_len, n_rows) if rows is None else np.asarray(rows)
    if rows.size == 0 or rows.min() < 0 or rows.max() >= len(batch):
        raise ValueError(f"rows must be non-empty sample indices below {len(batch)}")
    small = truncate_history(batch.select(torch.from_numpy(rows)), max_len)
    mask = length_mask(small.hist_len, max_len).numpy()  # [R, max_len]
    cells = np.ma.masked_where(mask == 0, (small.hist_cate.numpy() - 1) % 20)  # [R, max_len]
    padding, kept = padding_stats(batch.hist_len, max_len)

    fig, (ax_grid, ax_curve) = plt.subplots(1, 2, figsize=(9, 4.2), gridspec_kw={"width_ratios": [1.4, 1]})
    cmap = ListedColormap(plt.get_cmap("tab20").colors).with_extremes(bad="#e6e6e6")  # padding grey
    ax_grid.imshow(cells, cmap=cmap, vmin=0, vmax=19, aspect="auto", interpolation="nearest")
    lens = small.hist_len.numpy()
    ax_grid.vlines(lens - 0.5, np.arange(len(rows)) - 0.5, np.arange(len(rows)) + 0.5, color="black", lw=2)
    ax_grid.set_yticks(range(len(rows)), [f"{n} of {m}" for n, m in zip(lens, batch.hist_len[rows].numpy())],
                       fontsize=9)
    ax_grid.grid(False)
    ax_grid.set(xlabel="history position j (oldest first; grey = padding, mask 0)",
                ylabel="kept of stored behaviours",
                title=f"max_len = {max_len}: {padding:.0%} of all cells are padding")

    grid = np.arange(1, width + 1)
    shares = np.array([padding_stats(batch.hist_len, n) for n in grid])  # [L, 2]
    ax_curve.plot(grid, shares[:, 0], color="gray", label="cells that are padding")
    ax_curve.plot(grid, shares[:, 1], color="tab:blue", label="behaviours kept")
    ax_curve.axvline(max_len, color="black", lw=0.8, ls="--")
    ax_curve.plot([max_len, max_len], [padding, kept], ls="", marker="o", color="black")
    ax_curve.set(xlabel="max_len", ylabel="share", ylim=(0, 1.02),
                 title=f"All {len(batch):,} samples: {kept:.0%} of behaviours kept")
    ax_curve.legend(fontsize=9, loc="center right")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def padding_frames(
    batch: Batch, max_lens: Sequence[int], n_rows: int = 12
) -> tuple[list[Figure], list[str]]:
    """Figures of :func:`plot_padding` for each history length (for the frame viewer).

    The same samples are drawn in every frame, so moving ``max_len`` shows what happens to them.

    Args:
        batch: samples with histories of length ``L``.
        max_lens: history lengths, each in ``1..L``.
        n_rows: samples drawn on the left.

    Returns:
        ``(figures, labels)``.
    """
    if len(max_lens) == 0:
        raise ValueError("padding_frames needs at least one max_len")
    rows = spread_rows(batch.hist_len, n_rows)
    frames = [plot_padding(batch, int(n), rows=rows) for n in max_lens]
    return frames, [str(int(n)) for n in max_lens]


def plot_planted_effects(truth: pd.DataFrame, label: pd.Series) -> Figure:
    """The synthetic click rule, read back from the log: click rate against each planted effect.

    Args:
        truth: ``SyntheticData.truth`` (columns ``relevant``, ``dien``, ``dsin``, ``oracle_p``).
        label: the log's click labels, aligned with ``truth``.

    Returns:
        A figure with three panels (DIN: relevant clicks; DIEN: recency-weighted share of the
        candidate's topic; DSIN: share in the latest session), each with the observed click rate
        and the mean planted probability per bin.
    """
    frame = truth.assign(label=np.asarray(label))
    panels = [
        ("relevant", "DIN: relevant clicks among the last 20", np.arange(-0.5, 9.5, 1.0)),
        ("dien", "DIEN: recency-weighted share of the topic", np.linspace(0, 1, 6)),
        ("dsin", "DSIN: share in the latest session", np.linspace(0, 1, 6)),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.3), sharey=True)
    for ax, (column, title, edges) in zip(axes, panels):
        values = frame[column].clip(upper=edges[-1] - 1e-9) if column == "relevant" else frame[column]
        bins = pd.cut(values, edges, include_lowest=True)
        rates = frame.groupby(bins, observed=True).agg(rate=("label", "mean"), planted=("oracle_p", "mean"),
                                                       n=("label", "size"))
        centres = [interval.mid for interval in rates.index]
        width = (edges[1] - edges[0]) * 0.8
        ax.bar(centres, rates["rate"], width=width, color="tab:blue", alpha=0.75, label="click rate")
        ax.plot(centres, rates["planted"], "k.--", label="mean planted probability")
        ax.set(title=title, xlabel="8 = 8 or more" if column == "relevant" else "share (bin)")
        ax.title.set_fontsize(10)
    axes[0].set_ylabel("click rate")
    axes[0].legend(fontsize=8, loc="upper left")
    fig.suptitle("The planted click rule, read back from the log", fontsize=11)
    fig.tight_layout()
    return fig
