"""Checks on interaction logs: bad input gets an error that names the problem.

Time is in seconds everywhere in seqlib. A log whose timestamps are in milliseconds says so
with ``time_unit="ms"`` (:func:`build_samples`, :func:`split_sessions`, the loaders), and is
converted to seconds on the way in; timestamps too large to be seconds are refused rather than
read as seconds (which would make a 30-minute session gap of 1,800 s a 1.8 s one).
"""

from __future__ import annotations

from typing import Any, Iterable, Literal

import numpy as np
import pandas as pd

LOG_COLUMNS = ("user_id", "item_id", "cate_id", "timestamp")

TimeUnit = Literal["s", "ms"]
#: Seconds per tick of each accepted time unit.
TIME_UNITS: dict[str, float] = {"s": 1.0, "ms": 1e-3}
#: The largest plausible time in seconds: 1e11 s after 1970 is the year 5138, while a Unix time in
#: milliseconds passes 1e11 in 1973 (and one in microseconds in 1970).
MAX_SECONDS = 1e11


def time_scale(time_unit: Any) -> float:
    """Seconds per tick of ``time_unit``.

    Args:
        time_unit: ``"s"`` (seconds) or ``"ms"`` (milliseconds).

    Returns:
        ``1.0`` or ``0.001``.

    Raises:
        ValueError: any other value (the message lists the accepted ones).
    """
    if not isinstance(time_unit, str) or time_unit not in TIME_UNITS:
        raise ValueError(
            f"time_unit must be 's' (seconds) or 'ms' (milliseconds), got {time_unit!r}; "
            "convert other units to seconds first"
        )
    return TIME_UNITS[time_unit]


def check_time_range(seconds: np.ndarray, time_unit: str, what: str = "timestamps", where: str = "") -> None:
    """Refuse times that cannot be in ``time_unit``: after conversion to seconds, none may exceed
    :data:`MAX_SECONDS` (the year 5138).

    Args:
        seconds: the times, already converted to seconds (finite).  # [N]
        time_unit: the unit they were given in (for the message).
        what: what to call them in the message (e.g. ``"column 'timestamp' of the log"``).
        where: how to pass the unit, e.g. ``"build_samples(log, time_unit='ms')"``.

    Raises:
        ValueError: a time beyond the range; the message names the largest value, the unit it
            looks like and the remedy.
    """
    values = np.asarray(seconds, dtype=np.float64)
    if values.size == 0:
        return
    largest = float(np.max(values))
    if largest <= MAX_SECONDS:
        return
    raw = largest / TIME_UNITS[time_unit]
    if time_unit == "s" and largest <= MAX_SECONDS * 1000:
        looks = "milliseconds"
        remedy = f"pass time_unit='ms'{f' ({where})' if where else ''}, or divide them by 1000"
    else:
        looks = "microseconds or nanoseconds"
        remedy = "convert them to seconds first (divide by 1e6 or 1e9)"
    shown = f"{raw:.0f}" if float(raw).is_integer() else f"{raw:.6g}"
    raise ValueError(
        f"{what} go up to {shown}, which read with time_unit={time_unit!r} is {largest:.3g} s after 1970 "
        f"(beyond the year 5138): they look like {looks}. To fix: {remedy}."
    )


def seconds_array(values: Any) -> np.ndarray:
    """Times as a numpy array that keeps fractional seconds: int64 when the input is an integer
    column, float64 otherwise (``astype(np.int64)`` would truncate 10.7 s to 10 s).

    Args:
        values: a column or array of times in seconds.  # [N]

    Returns:
        The times.  # [N]
    """
    array = np.asarray(values)
    return array.astype(np.int64) if array.dtype.kind in "iu" else array.astype(np.float64)


def validate_log(
    log: pd.DataFrame,
    require_label: bool = False,
    extra: Iterable[str] = (),
    name: str = "log",
    time_unit: TimeUnit = "s",
) -> None:
    """Raise ``ValueError`` naming the first problem found in an interaction log.

    Checks: it is a DataFrame without repeated column names, it is not empty, the columns
    ``user_id, item_id, cate_id, timestamp`` (and ``label`` when required) exist and hold no
    missing values (NaN, ``None`` or ``<NA>``), ids are non-negative integers, timestamps are
    finite, non-negative numbers that fit ``time_unit`` (in seconds at most 1e11, the year 5138:
    millisecond timestamps read as seconds are refused), and labels (when present) are numbers
    or booleans equal to 0/1.

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
        time_unit: the unit of the ``timestamp`` column, ``"s"`` (default) or ``"ms"``.

    Raises:
        TypeError: ``log`` is not a DataFrame.
        ValueError: a column is missing or repeated, the log is empty, or a value is missing,
            of the wrong type or out of range (the message names the column, the count or first
            bad value, and the remedy).
    """
    if not isinstance(log, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame as the {name}, got {type(log).__name__}")
    scale = time_scale(time_unit)
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
    check_time_range(ts_values * scale, time_unit, f"column 'timestamp' of the {name}",
                     "build_samples(log, time_unit='ms'), load_taobao(path, time_unit='ms')")
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
