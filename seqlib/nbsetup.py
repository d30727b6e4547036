"""Notebook set-up shared by every chapter, and a helper that shows the library's real code.

Every chapter's first cell (tagged ``remove-cell``, so the book hides it) is::

    import sys
    if "google.colab" in sys.modules:  # install seqlib only on Colab; keep Colab's own torch and numpy
        %pip install -q --no-deps "git+https://github.com/seqbook/seqbook@main"
    from seqlib.nbsetup import setup
    setup()
"""

from __future__ import annotations

import inspect
import os
import platform
import random
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from IPython import get_ipython
from IPython.display import Markdown, display

import seqlib
from seqlib.data.paths import cache_dir, env_data_dir

# More threads than this rarely speeds up the book's small models and crowds shared machines.
MAX_THREADS = 8


def in_colab() -> bool:
    """Whether this code runs in Google Colab.

    Returns:
        True when the ``google.colab`` module has been imported (Colab imports it at start).
    """
    return "google.colab" in sys.modules


def available_cpus() -> int:
    """The number of CPUs this process may run on (respects affinity masks and containers).

    Returns:
        At least 1.
    """
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def data_dir_description() -> str:
    """Where the real data sets are looked up, in words.

    Returns:
        The ``SEQLIB_DATA_DIR`` folder when set, else the download cache folder.
    """
    folder = env_data_dir()
    if folder is not None:
        state = "" if folder.is_dir() else " (missing!)"
        return f"{folder}{state} (SEQLIB_DATA_DIR)"
    return f"{cache_dir()} (download cache; SEQLIB_DATA_DIR is not set)"


def _configure_matplotlib() -> None:
    """Inline figures in Jupyter and small, readable defaults everywhere."""
    import matplotlib

    shell = get_ipython()
    if shell is not None and type(shell).__name__ != "TerminalInteractiveShell":
        shell.run_line_magic("matplotlib", "inline")
    matplotlib.rcParams.update(
        {
            "figure.figsize": (6.4, 3.6),
            "figure.dpi": 80,
            "savefig.dpi": 80,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.alpha": 0.3,
        }
    )


def setup(seed: int = 0) -> None:
    """Prepare a chapter: inline plots, seeded randomness, a sensible thread count, versions.

    Args:
        seed: the seed for Python's ``random``, NumPy and torch.
    """
    _configure_matplotlib()
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    threads = min(available_cpus(), MAX_THREADS)
    torch.set_num_threads(threads)
    where = "Colab" if in_colab() else "local"
    print(
        f"python {platform.python_version()} | torch {torch.__version__} | numpy {np.__version__}"
        f" | pandas {pd.__version__} | seqlib {seqlib.__version__} ({where})"
    )
    print(f"torch threads: {threads} | seed: {seed}")
    print(f"data: {data_dir_description()}")


def _fence_for(source: str) -> str:
    """A backtick fence longer than any backtick run inside ``source``.

    Args:
        source: the text to fence.

    Returns:
        At least three backticks.
    """
    longest, run = 0, 0
    for char in source:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    return "`" * max(3, longest + 1)


def show_source(obj: object) -> None:
    """Display the source code of a ``seqlib`` function, class or module, highlighted.

    The chapters call this next to an equation so the reader sees the library's real code
    (one copy of everything: the book never holds its own version).

    Args:
        obj: anything ``inspect.getsource`` accepts.
    """
    source = inspect.getsource(obj).rstrip()
    label = obj.__name__ if inspect.ismodule(obj) else f"{obj.__module__}.{obj.__qualname__}"
    header = f"Source of `{label}`"
    try:
        path = Path(inspect.getsourcefile(obj) or "").resolve()
        line = inspect.getsourcelines(obj)[1]
        root = Path(seqlib.__file__).resolve().parent.parent
        header += f" ({path.relative_to(root).as_posix()}, line {max(line, 1)})"
    except (TypeError, ValueError):
        pass  # no file location to show (e.g. defined outside the package)
    fence = _fence_for(source)
    display(Markdown(f"{header}:\n\n{fence}python\n{source}\n{fence}"))
