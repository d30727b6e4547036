"""The 30-minute rule of DSIN (Feng et al. 2019, section 4.1; book chapter 4).

One rule, one place: :func:`session_breaks` marks where sessions start in a log sorted by user
and time; :func:`split_sessions` (one user) and :func:`~seqlib.data.build_samples` (all users at
once) both use it. :func:`boundary_precision_recall` scores the rule against planted sessions.
"""

from __future__ import annotations

from typing import Sequence

import math
import numbers

import numpy as np
import pandas as pd

from seqlib.data.validate import TimeUnit, check_time_range, time_scale


def session_breaks(
    timestamps: np.ndarray, gap: float = 1800, users: np.ndarray | None = None, time_unit: TimeUnit = "s"
) -> np.ndarray:
    """Mark the events that start a new session, for many users at once (vectorised).

    An event starts a session when it is its user's first event or when the gap to the user's
    previous event exceeds ``gap`` seconds (strictly greater: a gap of exactly ``gap`` stays in
    the session).

    Args:
        timestamps: event times in ``time_unit``, sorted ascending within each user.  # [N]
        gap: the threshold in seconds (DSIN uses 30 minutes = 1800), whatever ``time_unit``.
        users: user of each event, events grouped by user (None: all events belong to one user).  # [N]
        time_unit: ``"s"`` (default) or ``"ms"``; times beyond 1e11 s (the year 5138) are refused
            as not seconds, so millisecond times never meet a gap meant in seconds.

    Returns:
        Boolean mask, True where a session starts.  # [N]

    Raises:
        ValueError: ``gap`` not a number > 0 (``inf`` is allowed: one session per user),
            arrays not one-dimensional or of different lengths, missing user ids, timestamps
            that are not numbers (strings, booleans, datetimes), NaN, infinite, negative or
            (within a user) unsorted, or too large for ``time_unit``; ``time_unit`` not "s"/"ms".
    """
    _check_gap(gap)
    scale = time_scale(time_unit)
    ts = np.asarray(timestamps)
    if ts.ndim != 1:
        raise ValueError(f"timestamps must be one-dimensional, got shape {ts.shape}")
    if ts.dtype.kind not in "iuf":
        raise ValueError(
            f"timestamps must be numbers of seconds, got dtype {ts.dtype}"
            + (f" (first value {ts[:1].tolist()[0]!r})" if ts.size else "")
            + "; convert them first (datetimes: seconds since the epoch, e.g. ts.astype('datetime64[s]').astype('int64'))"
        )
    if ts.dtype.kind == "u":
        ts = ts.astype(np.float64)  # differences of unsigned integers would wrap around
    if ts.size == 0:
        return np.zeros(0, dtype=bool)
    if ts.dtype.kind == "f" and np.isnan(ts).any():
        raise ValueError(f"timestamps contain {int(np.isnan(ts).sum())} NaN value(s)")
    if ts.dtype.kind == "f" and np.isinf(ts).any():
        raise ValueError(f"timestamps contain {int(np.isinf(ts).sum())} infinite value(s)")
    if (ts < 0).any():
        raise ValueError(f"timestamps must be >= 0, found {ts[ts < 0][0]:g}")
    if scale != 1.0:
        ts = ts * scale  # [N] seconds
    check_time_range(ts, time_unit, "timestamps", "split_sessions(timestamps, time_unit='ms')")
    steps = np.diff(ts)  # [N - 1]
    if users is None:
        same_user = np.ones(len(steps), dtype=bool)
    else:
        users = np.asarray(users)
        if users.shape != ts.shape:
            raise ValueError(f"users must have the shape of timestamps {ts.shape}, got {users.shape}")
        if pd.isna(users).any():  # NaN != NaN would give every such event a session of its own
            raise ValueError(f"users contain {int(pd.isna(users).sum())} missing id(s) (NaN/None)")
        same_user = users[1:] == users[:-1]  # [N - 1]
    unsorted = same_user & (steps < 0)
    if unsorted.any():
        first = int(np.argmax(unsorted))
        raise ValueError(
            f"timestamps are not sorted: position {first + 1} ({ts[first + 1]:g}) "
            f"comes before position {first} ({ts[first]:g})"
        )
    breaks = np.ones(ts.size, dtype=bool)  # [N]
    breaks[1:] = ~same_user | (steps > gap)
    return breaks


