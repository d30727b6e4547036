"""MovieLens-100K and -1M as interaction logs (book chapter 1, "Three data sets").

The loader looks for the official files in a given folder, in ``$SEQLIB_DATA_DIR/<name>/`` or in
the user cache folder (see :mod:`seqlib.data.paths`), verifies each file's sha256 and otherwise
downloads the official zip from GroupLens with a progress bar. The download is verified before
anything is kept: the archive goes to a temporary file, is extracted into a temporary sibling
folder, checked file by file and moved into place with one ``os.replace``; a failure at any step
removes the temporary files, so the cache never holds a half-written copy.

Several processes may share the cache. A download holds an exclusive lock on
``<cache>/.<name>.lock`` (``fcntl.flock``, released by the kernel even when the process is
killed) from before its first temporary file is created until after its last one is removed. So:

* a second downloader waits for the lock, then finds the verified copy the first one placed and
  uses it: a verified copy is never moved aside or replaced;
* temporaries (``.<name>-*.zip.part`` files, ``.<name>-*.tmp`` folders) found by a process that
  holds the lock belong to no live download; they are left only by a process killed with no
  chance to clean up (``SIGKILL``, a power cut) and are removed by the next load that sees them.

Without ``fcntl`` (Windows) there is no lock: run one downloader at a time there. A full disk,
a read-only cache folder and a broken connection each give a message that names the folder and
what to do.

MovieLens terms forbid redistribution, so ``seqlib`` ships no copy: every reader downloads their
own from GroupLens.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import http.client
import os
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import BinaryIO, Iterator, NamedTuple
from urllib.request import urlopen

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from seqlib.data.paths import CACHE_DIR_ENV, DATA_DIR_ENV, cache_dir, env_data_dir
from seqlib.data.validate import validate_log

try:
    import fcntl
except ImportError:  # Windows: no advisory locks (see the module docstring)
    fcntl = None  # type: ignore[assignment]


class DataIntegrityError(ValueError):
    """A data file or downloaded archive does not have the expected sha256."""


class DownloadError(RuntimeError):
    """Fetching an official archive failed (no connection, a timeout, a connection cut short)."""


class CacheConflict(FileExistsError):
    """The cache folder of a data set holds something the loader did not write (a file of the
    user's, a link); the loader refuses to replace it rather than delete it."""


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

# sha256 already computed in this process, keyed on (path, size, mtime, inode, ctime); see _sha256.
_HASHES: dict[tuple[str, int, int, int, int], str] = {}


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
    downloaded into when missing. Each file's sha256 is checked once per process while the file
    stays unchanged (see :func:`_sha256` for what "unchanged" trusts).

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
        ValueError: ``name`` is not a known data set, or ``download``/``progress`` is not a bool.
        FileNotFoundError: ``data_dir`` lacks the files, or there is no local copy and
            ``download`` is false.
        DataIntegrityError: a file or the downloaded archive has the wrong sha256.
        DownloadError: the download failed (a ``RuntimeError``; the message says how to place
            the files by hand).
        OSError: the cache folder is full or not writable (the message names the folder and
            the remedy).
    """
    if not isinstance(name, str) or name not in FILE_SHA256:
        raise ValueError(f"unknown MovieLens data set {name!r}; known: {sorted(FILE_SHA256)}")
    for flag, value in (("download", download), ("progress", progress)):
        if not isinstance(value, bool):
            raise ValueError(f"{flag} must be True or False, got {value!r}")
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
        _sweep_if_free(target.parent, name)
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
    """The sha256 hex digest of a file, computed once per process per version of the file.

    A version is ``(path, size, mtime, inode, ctime)`` (times in ns). The memo trusts that a
    file whose five are all unchanged has unchanged content. An edit in place moves ``ctime``
    even when ``mtime`` is set back (``os.utime`` and ``touch`` cannot set ``ctime``), and a
    replaced file has a new inode. What would go unnoticed: an edit within the same tick of the
    file system's clock (a few ms) as the file's previous change, a rewound system clock, or
    writes to the disk beneath the file system. A new process always hashes again.
    """
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ino, stat.st_ctime_ns)
    if key not in _HASHES:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        _HASHES[key] = digest.hexdigest()
    return _HASHES[key]


def _download(name: str, root: Path, progress: bool) -> None:
    """Download, verify and extract the official zip of ``name`` into ``root/name`` atomically,
    holding the data set's lock (see the module docstring); a copy another process completed
    meanwhile is used as it is.

    Raises:
        DataIntegrityError: the archive or an extracted file has the wrong sha256.
        DownloadError: the download failed.
        OSError: ``root`` is full or not writable (the message names it and the remedy).
    """
    target = root / name
    try:
        root.mkdir(parents=True, exist_ok=True)
        with _cache_lock(root, name, wait=True, progress=progress):
            _sweep(root, name)
            if _has_files(target, name):  # another process finished while we waited
                _verify(target, name)
                return
            _fetch_and_place(name, root, progress)
    except CacheConflict:
        raise  # its message already names the file and the remedy
    except OSError as exc:  # network errors are DownloadErrors by now: this is the cache folder
        raise _cache_error(exc, root, name) from exc


def _fetch_and_place(name: str, root: Path, progress: bool) -> None:
    """The download itself (call with the lock held): temporary zip, temporary folder, checks,
    one ``os.replace``; every temporary is removed on any exit Python sees."""
    archive = ARCHIVES[name]
    target = root / name
    fd, part_name = tempfile.mkstemp(prefix=f".{name}-", suffix=".zip.part", dir=root)
    part = Path(part_name)
    staging: Path | None = None
    try:
        with os.fdopen(fd, "wb") as out:
            actual = _fetch(archive, out, name, target, progress)
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
        if target.exists() or target.is_symlink():  # an incomplete copy (a verified one is used above)
            _check_only_ours(target, staging / name, name)
            os.replace(target, staging / "previous")  # removed with staging
        os.replace(staging / name, target)
    finally:
        part.unlink(missing_ok=True)
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)


def _check_only_ours(target: Path, fresh: Path, name: str) -> None:
    """Raise :class:`CacheConflict` unless everything in the incomplete copy ``target`` is a file
    the archive holds too (``fresh`` is the archive's verified extraction): the loader replaces
    only what it wrote, never a file or link the user put there.
    """
    if target.is_symlink() or not target.is_dir():
        kind = "a link" if target.is_symlink() else "a file"
        foreign = [target]
        what = f"{target} is {kind}, not the folder the loader writes"
    else:
        ours = {p.relative_to(fresh) for p in fresh.rglob("*")}
        foreign = [p for p in sorted(target.rglob("*")) if p.relative_to(target) not in ours or p.is_symlink()]
        kind = "files"
        what = f"the incomplete copy {target} holds {len(foreign)} item(s) that are not part of the {name} archive"
    if foreign:
        shown = ", ".join(str(p) for p in foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise CacheConflict(
            errno.EEXIST,
            f"{what} ({shown}); the loader replaces an incomplete copy only when it holds nothing but the "
            f"archive's own files, and never deletes a file it did not write. Move {'them' if len(foreign) > 1 else 'it'} "
            f"out of {target.parent} (or delete {target} yourself), then load {name} again.",
        )


def _fetch(archive: Archive, out: BinaryIO, name: str, target: Path, progress: bool) -> str:
    """Stream ``archive.url`` into ``out``; returns the sha256 of what was received.

    Errors of the connection become :class:`DownloadError`; errors of ``out.write`` (a full
    disk) propagate as ``OSError`` for :func:`_cache_error`.
    """
    digest = hashlib.sha256()

    def failed(exc: BaseException) -> DownloadError:
        return DownloadError(
            f"could not download {archive.url} ({type(exc).__name__}: {exc}). Try again later; "
            f"without internet access, download the zip elsewhere and unzip it so that {target} "
            f"or ${DATA_DIR_ENV}/{name} holds {sorted(FILE_SHA256[name])}."
        )

    try:
        response = urlopen(archive.url, timeout=60)
    except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, refused connections
        raise failed(exc) from exc
    bar = tqdm(total=archive.size, unit="B", unit_scale=True, unit_divisor=1024, desc=f"{name}.zip",
               disable=not progress)
    with response, bar:
        while True:
            try:
                chunk = response.read(1 << 16)
            except (OSError, http.client.HTTPException) as exc:  # resets, IncompleteRead
                raise failed(exc) from exc
            if not chunk:
                break
            out.write(chunk)
            digest.update(chunk)
            bar.update(len(chunk))
    return digest.hexdigest()


def _cache_error(exc: OSError, root: Path, name: str) -> OSError:
    """An ``OSError`` met while writing into the cache folder, re-worded to name the folder and
    the remedy: a full disk, a read-only folder, or anything else."""
    archive = ARCHIVES[name]
    by_hand = (
        f"or download {archive.url} yourself and unzip it into ${DATA_DIR_ENV}/{name} "
        f"(a folder holding {sorted(FILE_SHA256[name])})"
    )
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        problem = (
            f"no space left in the cache folder {root} while storing MovieLens {name} "
            f"(the zip is {archive.size / 1e6:.1f} MB and its files take several times that)"
        )
        remedy = f"free some space there, set {CACHE_DIR_ENV} to a folder with room, {by_hand}"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        problem = f"the cache folder {root} is not writable ({exc.strerror})"
        remedy = f"set {CACHE_DIR_ENV} to a writable folder, {by_hand}"
    else:
        problem = f"could not store MovieLens {name} in the cache folder {root} ({exc})"
        remedy = f"check that folder, set {CACHE_DIR_ENV} to another one, {by_hand}"
    return OSError(exc.errno, f"{problem}. To fix: {remedy}.")


@contextlib.contextmanager
def _cache_lock(root: Path, name: str, wait: bool, progress: bool) -> Iterator[bool]:
    """Hold the exclusive lock ``root/.<name>.lock`` for the ``with`` block.

    Args:
        root: the cache folder (must exist).
        name: the data set.
        wait: block until the lock is free (saying so when ``progress``); else yield False at
            once when another process holds it.
        progress: print a line to stderr before waiting.

    Yields:
        Whether the lock is held.
    """
    fd = os.open(root / f".{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if fcntl is None:
            yield True
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                yield False
                return
            if progress:
                print(f"{name}: waiting for another process that is downloading it into {root}",
                      file=sys.stderr, flush=True)
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield True
    finally:
        os.close(fd)  # releases the lock


def _stale_temporaries(root: Path, name: str) -> list[Path]:
    """The download temporaries of ``name`` in ``root`` (stale when found with the lock held)."""
    return [p for p in root.glob(f".{name}-*") if p.name.endswith((".zip.part", ".tmp"))]


def _sweep(root: Path, name: str) -> None:
    """Remove the temporaries a killed download left (call with the lock held)."""
    for path in _stale_temporaries(root, name):
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _sweep_if_free(root: Path, name: str) -> None:
    """:func:`_sweep` when there is something to sweep and no download holds the lock; a cache
    folder we may not write to is left as it is (loading from it still works)."""
    if not _stale_temporaries(root, name):
        return
    with contextlib.suppress(OSError), _cache_lock(root, name, wait=False, progress=False) as held:
        if held:
            _sweep(root, name)
