"""Taobao UserBehavior as an interaction log (book chapter 1, "Three data sets").

Alibaba's UserBehavior.csv (Tianchi data set 649) has about 100 million rows, one per behaviour,
no header: ``user_id, item_id, category_id, behavior_type, timestamp`` with behaviour types
``pv`` (page view), ``cart``, ``fav`` and ``buy``, grouped by user. It needs a Tianchi login,
so it is never downloaded: pass its path or put it at ``$SEQLIB_DATA_DIR/taobao/``. Any head
slice of the file works, so there is no checksum; the format is checked instead.
"""

from __future__ import annotations

import os
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from seqlib.checks import check_int
from seqlib.data.paths import DATA_DIR_ENV, env_data_dir
from seqlib.data.validate import TimeUnit, time_scale, validate_log

BEHAVIORS = ("pv", "cart", "fav", "buy")
COLUMNS = ("user_id", "item_id", "cate_id", "timestamp", "behavior")
_FILE_COLUMNS = ["user_id", "item_id", "cate_id", "behavior", "timestamp"]
_FIELD_NAMES = ("user_id", "item_id", "category_id", "behavior_type", "timestamp")  # as in the file's docs
_INT64_MAX = str(np.iinfo(np.int64).max)  # "9223372036854775807": ids and times must fit in int64
_FORMAT = "no header; user_id, item_id, category_id, behavior_type, timestamp"
_CHUNK_ROWS = 1_000_000


class _BadLine(ValueError):
    """A format problem found by :func:`_check_chunk`, whose message names the line."""


def load_taobao(
    path: str | os.PathLike[str] | None = None, max_users: int | None = None, time_unit: TimeUnit = "s"
) -> pd.DataFrame:
    """Load Taobao UserBehavior.csv (or a head slice of it) as a label-free behaviour log.

    There is no ``label`` column: every row is a behaviour, and
    :func:`seqlib.data.build_samples` draws sampled negatives for such logs. Timestamps are kept
    as they are, including the few outliers outside the documented range (2017-11-25 to
    2017-12-03, China time).

    Args:
        path: the CSV file; default ``$SEQLIB_DATA_DIR/taobao/UserBehavior.csv``.
        max_users: keep only the first ``max_users`` distinct users in file order (an ``int``
            or numpy integer >= 1). The file is read in chunks and reading stops at the first
            row of the next user, so a small sample of the 100-million-row file is quick; this
            relies on rows being grouped by user, as in the official file.
        time_unit: the unit of the file's timestamps: ``"s"`` (default, the official file) or
            ``"ms"``. The log holds seconds either way (milliseconds become fractional seconds,
            float64); timestamps too large for seconds (beyond the year 5138) are refused.

    A compressed copy (``.gz``, ``.bz2``, ``.zip``, ``.xz``) is read as such; a truncated or
    mislabelled one is refused with the file named.

    Returns:
        One row per behaviour, columns ``user_id, item_id, cate_id, timestamp`` (int64
        seconds; float64 with ``time_unit="ms"``) and ``behavior`` (categorical with categories ``pv, cart, fav, buy``), sorted
        by ``user_id`` then ``timestamp`` (stable: ties keep file order).

    Raises:
        FileNotFoundError: no file at ``path`` or at the default place.
        ValueError: ``max_users`` is not a positive integer, or the file is not in the expected
            format (wrong field count, missing fields, ids or timestamps that are not integers
            from 0 to 2**63 - 1, unknown behaviour types, timestamps too large for
            ``time_unit``); the message gives the line number. Also a bad ``time_unit``, and a
            compressed file that is truncated or not what its name says (the message names it).
    """
    if max_users is not None:
        max_users = check_int("max_users", max_users, minimum=1)
    scale = time_scale(time_unit)
    file = _find_file(path)
    try:
        log = _read(file, max_users)
        if scale != 1.0:
            log["timestamp"] = log["timestamp"].to_numpy(dtype=np.float64) * scale
        log["behavior"] = pd.Categorical(log["behavior"], categories=BEHAVIORS)
        order = np.lexsort((log["timestamp"].to_numpy(), log["user_id"].to_numpy()))  # stable
        log = log.iloc[order].reset_index(drop=True)[list(COLUMNS)]
        validate_log(log, extra=("behavior",))
    except (EOFError, zlib.error, UnicodeDecodeError) as exc:  # before ValueError: a UnicodeDecodeError is one
        raise ValueError(_unreadable(file, exc)) from exc
    except ValueError as exc:  # pandas' ParserError and EmptyDataError are ValueErrors too
        problem = str(exc).strip().replace(
            "build_samples(log, time_unit='ms'), load_taobao(path, time_unit='ms')", "load_taobao(path, time_unit='ms')")
        raise ValueError(f"{file} is not the expected format ({_FORMAT}): {problem}") from exc
    except OSError as exc:  # gzip.BadGzipFile, bz2/zip errors, a folder or a file we may not read
        if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError)):
            raise type(exc)(exc.errno, f"could not read the Taobao file {file}: {exc.strerror}") from exc
        raise ValueError(_unreadable(file, exc)) from exc
    return log


