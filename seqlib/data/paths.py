"""Where real data sets live: a shared data folder, else a per-user cache folder.

Two environment variables steer the loaders:

* ``SEQLIB_DATA_DIR`` — a folder of ready copies, one sub-folder per data set
  (``ml-100k/``, ``ml-1m/``, ``taobao/``). It may be read-only; nothing is ever written there.
  A relative value is taken relative to the working directory, or, when nothing is there, to
  the root of the source checkout ``seqlib`` is imported from (so ``../shared/data`` works from
  the project root and from notebooks running in ``book/``).
* ``SEQLIB_CACHE_DIR`` — where downloads go; default ``~/.cache/seqlib``. Besides one folder
  per data set it holds an empty lock file per data set (``.ml-1m.lock``) and, only while a
  download runs or after one was killed, its temporaries (``.ml-1m-*.zip.part``,
  ``.ml-1m-*.tmp``); see :mod:`seqlib.data.movielens` for the rules that make concurrent and
  interrupted downloads safe.

A variable that names an existing file instead of a folder is refused (``NotADirectoryError``
naming the variable and the file), rather than read as "no data here".
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "SEQLIB_DATA_DIR"
CACHE_DIR_ENV = "SEQLIB_CACHE_DIR"

# The folder holding ``pyproject.toml`` when seqlib runs from a source checkout.
_CHECKOUT_ROOT = Path(__file__).resolve().parents[2]


def env_data_dir() -> Path | None:
    """The folder named by ``SEQLIB_DATA_DIR``, or ``None`` when the variable is unset or empty.

    Returns:
        The absolute folder path (it may not exist). A relative value is resolved against the
        working directory, or against the source checkout root when only that one exists.

    Raises:
        NotADirectoryError: the variable names an existing file, not a folder.
    """
    value = os.environ.get(DATA_DIR_ENV, "").strip()
    if not value:
        return None
    path = Path(value).expanduser()
    if path.is_absolute():
        return _folder(path, DATA_DIR_ENV)
    from_cwd = path.resolve()
    from_checkout = (_CHECKOUT_ROOT / path).resolve()
    in_checkout = (_CHECKOUT_ROOT / "pyproject.toml").is_file()
    if not from_cwd.is_dir() and in_checkout and from_checkout.is_dir():
        return from_checkout
    return _folder(from_cwd, DATA_DIR_ENV)


def cache_dir() -> Path:
    """The per-user folder that downloads are extracted into.

    Returns:
        ``$SEQLIB_CACHE_DIR`` when set, else ``~/.cache/seqlib`` (not created here).

    Raises:
        NotADirectoryError: that path is an existing file, not a folder.
    """
    value = os.environ.get(CACHE_DIR_ENV, "").strip()
    if value:
        return _folder(Path(value).expanduser().resolve(), CACHE_DIR_ENV)
    return _folder(Path.home() / ".cache" / "seqlib", CACHE_DIR_ENV)


def _folder(path: Path, variable: str) -> Path:
    """``path``, unless it exists and is not a folder (``NotADirectoryError`` naming ``variable``)."""
    if not path.exists() or path.is_dir():
        return path
    value = os.environ.get(variable, "").strip()
    if not value:  # the default cache folder
        raise NotADirectoryError(
            f"the default cache folder {path} is a file, not a folder. Move that file away, or set "
            f"{variable} to a folder for downloads."
        )
    raise NotADirectoryError(
        f"{variable}={value} names the file {path}, not a folder. Set {variable} to a folder "
        f"(the data sets go in its sub-folders ml-100k/, ml-1m/, taobao/), or unset it."
    )
