"""MovieLens-100K and -1M as interaction logs (book chapter 1, "Three data sets").

The loader looks for the official files in a given folder, in ``$SEQLIB_DATA_DIR/<name>/`` or in
the user cache folder (see :mod:`seqlib.data.paths`), verifies each file's sha256 and otherwise
downloads the official zip from GroupLens with a progress bar. The download is verified before
anything is kept: the archive goes to a temporary file, is extracted into a temporary sibling
folder, checked file by file and moved into place with one ``os.replace``; a failure at any step
removes the temporary files, so the cache never holds a half-written copy.

MovieLens terms forbid redistribution, so ``seqlib`` ships no copy: every reader downloads their
own from GroupLens.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import NamedTuple
from urllib.request import urlopen

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from seqlib.data.paths import DATA_DIR_ENV, cache_dir, env_data_dir
from seqlib.data.validate import validate_log


class DataIntegrityError(ValueError):
    """A data file or downloaded archive does not have the expected sha256."""


class Archive(NamedTuple):
    """An official MovieLens zip: where it is, its size in bytes and its sha256."""

    url: str
    size: int
    sha256: str


ARCHIVES: dict[str, Archive] = {
    "ml-100k": Archive(
        "https://files.grouplens.org/datasets/movielens/ml-100k.zip",
        4_924_029,
        "50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229",
    ),
    "ml-1m": Archive(
        "https://files.grouplens.org/datasets/movielens/ml-1m.zip",
        5_917_549,
        "a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20",
    ),
}

FILE_SHA256: dict[str, dict[str, str]] = {
    "ml-100k": {
        "u.data": "06416e597f82b7342361e41163890c81036900f418ad91315590814211dca490",
        "u.item": "553841ebc7de3a0fd0d6b62a204ea30c1e651aacfb2814c7a6584ac52f2c5701",
        "u.user": "f120e114da2e8cf314fd28f99417c94ae9ddf1cb6db8ce0e4b5995d40e90e62c",
        "u.genre": "9757e0d3e6b298159a80dd48eaf938114690e911e39af97a76949ef1663610bb",
    },
    "ml-1m": {
        "ratings.dat": "506d64ca44484487c11dc2d9a28de5c54948213e6b96285e298afe28d6ea4e0f",
        "movies.dat": "0140fc2356357c1a851d0f52e893a1e4d3696df632c4141cea8d5bc3d621f0b9",
        "users.dat": "1dc3a95300cb19f7c10e027daf29b8cdf1d908dab65b5edfb45950aa389a10a3",
    },
}

# The 18 genres in the order of the ml-1m README (ml-100k's u.genre lists the same ones as
# codes 1-18 after "unknown" = 0). ``cate_id`` is the 1-based position of a movie's first genre.
GENRES: tuple[str, ...] = (
    "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
    "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller",
    "War", "Western",
)  # fmt: skip
UNKNOWN_GENRE_ID = len(GENRES) + 1  # ml-100k's "unknown" genre gets its own id, 19

COLUMNS = ("user_id", "item_id", "cate_id", "timestamp", "label", "rating")

# sha256 already computed in this process, keyed on (path, size, mtime in ns).
_HASHES: dict[tuple[str, int, int], str] = {}


def load_movielens(
    name: str = "ml-1m",
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
    progress: bool = True,
) -> pd.DataFrame:
    """Load MovieLens ratings as an interaction log with a click label, as in DIN's set-up.

    Each rating is one event; ``label = int(rating >= 4)`` (a "click"), the raw rating is kept.
    ``cate_id`` is the 1-based index of the movie's **first** genre in the official genre list
    (``GENRES``: Action = 1, ..., Western = 18):

    * ml-100k: the first genre flag set in ``u.item``, in ``u.genre`` order; the "unknown"
      genre (code 0 there, and a movie with no flag set) gets its own id, 19;
    * ml-1m: the first genre of ``movies.dat``'s ``"A|B|C"`` list.

    Files are looked for in ``data_dir`` (the folder holding them, or one holding a ``<name>/``
    folder), else in ``$SEQLIB_DATA_DIR/<name>/`` when that folder has them, else in
    ``<cache>/<name>/`` (``~/.cache/seqlib`` or ``$SEQLIB_CACHE_DIR``), which the official zip is
    downloaded into when missing. Each file's sha256 is checked once per process.

    Args:
        name: ``"ml-100k"`` or ``"ml-1m"``.
        data_dir: a folder with the files; when given, nothing else is tried.
        download: download the official zip into the cache when no local copy exists.
        progress: show a tqdm progress bar while downloading.

    Returns:
        One row per rating, columns ``user_id, item_id, cate_id, timestamp, label, rating``
        (all int64, ``timestamp`` in seconds), sorted by ``user_id`` then ``timestamp`` (stable:
        ties keep file order).

    Raises:
        ValueError: ``name`` is not a known data set.
        FileNotFoundError: ``data_dir`` lacks the files, or there is no local copy and
            ``download`` is false.
        DataIntegrityError: a file or the downloaded archive has the wrong sha256.
        RuntimeError: the download failed (the message says how to place the files by hand).
    """
    if name not in FILE_SHA256:
        raise ValueError(f"unknown MovieLens data set {name!r}; known: {sorted(FILE_SHA256)}")
    folder = _locate(name, data_dir, download, progress)
    log = _read_ml100k(folder) if name == "ml-100k" else _read_ml1m(folder)
    log["label"] = (log["rating"] >= 4).astype(np.int64)
    order = np.lexsort((log["timestamp"].to_numpy(), log["user_id"].to_numpy()))  # stable
    log = log.iloc[order].reset_index(drop=True)[list(COLUMNS)]
    validate_log(log, require_label=True, extra=("rating",))
    return log


def _read_ml100k(folder: Path) -> pd.DataFrame:
    """Ratings of ``u.data`` with the first-genre category from ``u.item`` and ``u.genre``."""
    n_genres = len(pd.read_csv(folder / "u.genre", sep="|", header=None, encoding="latin-1"))
    first_flag = 5  # movie id | title | release date | video release date | IMDb URL | flags
    items = pd.read_csv(
        folder / "u.item",
        sep="|",
        header=None,
        encoding="latin-1",
        usecols=[0, *range(first_flag, first_flag + n_genres)],
    )
    flags = items.iloc[:, 1:].to_numpy()  # [n_items, n_genres]; column 0 is "unknown"
    first = flags.argmax(axis=1)  # index of the first flag set (0 when none is)
    cate = pd.Series(np.where(first == 0, UNKNOWN_GENRE_ID, first), index=items[0].to_numpy())
    ratings = pd.read_csv(
        folder / "u.data",
        sep="\t",
        header=None,
        names=["user_id", "item_id", "rating", "timestamp"],
        dtype=np.int64,
    )
    ratings["cate_id"] = ratings["item_id"].map(cate).astype(np.int64)
    return ratings


def _read_ml1m(folder: Path) -> pd.DataFrame:
    """Ratings of ``ratings.dat`` with the first-genre category from ``movies.dat``."""
    genre_id = {genre: i + 1 for i, genre in enumerate(GENRES)}
    cate = {}
    text = (folder / "movies.dat").read_text(encoding="latin-1")
    for line in text.splitlines():
        fields = line.split("::")  # MovieID::Title::Genres
        cate[int(fields[0])] = genre_id[fields[-1].split("|")[0]]
    # "a::b::c::d" split on ":" gives a,,b,,c,,d: the fast C parser reads columns 0, 2, 4, 6.
    ratings = pd.read_csv(
        folder / "ratings.dat",
        sep=":",
        header=None,
        usecols=[0, 2, 4, 6],
        names=["user_id", "item_id", "rating", "timestamp"],
        dtype=np.int64,
    )
    ratings["cate_id"] = ratings["item_id"].map(cate).astype(np.int64)
    return ratings


def _locate(
    name: str, data_dir: str | os.PathLike[str] | None, download: bool, progress: bool
) -> Path:
    """The folder holding verified files of ``name``, downloading them if allowed and needed."""
    files = sorted(FILE_SHA256[name])
    if data_dir is not None:
        base = Path(data_dir).expanduser()
        for folder in (base, base / name):
            if _has_files(folder, name):
                _verify(folder, name)
                return folder
        raise FileNotFoundError(
            f"{base} holds neither the {name} files {files} nor a {name}/ folder with them"
        )
    env = env_data_dir()
    if env is not None and _has_files(env / name, name):
        _verify(env / name, name)
        return env / name
    target = cache_dir() / name
    if _has_files(target, name):
        _verify(target, name)
        return target
    if not download:
        env_text = f"{env / name}" if env is not None else f"${DATA_DIR_ENV}/{name} (unset)"
        raise FileNotFoundError(
            f"MovieLens {name} not found: looked in {env_text} and {target} for {files}. "
            f"Pass download=True to fetch {ARCHIVES[name].url}, or unzip it into one of these "
            "folders."
        )
    _download(name, target.parent, progress)
    return target


def _has_files(folder: Path, name: str) -> bool:
    """Whether ``folder`` has every file of data set ``name``."""
    return all((folder / file).is_file() for file in FILE_SHA256[name])


def _verify(folder: Path, name: str) -> None:
    """Check the sha256 of every file of ``name`` in ``folder``; raise naming the first mismatch."""
    for file, expected in FILE_SHA256[name].items():
        actual = _sha256(folder / file)
        if actual != expected:
            raise DataIntegrityError(
                f"{folder / file} is not the official MovieLens {name} file {file!r}: "
                f"sha256 expected {expected}, actual {actual}. Replace the folder with a fresh "
                f"copy from {ARCHIVES[name].url} (a corrupted cache copy can simply be deleted)."
            )


def _sha256(path: Path) -> str:
    """The sha256 hex digest of a file, computed once per process per (path, size, mtime)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _HASHES:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        _HASHES[key] = digest.hexdigest()
    return _HASHES[key]


