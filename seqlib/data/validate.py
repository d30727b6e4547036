"""Checks on interaction logs: bad input gets an error that names the problem."""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

LOG_COLUMNS = ("user_id", "item_id", "cate_id", "timestamp")


def validate_log(
    log: pd.DataFrame, require_label: bool = False, extra: Iterable[str] = (), name: str = "log"
) -> None:
    """Raise ``ValueError`` naming the first problem found in an interaction log.

    Checks: it is a DataFrame, it is not empty, the columns ``user_id, item_id, cate_id,
    timestamp`` (and ``label`` when required) exist, ids are non-negative integers, timestamps
    are finite and non-negative, and labels (when present) are 0/1 without NaN.

    Args:
        log: the interaction log, one row per event.
        require_label: also require a ``label`` column.
        extra: further column names that must be present.
        name: what to call the log in messages (e.g. ``"log 'ml-1m'"`` when there are several).

    Raises:
        TypeError: ``log`` is not a DataFrame.
        ValueError: a column is missing, the log is empty, or a value is out of range.
    """
    if not isinstance(log, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame as the {name}, got {type(log).__name__}")
    needed = list(LOG_COLUMNS) + (["label"] if require_label else []) + list(extra)
    missing = [c for c in needed if c not in log.columns]
    if missing:
        raise ValueError(f"{name} is missing the column(s) {missing} (it has {list(log.columns)}); add each missing column")
    if len(log) == 0:
        raise ValueError(f"{name} is empty: it has no events")
    for col in ("user_id", "item_id", "cate_id"):
        values = log[col]
        if not pd.api.types.is_integer_dtype(values):
            raise ValueError(f"column {col!r} must hold integer ids, got dtype {values.dtype}")
        if (values < 0).any():
            bad = int(values[values < 0].iloc[0])
            raise ValueError(f"column {col!r} has negative id {bad}; ids must be >= 0")
    ts = log["timestamp"]
    if not pd.api.types.is_numeric_dtype(ts):
        raise ValueError(f"column 'timestamp' must be numeric seconds, got dtype {ts.dtype}")
    ts_values = ts.to_numpy(dtype=np.float64)
    if not np.isfinite(ts_values).all():
        raise ValueError("column 'timestamp' contains NaN or infinite values")
    if (ts_values < 0).any():
        raise ValueError(f"column 'timestamp' has negative value {ts_values[ts_values < 0][0]:g}")
    if "label" in log.columns:
        labels = log["label"].to_numpy(dtype=np.float64)
        if np.isnan(labels).any():
            raise ValueError(f"column 'label' contains {int(np.isnan(labels).sum())} NaN value(s)")
        if not np.isin(labels, (0.0, 1.0)).all():
            raise ValueError("column 'label' must be 0 or 1")
