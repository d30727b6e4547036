"""DSIN's sessions: one user's timeline cut by the gap rule, session statistics of the data sets,
the rule against planted sessions, and attention over sessions (book chapter 4)."""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from seqlib.data.sessions import session_breaks
from seqlib.data.validate import seconds_array
from seqlib.viz.viewer import figure_to_png

#: Thresholds of the session viewer: 1 minute to 6 hours on a roughly logarithmic grid.
GAPS: tuple[int, ...] = (60, 180, 600, 1800, 3600, 10800, 21600)
BREAK_GID = "session-break"  # gid of the vertical break lines (tests count them)


def format_gap(seconds: float) -> str:
    """A threshold in words: ``"30 min"``, ``"6 h"``, ``"45 s"``."""
    if seconds >= 3600:
        return f"{seconds / 3600:g} h"
    if seconds >= 60:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def user_timeline(log: pd.DataFrame, user_id: object, max_events: int | None = 200) -> tuple[np.ndarray, np.ndarray]:
    """One user's behaviours sorted by time.

    Args:
        log: an interaction log (``user_id, cate_id, timestamp``; for logs with ``label``, pass the
            behaviours only, e.g. the clicks).
        user_id: the raw user id.
        max_events: keep the user's first ``max_events`` behaviours (None: all).

    Returns:
        ``(timestamps, categories)``.  # [N], [N]

    Raises:
        ValueError: the user has no behaviours in ``log``.
    """
    rows = log[log["user_id"] == user_id].sort_values("timestamp", kind="stable")
    if rows.empty:
        raise ValueError(f"user {user_id!r} has no behaviours in the log")
    rows = rows if max_events is None else rows.iloc[:max_events]
    return seconds_array(rows["timestamp"]), rows["cate_id"].to_numpy()  # fractional seconds kept


def plot_sessions(
    timestamps: np.ndarray, categories: np.ndarray, gap: float = 1800, title: str | None = None
) -> Figure:
    """One user's timeline with the session breaks of the gap rule, and the gap histogram.

    Top: each behaviour at its time (hours since the first one), coloured by category, with a
    vertical line wherever a new session starts (gap > ``gap``). Bottom: histogram of the gaps
    between consecutive behaviours on a log axis, with the threshold line.

    Args:
        timestamps: behaviour times in seconds, sorted.  # [N]
        categories: category of each behaviour.  # [N]
        gap: the session threshold in seconds.
        title: prefix of the title (the number of sessions and the threshold are appended).

    Returns:
        The two-panel figure.

    Raises:
        ValueError: empty or mismatched inputs, or anything :func:`session_breaks` rejects.
    """
    ts = np.asarray(timestamps)
    cats = np.asarray(categories)
    if ts.size == 0 or ts.shape != cats.shape:
        raise ValueError(f"need one category per timestamp and at least one event, got {ts.shape} and {cats.shape}")
    starts = session_breaks(ts, gap)  # [N]
    hours = (ts - ts[0]) / 3600.0  # [N]
    _, colour_index = np.unique(cats, return_inverse=True)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 4.8), gridspec_kw={"height_ratios": [1, 1.2]})
    colours = plt.get_cmap("tab20")(colour_index % 20)  # [N, 4] one colour per category
    top.scatter(hours, np.zeros_like(hours), c=colours, s=28,
                edgecolors="black", linewidths=0.3, zorder=3)
    breaks = np.flatnonzero(starts)[1:]  # the first event starts a session without a break
    for i in breaks:
        top.axvline((hours[i - 1] + hours[i]) / 2, color="tab:red", lw=1, alpha=0.8, gid=BREAK_GID)
    top.set(yticks=[], xlabel="hours since the user's first behaviour (colour = category)")
    top.set_title(f"{title + ': ' if title else ''}{int(starts.sum())} sessions at gap > {format_gap(gap)}",
                  fontsize=10)
    steps = np.diff(ts).astype(float)
    steps = np.maximum(steps, 1.0)  # same-second events drawn at 1 s
    if steps.size:
        bins = np.logspace(0, max(np.log10(steps.max()) + 0.1, 1.0), 40)
        bottom.hist(steps, bins=bins, color="tab:gray")
    bottom.axvline(gap, color="tab:red", lw=1.5, label=f"threshold {format_gap(gap)}")
    bottom.set(xscale="log", ylabel="gaps",
               xlabel="gap between consecutive behaviours (s, log scale; 0 s drawn at 1 s)")
    # Outside the axes, right of the histogram: inside, it covered the bars at long thresholds.
    bottom.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize=9, frameon=False)
    fig.tight_layout()
    return fig