def _unreadable(file: Path, exc: BaseException) -> str:
    """Why ``file`` could not be read as text (a truncated or mislabelled compressed file)."""
    packed = file.suffix.lower() in (".gz", ".bz2", ".zip", ".xz", ".zst")
    if packed:
        return (
            f"{file} could not be decompressed ({type(exc).__name__}: {exc}): it is truncated (an interrupted "
            f"download or copy) or not {file.suffix[1:]}-compressed despite its name. Copy it again; if it is "
            f"plain text, rename it without {file.suffix!r}."
        )
    return (
        f"{file} is not a text CSV file ({type(exc).__name__}: {exc}); expected {_FORMAT}. If it is compressed, "
        "give it its compression's suffix (.gz, .bz2, .zip, .xz)."
    )


def _read(file: Path, max_users: int | None) -> pd.DataFrame:
    """The rows of ``file`` (of its first ``max_users`` users), read and checked in chunks.

    The fast reader parses the integer columns directly; when it fails on a value (a missing
    field, a float, an id beyond int64), a second pass reads the file as text to name the first
    bad line, which pandas' own message does not.
    """
    try:
        return _read_chunks(file, max_users)
    except (_BadLine, pd.errors.ParserError, pd.errors.EmptyDataError):
        raise  # the message already names the line (or the empty file)
    except (ValueError, OverflowError) as exc:
        problem = _first_bad_line(file)
        if problem is None:
            raise ValueError(str(exc)) from exc
        raise ValueError(problem) from exc


def _read_chunks(file: Path, max_users: int | None) -> pd.DataFrame:
    """The fast path of :func:`_read`: integer columns parsed as int64 by pandas' C reader."""
    chunks = []
    kept: set[int] = set()
    reader = pd.read_csv(
        file,
        header=None,
        dtype={0: np.int64, 1: np.int64, 2: np.int64, 3: str, 4: np.int64},
        chunksize=_CHUNK_ROWS,
    )
    with reader:
        for chunk in reader:
            chunk = _check_chunk(chunk)
            if max_users is None:
                chunks.append(chunk)
                continue
            users = chunk["user_id"].to_numpy()
            room = max_users - len(kept)
            new = [u for u in pd.unique(users) if u not in kept]  # in file order
            kept.update(new[:room])
            chunks.append(chunk[np.isin(users, list(kept))])
            if len(new) > room:  # reached user max_users + 1; rows are grouped by user
                break
    return pd.concat(chunks, ignore_index=True)


