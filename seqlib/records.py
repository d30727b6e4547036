"""Recorded results: runs too long for the book's build, stored with their provenance.

Full-scale runs (all of MovieLens-1M, several models and seeds to convergence) take longer than
a chapter may. ``benchmarks/`` scripts run them and save every run in a JSON file inside the
package (``seqlib/results/``), with the command, the seqlib commit, the date, the machine and
the wall times; chapters load the file with :func:`load_record` and label their plots as
recorded by that command. A file is one object::

    {"schema": 1, "name": ..., "command": ..., "commit": ..., "date": ..., "machine": {...},
     "threads": 1, "settings": {...}, "wall_seconds": ..., "runs": [{...}, ...]}

and each run holds at least ``dataset, model, seed, auc, gauc, valid_users, epochs,
epochs_run, seconds``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

SCHEMA = 1
RESULTS_DIR = Path(__file__).resolve().parent / "results"
RUN_FIELDS = ("dataset", "model", "seed", "auc", "gauc", "valid_users", "epochs", "epochs_run", "seconds")
TOP_FIELDS = ("schema", "name", "command", "commit", "date", "machine", "threads", "settings", "wall_seconds", "runs")


def source_commit() -> str:
    """The git commit of the seqlib checkout (``+dirty`` with uncommitted changes to its code, the
    records in ``seqlib/results`` aside), or ``"unknown"``."""
    root = Path(__file__).resolve().parents[1]
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True)
        # The records themselves live in seqlib/results: a new one does not make the code dirty.
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "seqlib", ":!seqlib/results"], cwd=root,
                               capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def machine() -> dict[str, Any]:
    """What the runs ran on: processor, cores, memory, Python and torch versions."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
    }


def check_record_name(name: str, argument: str = "name") -> str:
    """``name`` if it can name a record file (letters, digits, ``-`` and ``_``), else a ValueError.

    Args:
        name: the record's name, e.g. ``"quality-synthetic"``.
        argument: how the error message names the argument (a script passes ``"--name"``).

    Returns:
        ``name`` unchanged.

    Raises:
        ValueError: ``name`` is not a non-empty string of those characters (a path, a space...).
    """
    if not isinstance(name, str) or not name.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"{argument} takes letters, digits, '-' and '_' (a file name), got {name!r}")
    return name


def save_record(
    path: str | os.PathLike[str],
    name: str,
    command: str,
    runs: list[dict[str, Any]],
    settings: dict[str, Any],
    threads: int,
    wall_seconds: float,
) -> Path:
    """Write a record file atomically (a temporary file, then one rename).

    Args:
        path: the JSON file to write.
        name: a short title, e.g. ``"quality-full"``.
        command: the command line that produced the runs.
        runs: one dict per training run (see :data:`RUN_FIELDS`).
        settings: the budget and data settings shared by the runs.
        threads: torch threads per run.
        wall_seconds: wall time of the whole command.

    Returns:
        The path written.

    Raises:
        ValueError: a run lacks a required field.
    """
    for i, run in enumerate(runs):
        missing = [k for k in RUN_FIELDS if k not in run]
        if missing:
            raise ValueError(f"run {i} lacks the field(s) {missing}")
    record = {
        "schema": SCHEMA, "name": name, "command": command, "commit": source_commit(),
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "machine": machine(),
        "threads": threads, "settings": settings, "wall_seconds": round(wall_seconds, 1),
        "runs": [{k: _plain(v) for k, v in run.items()} for run in runs],
    }
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(record, f, indent=1)
            f.write("\n")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _plain(value: Any) -> Any:
    """numpy scalars as Python numbers (JSON has no int64)."""
    return value.item() if isinstance(value, np.generic) else value