def session_frames(
    timelines: Mapping[str, tuple[np.ndarray, np.ndarray]], gaps: Sequence[float] = GAPS
) -> tuple[list[bytes], list[str]]:
    """Frames of :func:`plot_sessions` for each timeline and threshold (for the frame viewer).

    Each figure is rendered to PNG and closed at once, so a long list of frames never keeps
    more than one figure open.

    Args:
        timelines: label (data set and user) -> ``(timestamps, categories)``.
        gaps: thresholds in seconds.

    Returns:
        ``(frames, labels)``: PNG bytes, timelines outermost.
    """
    frames, labels = [], []
    for name, (ts, cats) in timelines.items():
        for gap in gaps:
            fig = plot_sessions(ts, cats, gap, title=name)
            frames.append(figure_to_png(fig))
            plt.close(fig)
            labels.append(f"{name}, {format_gap(gap)}")
    return frames, labels


def session_stats(log: pd.DataFrame, gap: float = 1800) -> dict[str, np.ndarray]:
    """Gaps, sessions per user and behaviours per session of a behaviour log.

    Args:
        log: behaviours (``user_id, timestamp``), any order.
        gap: the session threshold in seconds.

    Returns:
        ``gaps`` (seconds between a user's consecutive behaviours), ``sessions_per_user`` and
        ``session_sizes`` (behaviours per session).

    Raises:
        ValueError: the log has no rows, or anything :func:`session_breaks` rejects.
    """
    if len(log) == 0:
        raise ValueError("the log is empty: session statistics need at least one behaviour")
    rows = log.sort_values(["user_id", "timestamp"], kind="stable")
    users, ts = rows["user_id"].to_numpy(), seconds_array(rows["timestamp"])  # fractional seconds kept
    starts = session_breaks(ts, gap, users)  # [N]
    session_id = np.cumsum(starts) - 1  # [N]
    same_user = users[1:] == users[:-1]
    user_first = np.ones(len(users), dtype=bool)
    user_first[1:] = ~same_user
    user_id = np.cumsum(user_first) - 1
    return {
        "gaps": np.diff(ts)[same_user],
        "sessions_per_user": np.bincount(user_id, weights=starts).astype(np.int64),
        "session_sizes": np.bincount(session_id),
    }