def _find_file(path: str | os.PathLike[str] | None) -> Path:
    """The CSV to read: ``path``, else the copy under ``$SEQLIB_DATA_DIR``."""
    if path is not None:
        file = Path(path).expanduser()
        if not file.is_file():
            raise FileNotFoundError(f"no Taobao UserBehavior file at {file}")
        return file
    env = env_data_dir()
    if env is not None and (env / "taobao" / "UserBehavior.csv").is_file():
        return env / "taobao" / "UserBehavior.csv"
    where = f"{env if env is not None else '$' + DATA_DIR_ENV}/taobao/UserBehavior.csv"
    raise FileNotFoundError(
        f"Taobao UserBehavior.csv not found at {where}. It needs a Tianchi login "
        "(https://tianchi.aliyun.com/dataset/649): download it, then pass its path to "
        f"load_taobao(path=...) or put it at {DATA_DIR_ENV}/taobao/UserBehavior.csv."
    )


def _check_chunk(chunk: pd.DataFrame) -> pd.DataFrame:
    """The chunk with named columns; ``_BadLine`` naming the line of a missing field, an id or
    time out of range, or an unknown behaviour (or the field count when it is wrong throughout)."""
    if chunk.shape[1] != len(_FILE_COLUMNS):
        raise _BadLine(
            f"expected {len(_FILE_COLUMNS)} comma-separated fields per line, found {chunk.shape[1]}"
        )
    chunk.columns = _FILE_COLUMNS
    if chunk.isna().any().any():
        row = int(np.flatnonzero(chunk.isna().any(axis=1).to_numpy())[0]) + int(chunk.index[0]) + 1
        raise _BadLine(f"line {row} has missing fields (expected 5 comma-separated values)")
    for col, field in zip(_FILE_COLUMNS, _FIELD_NAMES):
        if col == "behavior":
            continue
        values = chunk[col]
        if values.dtype != np.int64:  # pandas reads values in [2**63, 2**64) as uint64
            bad = values.astype(np.uint64) > np.iinfo(np.int64).max
            line = int(values.index[bad.to_numpy()][0]) + 1
            raise _BadLine(f"line {line}: {field} {values[bad].iloc[0]} does not fit in int64 (must be < 2**63)")
        if (values < 0).any():
            line = int(values.index[(values < 0).to_numpy()][0]) + 1
            raise _BadLine(f"line {line}: {field} {values[values < 0].iloc[0]} is negative; ids and times must be >= 0")
    unknown = ~chunk["behavior"].isin(BEHAVIORS)
    if unknown.any():
        bad = chunk["behavior"][unknown]
        line = int(bad.index[0]) + 1
        raise _BadLine(
            f"line {line} has unknown behaviour type {bad.iloc[0]!r}; expected one of {BEHAVIORS}"
        )
    return chunk


def _first_bad_line(file: Path) -> str | None:
    """Describe the first line with a missing field or an integer field that is not an integer
    from 0 to 2**63 - 1 (a slower pass reading every field as text); ``None`` if none is found."""
    reader = pd.read_csv(file, header=None, dtype=str, keep_default_na=False, chunksize=_CHUNK_ROWS)
    with reader:
        for chunk in reader:
            if chunk.shape[1] != len(_FILE_COLUMNS):
                return None
            for col, field in enumerate(_FIELD_NAMES):
                values = chunk[col].str.strip()
                empty = values == ""
                if col == 3:
                    bad = empty
                else:
                    digits = values.str.fullmatch(r"\d+")
                    too_big = digits & ((values.str.len() > len(_INT64_MAX)) | (
                        (values.str.len() == len(_INT64_MAX)) & (values > _INT64_MAX)))
                    bad = empty | ~digits | too_big
                if bad.any():
                    line = int(chunk.index[bad.to_numpy()][0]) + 1
                    value = values[bad].iloc[0]
                    if value == "":
                        return f"line {line} has missing fields: {field} is empty (expected 5 comma-separated values)"
                    if value.lstrip("-").isdigit() and not value.startswith("-"):
                        return f"line {line}: {field} {value} does not fit in int64 (must be < 2**63)"
                    return f"line {line}: {field} {value!r} is not an integer from 0 to 2**63 - 1"
    return None