def load_record(name: str, folder: str | os.PathLike[str] | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A recorded results file: its runs as a DataFrame and its provenance.

    Args:
        name: the file name without ``.json`` (e.g. ``"quality-full"``), in ``folder``.
        folder: where to look (default: the package's ``results/`` folder).

    Returns:
        ``(runs, meta)``: one row per run; ``meta`` is every top-level field except ``runs``.

    Raises:
        FileNotFoundError: no such record (the message lists the recorded ones).
        ValueError: the file does not follow the schema.
    """
    folder = Path(folder) if folder is not None else RESULTS_DIR
    path = folder / f"{name}.json"
    if not path.is_file():
        known = sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []
        raise FileNotFoundError(f"no recorded results {name!r} in {folder}; recorded: {known}")
    record = json.loads(path.read_text(encoding="utf-8"))
    missing = [k for k in TOP_FIELDS if k not in record]
    if missing or record["schema"] != SCHEMA:
        raise ValueError(f"{path} is not a schema-{SCHEMA} record (missing {missing})")
    runs = pd.DataFrame(record["runs"])
    absent = [k for k in RUN_FIELDS if k not in runs.columns]
    if absent:
        raise ValueError(f"{path}: runs lack the field(s) {absent}")
    return runs, {k: v for k, v in record.items() if k != "runs"}


def provenance(meta: dict[str, Any]) -> str:
    """One line saying where recorded numbers come from, for captions and prose."""
    m = meta["machine"]
    return (
        f"recorded by `{meta['command']}` on {meta['date'][:10]} (seqlib {meta['commit'][:10]}), "
        f"{m['cores']} cores ({m['cpu']}), {meta['threads']} thread(s) per run, "
        f"{meta['wall_seconds'] / 60:.0f} min in all"
    )


def same_runs(
    runs: pd.DataFrame,
    other: pd.DataFrame,
    models: dict[str, str],
    metrics: tuple[str, ...] = ("auc", "gauc"),
) -> bool:
    """Whether two sets of recorded runs are the same runs, seed by seed.

    Two records that train a model with the same code, split, budget and seed hold the same
    numbers to the last digit (training is deterministic under a seed); a chapter that reads both
    checks it, so that it can call them the same runs.

    Args:
        runs: runs of one record (:func:`load_record`), already narrowed to one data set.
        other: runs of another record, narrowed the same way.
        models: ``{label in runs: label in other}``, e.g. ``{"dien[released]": "dien"}``.
        metrics: the columns that must agree exactly.

    Returns:
        True when, for every pair of labels, both hold the same seeds and equal ``metrics`` on each.

    Raises:
        TypeError: ``runs`` or ``other`` is not a DataFrame, or ``models`` not a dict.
        ValueError: no labels or no metrics to compare, a label with no runs in its record (the
            message names it and the labels there are), or a metric that is not a column of both.
    """
    for frame, which in ((runs, "runs"), (other, "other")):
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"{which} must be a DataFrame of runs (load_record(name)[0]), got {type(frame).__name__}")
    if not isinstance(models, dict):
        raise TypeError(f"models must be a dict {{label in runs: label in other}}, got {type(models).__name__}")
    if not models:
        raise ValueError("models is empty: pass {label in runs: label in other}, e.g. {'din': 'din'}")
    if not metrics:
        raise ValueError("metrics is empty: name the columns that must agree, e.g. ('auc', 'gauc')")
    for frame, labels, which in ((runs, list(models), "runs"), (other, list(models.values()), "other")):
        absent = sorted(set(labels) - set(frame["model"]))
        if absent:
            raise ValueError(f"{which} has no runs of {absent}; its models are {sorted(set(frame['model']))}")
        missing = [m for m in metrics if m not in frame.columns]
        if missing:
            raise ValueError(f"{which} has no column(s) {missing}; pass metrics from {list(frame.columns)}")
    for label, other_label in models.items():
        ours = runs[runs["model"] == label].set_index("seed")[list(metrics)].sort_index()
        theirs = other[other["model"] == other_label].set_index("seed")[list(metrics)].sort_index()
        if not ours.index.equals(theirs.index) or not np.array_equal(ours.to_numpy(), theirs.to_numpy(), equal_nan=True):
            return False
    return True
