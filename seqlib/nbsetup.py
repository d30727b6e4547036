"""Notebook set-up shared by every chapter, and a helper that shows the library's real code.

Every chapter's first cell (tagged ``remove-cell``, so the book hides it) is
:func:`colab_setup_cell` for the repository named in ``_config.yml`` (``repository.url`` and
``repository.branch``), by default::

    import sys
    if "google.colab" in sys.modules:  # install seqlib only on Colab; keep Colab's own torch and numpy
        %pip install -q --no-deps "git+https://github.com/seqbook/seqbook@main"
    from seqlib.nbsetup import setup
    setup()

After changing the repository in ``_config.yml`` (e.g. to a fork), rewrite every chapter's
cell with ``python -m seqlib.nbsetup sync`` (``--check`` only reports cells that differ).
"""

from __future__ import annotations

import argparse
import inspect
import math
import os
import platform
import random
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from IPython import get_ipython
from IPython.display import Markdown, display

import seqlib
from seqlib.data.paths import cache_dir, env_data_dir

# More threads than this rarely speeds up the book's small models and crowds shared machines.
MAX_THREADS = 8
# The Colab set-up cell; ``{url}`` and ``{branch}`` come from ``_config.yml``'s ``repository``.
COLAB_SETUP_CELL = """import sys
if "google.colab" in sys.modules:  # install seqlib only on Colab; keep Colab's own torch and numpy
    %pip install -q --no-deps "git+{url}@{branch}"
from seqlib.nbsetup import setup
setup()"""
# Colab opens notebooks from GitHub only: https://github.com/<owner>/<repository>.
_GITHUB_URL = re.compile(r"https://github\.com/[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+")
_BRANCH = re.compile(r"[A-Za-z0-9._/-]+")


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


def figure_alt_text(fig: object) -> str:
    """A figure described in words, from its titles and axis labels (the page's image alt text).

    Args:
        fig: a ``matplotlib.figure.Figure``.

    Returns:
        The suptitle and each axes' title, or its axis labels when it has no title, joined by
        "; "; "a figure" when the figure has no text at all.
    """
    parts = []
    suptitle = getattr(fig, "_suptitle", None)
    if suptitle is not None and suptitle.get_text().strip():
        parts.append(suptitle.get_text().strip())
    for ax in fig.get_axes():
        title = " ".join(t.strip() for t in (ax.get_title("left"), ax.get_title(), ax.get_title("right")) if t.strip())
        if not title:
            labels = [label.strip() for label in (ax.get_ylabel(), ax.get_xlabel()) if label.strip()]
            title = " against ".join(labels)
        if title and title not in parts:
            parts.append(title)
    return "; ".join(parts) or "a figure"


def figure_png(fig: object) -> bytes:
    """A figure as PNG for Jupyter's display, with its description in the PNG's Title field.

    The inline backend's own PNG has no text; the book's build reads this Title
    (``tools/html_fixes.py``) to give the image a meaningful alt text instead of its file path.

    Args:
        fig: a ``matplotlib.figure.Figure``.

    Returns:
        The PNG bytes, cropped to the drawn area as the inline backend does.
    """
    from io import BytesIO

    buffer = BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight", metadata={"Title": figure_alt_text(fig)})
    return buffer.getvalue()


def png_title(source: Path | bytes) -> str:
    """The Title text field that :func:`figure_png` writes, read back from a PNG.

    Args:
        source: a PNG file or its bytes.

    Returns:
        The stripped Title, or "" when it has none or is not a readable PNG.
    """
    from io import BytesIO

    from PIL import Image  # matplotlib's own dependency

    try:
        with Image.open(BytesIO(source) if isinstance(source, bytes) else source) as image:
            return str(getattr(image, "text", {}).get("Title", "")).strip()
    except OSError:
        return ""


def _configure_matplotlib() -> None:
    """Inline figures in Jupyter and small, readable defaults everywhere."""
    import matplotlib

    shell = get_ipython()
    if shell is not None and type(shell).__name__ != "TerminalInteractiveShell":
        shell.run_line_magic("matplotlib", "inline")
        from matplotlib.figure import Figure

        shell.display_formatter.formatters["image/png"].for_type(Figure, figure_png)
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


def glue(name: str, value: Any, fmt: str = "") -> Any:
    """Record a number for the chapter's prose, which quotes it as ``{glue:text}`name```.

    In the book build myst-nb stores the value with the executed notebook and the markdown
    shows it, so the prose always quotes what the cell computed, never a number typed by hand.
    In Jupyter and Colab (no myst-nb) nothing is stored and the role shows as written; the cell's
    own output has the value.

    Args:
        name: the key the markdown refers to (unique within the book).
        value: a number or a string.
        fmt: a format spec applied before storing (e.g. ``".4f"``, ``"+.4f"``, ``".1%"``). The
            formatted text is stored as a string: myst-nb reads a stored value back with
            ``ast.literal_eval``, which would turn an unquoted ``+0.0100`` into ``0.01``.

    Returns:
        ``value``, unchanged.

    Raises:
        ValueError: ``value`` is a number that is not finite (NaN or infinite: the prose would show
            ``nan``), or ``fmt`` does not apply to it (e.g. ``".4f"`` for a string); the message
            names the key.
    """
    if isinstance(value, (float, np.floating)) and not math.isfinite(value):  # an int is always finite
        raise ValueError(f"glue({name!r}): the value is {value!r}, which the prose would show as it is; "
                         f"check the computation that gave it (an empty selection, a missing run)")
    try:
        shown = format(value, fmt) if fmt else value
    except (TypeError, ValueError) as error:
        raise ValueError(f"glue({name!r}): fmt={fmt!r} does not apply to the value {value!r} "
                         f"({type(value).__name__}): {error}; pass a format spec for its type, e.g. '.4f' "
                         f"for a number, or no fmt") from None
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return value
    myst_glue(name, shown, display=False)
    return value