def plot_session_stats(logs: Mapping[str, pd.DataFrame], gap: float = 1800) -> Figure:
    """Gap distribution (log scale, with the threshold), sessions per user and behaviours per
    session, one line per data set.

    Args:
        logs: data set name -> behaviour log.
        gap: the session threshold in seconds.

    Returns:
        A three-panel figure (share of gaps / users / sessions on the y axes).

    Raises:
        ValueError: no logs, or an empty log (the message names it).
    """
    if not logs:
        raise ValueError("plot_session_stats needs at least one log, got none")
    for name, log in logs.items():
        if len(log) == 0:
            raise ValueError(f"log {name!r} is empty: session statistics need at least one behaviour")
    fig, axes = plt.subplots(1, 3, figsize=(9, 3.6))
    for name, log in logs.items():
        stats = session_stats(log, gap)
        steps = np.maximum(stats["gaps"], 1)
        bins = np.logspace(0, 8, 49)
        axes[0].hist(steps, bins=bins, histtype="step", lw=1.5, label=name,
                     weights=np.full(len(steps), 1.0 / max(len(steps), 1)))
        for ax, key in ((axes[1], "sessions_per_user"), (axes[2], "session_sizes")):
            values = stats[key]
            edges = np.unique(np.logspace(0, np.log10(values.max() + 1), 30).astype(int))
            ax.hist(values, bins=edges, histtype="step", lw=1.5, label=name,
                    weights=np.full(len(values), 1.0 / len(values)))
    axes[0].axvline(gap, color="tab:red", lw=1, ls="--", label=f"{format_gap(gap)} rule")
    axes[0].set(xscale="log", xlabel="gap between behaviours (s, log; 0 s drawn at 1 s)",
                ylabel="share of gaps", title="gaps")
    axes[1].set(xscale="log", xlabel="sessions per user (log)", ylabel="share of users", title="sessions per user")
    axes[2].set(xscale="log", xlabel="behaviours per session (log)", ylabel="share of sessions",
                title="behaviours per session")
    axes[0].legend(fontsize=9)
    fig.tight_layout()
    return fig


def plot_boundary_curve(curve: pd.DataFrame, gap: float = 1800) -> Figure:
    """Precision and recall of the rule's boundaries against planted sessions, versus threshold.

    Args:
        curve: ``gap, precision, recall`` rows (:func:`seqlib.data.sessions.boundary_curve`).
        gap: a threshold to mark (the paper's 30 minutes).

    Returns:
        The figure.

    Raises:
        ValueError: ``curve`` has no rows or lacks a column.
    """
    if not isinstance(curve, pd.DataFrame) or curve.empty or not {"gap", "precision", "recall"} <= set(curve.columns):
        raise ValueError("curve must be a non-empty table with columns gap, precision, recall "
                         "(boundary_curve(timestamps, true_sessions, gaps) with at least one gap)")
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    ax.plot(curve["gap"], curve["precision"], marker=".", label="precision")
    ax.plot(curve["gap"], curve["recall"], marker=".", label="recall")
    ax.axvline(gap, color="tab:red", lw=1, ls="--", label=f"{format_gap(gap)}")
    ax.set(xscale="log", xlabel="gap threshold (seconds, log scale)", ylabel="share of boundaries", ylim=(0, 1.05),
           title="the gap rule vs. the planted sessions")
    ax.legend(fontsize=9)
    fig.tight_layout()
    return fig


def plot_session_attention(attention: Mapping[str, torch.Tensor], index: int = 0, title: str | None = None) -> Figure:
    """Per-session attention ``a^I_k`` and ``a^H_k`` of one sample, oldest session left.

    Args:
        attention: the output of :meth:`seqlib.models.DSIN.session_attention`.
        index: which sample of the batch.
        title: figure title.

    Returns:
        A bar chart over the sample's non-empty sessions (bar labels: behaviours per session).

    Raises:
        ValueError: the sample has no sessions.
    """
    n = int(attention["n_sess"][index])
    if n == 0:
        raise ValueError(f"sample {index} has no sessions to show")
    x = np.arange(n)
    sizes = attention["sess_len"][index, :n].tolist()
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    ax.bar(x - 0.2, attention["a_I"][index, :n].numpy(), width=0.4, label=r"$a^I_k$ (session interests)")
    ax.bar(x + 0.2, attention["a_H"][index, :n].numpy(), width=0.4, label=r"$a^H_k$ (Bi-LSTM states)")
    ax.set_xticks(x, [f"{k + 1}\n({s} beh.)" for k, s in zip(x, sizes)])
    ax.set(xlabel="session (oldest first; the last one is the most recent)", ylabel="attention weight", ylim=(0, 1),
           title=title or "attention over sessions for one sample")
    ax.legend(fontsize=9)
    fig.tight_layout()
    return fig