def _check_gap(gap: float) -> None:
    """``ValueError`` unless ``gap`` is a number of seconds > 0 (``inf`` allowed)."""
    if isinstance(gap, (bool, np.bool_)) or not isinstance(gap, (numbers.Real, np.number)):
        raise ValueError(f"gap must be a number of seconds such as 1800, got {gap!r} ({type(gap).__name__})")
    if math.isnan(gap) or not gap > 0:
        raise ValueError(f"gap must be > 0 seconds, got {gap}")


def split_sessions(timestamps: np.ndarray, gap: float = 1800, time_unit: TimeUnit = "s") -> np.ndarray:
    """Assign a session index to each event of one user's time-sorted behaviour sequence.

    A new session starts where the gap to the previous event exceeds ``gap`` seconds
    (strictly greater: a gap of exactly ``gap`` stays in the session); see :func:`session_breaks`.

    Args:
        timestamps: event times in ``time_unit``, sorted ascending.  # [N]
        gap: the threshold in seconds (DSIN uses 30 minutes = 1800).
        time_unit: ``"s"`` (default) or ``"ms"`` (times beyond the year 5138 in seconds are refused).

    Returns:
        Session index per event, starting at 0 and increasing by one at each break.  # [N]

    Raises:
        ValueError: ``gap`` not a number > 0, timestamps not one-dimensional, not numbers, NaN,
            infinite, negative, unsorted or too large for ``time_unit``.
    """
    breaks = session_breaks(np.asarray(timestamps), gap, time_unit=time_unit)  # [N]
    return np.cumsum(breaks) - 1


def boundary_precision_recall(
    timestamps: np.ndarray,
    true_sessions: np.ndarray,
    gap: float = 1800,
    users: np.ndarray | None = None,
    time_unit: TimeUnit = "s",
) -> tuple[float, float]:
    """Precision and recall of the gap rule's session boundaries against known sessions.

    A boundary is a position where a session starts other than a user's first event. Precision
    is the share of predicted boundaries that are true ones (1.0 when none are predicted);
    recall is the share of true boundaries that are predicted (1.0 when there are none).

    Args:
        timestamps: event times, sorted within each user.  # [N]
        true_sessions: the known session id of each event (e.g. the synthetic log's planted
            ``truth.session``); a boundary is where it changes within a user.  # [N]
        gap: the threshold in seconds.
        users: user of each event (None: one user).  # [N]
        time_unit: the unit of ``timestamps``, ``"s"`` or ``"ms"``.

    Returns:
        ``(precision, recall)``.

    Raises:
        ValueError: ``true_sessions`` of another length, or any input :func:`session_breaks`
            rejects.
    """
    predicted = session_breaks(timestamps, gap, users, time_unit)  # [N]
    truth = np.asarray(true_sessions)
    if truth.shape != predicted.shape:
        raise ValueError(f"true_sessions must have the shape of timestamps {predicted.shape}, got {truth.shape}")
    first = session_breaks(timestamps, np.inf, users, time_unit)  # [N] each user's first event
    actual = np.ones_like(predicted)
    actual[1:] = truth[1:] != truth[:-1]
    predicted, actual = predicted & ~first, actual & ~first
    hits = int((predicted & actual).sum())
    n_pred, n_true = int(predicted.sum()), int(actual.sum())
    return (hits / n_pred if n_pred else 1.0), (hits / n_true if n_true else 1.0)


def boundary_curve(
    timestamps: np.ndarray,
    true_sessions: np.ndarray,
    gaps: Sequence[float],
    users: np.ndarray | None = None,
    time_unit: TimeUnit = "s",
) -> pd.DataFrame:
    """:func:`boundary_precision_recall` for each threshold in ``gaps``.

    Args:
        timestamps: event times, sorted within each user.  # [N]
        true_sessions: known session id per event.  # [N]
        gaps: thresholds in seconds.
        users: user of each event (None: one user).  # [N]
        time_unit: the unit of ``timestamps``, ``"s"`` or ``"ms"``.

    Returns:
        One row per gap: ``gap, precision, recall``.
    """
    rows = [(g, *boundary_precision_recall(timestamps, true_sessions, g, users, time_unit)) for g in gaps]
    return pd.DataFrame(rows, columns=["gap", "precision", "recall"])
