"""The 30-minute rule of DSIN (Feng et al. 2019, section 4.1; book chapter 4)."""

from __future__ import annotations

import numpy as np


def split_sessions(timestamps: np.ndarray, gap: float = 1800) -> np.ndarray:
    """Assign a session index to each event of one user's time-sorted behaviour sequence.

    A new session starts where the gap to the previous event exceeds ``gap`` seconds
    (strictly greater: a gap of exactly ``gap`` stays in the session).

    Args:
        timestamps: event times in seconds, sorted ascending.  # [N]
        gap: the threshold in seconds (DSIN uses 30 minutes = 1800).

    Returns:
        Session index per event, starting at 0 and increasing by one at each break.  # [N]

    Raises:
        ValueError: ``gap <= 0``, timestamps not one-dimensional, NaN, negative or unsorted.
    """
    if not gap > 0:
        raise ValueError(f"gap must be > 0 seconds, got {gap}")
    ts = np.asarray(timestamps, dtype=np.float64)
    if ts.ndim != 1:
        raise ValueError(f"timestamps must be one-dimensional, got shape {ts.shape}")
    if ts.size == 0:
        return np.zeros(0, dtype=np.int64)
    if np.isnan(ts).any():
        raise ValueError("timestamps contain NaN")
    if (ts < 0).any():
        raise ValueError(f"timestamps must be >= 0, found {ts[ts < 0][0]:g}")
    steps = np.diff(ts)  # [N - 1]
    if (steps < 0).any():
        first = int(np.argmax(steps < 0))
        raise ValueError(
            f"timestamps are not sorted: position {first + 1} ({ts[first + 1]:g}) "
            f"comes before position {first} ({ts[first]:g})"
        )
    breaks = np.concatenate([[0], (steps > gap).astype(np.int64)])  # [N]
    return np.cumsum(breaks)