class ProseMismatch(AssertionError):
    """A sentence of a chapter says something its numbers no longer bear out (see :func:`check_prose`)."""


def check_prose(claim: str, holds: bool | np.bool_) -> None:
    """Stop the chapter where a sentence of its prose no longer matches the numbers it quotes.

    Glued numbers follow the data, but the words around them do not: "ahead on every seed", "a
    difference whose sign changes with the seed". Each such statement is checked in the cell that
    computes its numbers, so that a new record which flips a sign stops the book's build (and the
    reader's run) at the sentence instead of leaving it wrong.

    Args:
        claim: the statement as the prose makes it (the error quotes it).
        holds: whether the numbers bear it out, one truth value (reduce a per-seed comparison
            with ``.all()`` or ``.any()`` first).

    Raises:
        ProseMismatch: ``holds`` is False; the message quotes the claim.
        TypeError: ``holds`` is not a single truth value (e.g. a Series or an array).
    """
    if not isinstance(holds, (bool, np.bool_)):
        raise TypeError(f"check_prose({claim!r}): holds must be one truth value (True or False), got "
                        f"{type(holds).__name__}; reduce a per-seed comparison with .all() or .any()")
    if not holds:
        raise ProseMismatch(f"the prose says {claim!r}, and the numbers computed here no longer bear it out: "
                            f"rewrite the sentence (and its translations) to say what they show")


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


def colab_setup_cell(url: str, branch: str) -> str:
    """The first cell of every chapter: install ``seqlib`` from ``url@branch`` on Colab, then set up.

    Args:
        url: the GitHub repository, ``https://github.com/<owner>/<repository>``.
        branch: the branch (or tag) Colab installs from.

    Returns:
        The cell's source.

    Raises:
        ValueError: ``url`` is not a GitHub repository URL or ``branch`` is not a plain name.
    """
    url = url.rstrip("/").removesuffix(".git")
    if not _GITHUB_URL.fullmatch(url):
        raise ValueError(
            f"repository url must look like https://github.com/<owner>/<repository> (Colab opens "
            f"notebooks from GitHub only), got {url!r}; fix repository.url in _config.yml"
        )
    if not _BRANCH.fullmatch(branch):
        raise ValueError(f"repository branch must be a plain branch name, got {branch!r}; fix repository.branch in _config.yml")
    return COLAB_SETUP_CELL.format(url=url, branch=branch)


def book_repository(config: Path) -> tuple[str, str]:
    """The repository URL and branch the book's ``_config.yml`` names.

    Args:
        config: the ``_config.yml`` file.

    Returns:
        ``(url, branch)``; the branch defaults to ``main`` as in Jupyter Book.

    Raises:
        ValueError: the file has no ``repository.url``.
    """
    import yaml  # a Jupyter Book dependency; only the book's tooling reads _config.yml

    settings = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    repository = settings.get("repository") or {}
    if not repository.get("url"):
        raise ValueError(f"{config} has no repository.url; add e.g. `repository: {{url: https://github.com/<owner>/<repo>}}`")
    return str(repository["url"]), str(repository.get("branch", "main"))


def sync_setup_cells(root: Path, check: bool = False) -> list[Path]:
    """Make every chapter's first code cell the Colab set-up cell for ``_config.yml``'s repository.

    Args:
        root: the book's root folder (holding ``_config.yml`` and ``book/``).
        check: only report the notebooks whose cell differs; write nothing.

    Returns:
        The notebooks whose first code cell differed (and, unless ``check``, was rewritten).

    Raises:
        ValueError: a notebook has no code cell, or ``_config.yml`` names no valid repository.
    """
    import nbformat  # a Jupyter dependency; only the book's tooling edits notebooks

    expected = colab_setup_cell(*book_repository(root / "_config.yml"))
    changed = []
    for path in sorted((root / "book").glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=nbformat.NO_CONVERT)
        first = next((cell for cell in notebook.cells if cell.cell_type == "code"), None)
        if first is None:
            raise ValueError(f"{path} has no code cell to hold the Colab set-up cell")
        if first.source == expected:
            continue
        changed.append(path)
        if not check:
            first.source = expected
            nbformat.write(notebook, path)
    return changed


def main(argv: list[str] | None = None) -> int:
    """``python -m seqlib.nbsetup sync [--check] [--root DIR]``: keep the set-up cells in sync.

    Args:
        argv: command-line arguments (default ``sys.argv[1:]``).

    Returns:
        The exit status: 0, or 1 when ``--check`` found cells that differ.
    """
    parser = argparse.ArgumentParser(prog="python -m seqlib.nbsetup", description=main.__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    sync = commands.add_parser("sync", help="rewrite every chapter's Colab set-up cell from _config.yml")
    sync.add_argument("--check", action="store_true", help="only list the notebooks that differ")
    sync.add_argument("--root", type=Path, default=Path("."), help="the book's root folder (default: .)")
    args = parser.parse_args(argv)
    url, branch = book_repository(args.root / "_config.yml")
    changed = sync_setup_cells(args.root, check=args.check)
    verb = "differ from" if args.check else "rewritten for"
    for path in changed:
        print(f"{path}: set-up cell {verb} {url}@{branch}")
    if not changed:
        print(f"every chapter's set-up cell installs from {url}@{branch}")
    return 1 if (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())
