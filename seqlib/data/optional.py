"""Optional data sets: a chapter section that needs one runs when it is there and says so when not.

Synthetic data is generated and MovieLens downloads itself, but Taobao UserBehavior is served by
Tianchi only after a login, so no reader can be expected to have it. A chapter wraps each Taobao
section in :func:`have_taobao`::

    if have_taobao("the Taobao slice's row in the table below"):
        logs["taobao"] = load_taobao()

With the file, the section runs as usual. Without it, the cell prints one sentence saying where
to put the file and what the section would show, and the chapter goes on with the data it has.
"""

from __future__ import annotations

from pathlib import Path

from seqlib.data.paths import DATA_DIR_ENV
from seqlib.data.taobao import _find_file as _find_taobao_file

TAOBAO_URL = "https://tianchi.aliyun.com/dataset/649"
TAOBAO_RELATIVE = Path("taobao") / "UserBehavior.csv"


def taobao_file() -> Path | None:
    """The Taobao UserBehavior file :func:`seqlib.data.load_taobao` would read by default.

    Returns:
        Its path, or ``None`` when there is none (``load_taobao()`` would raise
        ``FileNotFoundError``).
    """
    try:
        return _find_taobao_file(None)  # the loader's own lookup: one rule for where the file is
    except FileNotFoundError:
        return None


def taobao_available() -> bool:
    """Whether ``load_taobao()`` finds its file.

    Returns:
        True when ``$SEQLIB_DATA_DIR/taobao/UserBehavior.csv`` (or wherever the loader looks)
        exists.
    """
    return taobao_file() is not None


def taobao_missing_note(shows: str) -> str:
    """The sentence a Taobao section prints when the file is missing.

    Args:
        shows: what the section would show with the file, e.g. ``"one shopper's history"``.

    Returns:
        One sentence: where to put the file (as ``$SEQLIB_DATA_DIR/taobao/UserBehavior.csv``, never
        an absolute local path), where to get it and what it would show.

    Raises:
        ValueError: ``shows`` is empty.
    """
    if not shows.strip():
        raise ValueError("shows must say what the Taobao section would show, got an empty string")
    # Named through the variable, never as this machine's absolute path: the sentence is printed
    # into the built book, where a builder's local folder means nothing to a reader.
    where = f"${DATA_DIR_ENV}/{TAOBAO_RELATIVE.as_posix()}"
    return (
        f"Skipped, no Taobao file: to see {shows.strip().rstrip('.')}, put UserBehavior.csv (free with a "
        f"Tianchi login at {TAOBAO_URL}; any head slice works) at {where} and run this again."
    )


def have_taobao(shows: str) -> bool:
    """Whether a Taobao section can run; if not, print where to put the file and what it would show.

    Args:
        shows: what the section would show with the file, completing "to see ...".

    Returns:
        True when the Taobao file is there.

    Raises:
        ValueError: ``shows`` is empty.
    """
    note = taobao_missing_note(shows)  # checks ``shows`` even when the file is there
    if taobao_available():
        return True
    print(note)
    return False
