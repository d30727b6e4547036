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

    Checks: it is a DataFrame without repeated column names, it is not empty, the columns
    ``user_id, item_id, cate_id, timestamp`` (and ``label`` when required) exist and hold no
    missing values (NaN, ``None`` or ``<NA>``), ids are non-negative integers, timestamps are
    finite, non-negative numbers, and labels (when present) are numbers or booleans equal to 0/1.

    What is refused rather than converted, so that nothing changes meaning silently:

    * ids of a float dtype, even whole-numbered ones (``1.0``): a float id column usually comes
      from a join or a read that met missing values, so the message says to drop those rows and
      convert with ``.astype("int64")``; nullable ``Int64`` ids are fine when none is missing;
    * labels as strings (``"1"``, ``"yes"``): convert them to 0/1 numbers first;
    * boolean or datetime timestamps: convert to seconds first.

    Args:
        log: the interaction log, one row per event.
        require_label: also require a ``label`` column.
        extra: further column names that must be present.
        name: what to call the log in messages (e.g. ``"log 'ml-1m'"`` when there are several).

    Raises:
        TypeError: ``log`` is not a DataFrame.
        ValueError: a column is missing or repeated, the log is empty, or a value is missing,
            of the wrong type or out of range (the message names the column, the count or first
            bad value, and the remedy).
    """
    if not isinstance(log, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame as the {name}, got {type(log).__name__}")
    repeated = sorted({str(c) for c in log.columns[log.columns.duplicated()]})
    if repeated:
        raise ValueError(f"{name} has the column(s) {repeated} more than once; keep one of each")
    needed = list(LOG_COLUMNS) + (["label"] if require_label else []) + list(extra)
    missing = [c for c in needed if c not in log.columns]
    if missing:
        raise ValueError(f"{name} is missing the column(s) {missing} (it has {list(log.columns)}); add each missing column")
    if len(log) == 0:
        raise ValueError(f"{name} is empty: it has no events")
    checked = [*LOG_COLUMNS, *(["label"] if "label" in log.columns else [])]
    for col in checked:
        n_missing = int(log[col].isna().sum())
        if n_missing:
            raise ValueError(
                f"column {col!r} of the {name} has {n_missing} missing value(s) (NaN/None/<NA>), "
                f"e.g. in row {log.index[log[col].isna().to_numpy()][0]!r}; drop those rows "
                f"(log.dropna(subset=[{col!r}])) or fill them before building samples"
            )
    for col in ("user_id", "item_id", "cate_id"):
        values = log[col]
        if not pd.api.types.is_integer_dtype(values) or pd.api.types.is_bool_dtype(values):
            hint = f"; if they are whole numbers, convert with log[{col!r}].astype('int64')"
            raise ValueError(f"column {col!r} must hold integer ids, got dtype {values.dtype}{hint}")
        if (values < 0).any():
            bad = int(values[values < 0].iloc[0])
            raise ValueError(f"column {col!r} has negative id {bad}; ids must be >= 0")
    ts = log["timestamp"]
    if not pd.api.types.is_numeric_dtype(ts) or pd.api.types.is_bool_dtype(ts):
        raise ValueError(
            f"column 'timestamp' must be numeric seconds, got dtype {ts.dtype}; convert datetimes "
            "with (log['timestamp'] - pd.Timestamp(0)) // pd.Timedelta(seconds=1)"
        )
    ts_values = ts.to_numpy(dtype=np.float64)
    if not np.isfinite(ts_values).all():
        raise ValueError(f"column 'timestamp' contains {int((~np.isfinite(ts_values)).sum())} infinite value(s)")
    if (ts_values < 0).any():
        raise ValueError(f"column 'timestamp' has negative value {ts_values[ts_values < 0][0]:g}; times are seconds >= 0")
    if "label" in log.columns:
        label = log["label"]
        if not (pd.api.types.is_numeric_dtype(label) or pd.api.types.is_bool_dtype(label)):
            raise ValueError(
                f"column 'label' must hold 0/1 numbers, got dtype {label.dtype} "
                f"(first value {label.iloc[0]!r}); convert it, e.g. log['label'] = (log['label'] == 'yes').astype(int)"
            )
        labels = label.to_numpy(dtype=np.float64)
        bad = ~np.isin(labels, (0.0, 1.0))
        if bad.any():
            raise ValueError(f"column 'label' must be 0 or 1, found {int(bad.sum())} other value(s), e.g. {labels[bad][0]:g}")