def _download(name: str, root: Path, progress: bool) -> None:
    """Download, verify and extract the official zip of ``name`` into ``root/name`` atomically.

    Raises:
        DataIntegrityError: the archive or an extracted file has the wrong sha256.
        RuntimeError: the download failed.
    """
    archive = ARCHIVES[name]
    target = root / name
    root.mkdir(parents=True, exist_ok=True)
    fd, part_name = tempfile.mkstemp(prefix=f".{name}-", suffix=".zip.part", dir=root)
    part = Path(part_name)
    staging: Path | None = None
    try:
        digest = hashlib.sha256()
        try:
            with os.fdopen(fd, "wb") as out, urlopen(archive.url, timeout=60) as response:
                with tqdm(
                    total=archive.size,
                    unit="B",
                    unit_scale=True,
                    unit_divisor=1024,
                    desc=f"{name}.zip",
                    disable=not progress,
                ) as bar:
                    for chunk in iter(lambda: response.read(1 << 16), b""):
                        out.write(chunk)
                        digest.update(chunk)
                        bar.update(len(chunk))
        except OSError as exc:  # urllib's URLError and socket timeouts are OSErrors
            raise RuntimeError(
                f"could not download {archive.url} ({exc}). Without internet access, download "
                f"the zip elsewhere and unzip it so that {target} or ${DATA_DIR_ENV}/{name} holds "
                f"{sorted(FILE_SHA256[name])}."
            ) from exc
        actual = digest.hexdigest()
        if actual != archive.sha256:
            raise DataIntegrityError(
                f"the archive downloaded from {archive.url} has sha256 {actual}, expected "
                f"{archive.sha256}; it was not kept. Try again, or place the files by hand."
            )
        staging = Path(tempfile.mkdtemp(prefix=f".{name}-", suffix=".tmp", dir=root))
        with zipfile.ZipFile(part) as zf:
            zf.extractall(staging)
        if not _has_files(staging / name, name):
            raise DataIntegrityError(
                f"{archive.url} has no {name}/ folder with {sorted(FILE_SHA256[name])}"
            )
        _verify(staging / name, name)
        if target.exists():  # an incomplete earlier copy: move it aside, removed with staging
            os.replace(target, staging / "previous")
        try:
            os.replace(staging / name, target)
        except OSError:
            if not _has_files(target, name):  # not another process finishing first: a real error
                raise
            _verify(target, name)
    finally:
        part.unlink(missing_ok=True)
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
