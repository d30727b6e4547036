"""Real-data loaders: MovieLens (local copies, checksums, download) and Taobao UserBehavior."""

from __future__ import annotations

import errno
import fcntl
import hashlib
import http.client
import http.server
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pandas as pd
import pytest

from seqlib.data import DataIntegrityError, DownloadError, load_movielens, load_taobao
from seqlib.data import movielens, taobao

ROOT = Path(__file__).resolve().parents[1]


def _shared_data() -> Path:
    """The read-only real copies: ``$SEQLIB_DATA_DIR`` (relative paths from the project root)."""
    value = os.environ.get("SEQLIB_DATA_DIR")
    if value:
        path = Path(value)
        return path if path.is_absolute() else (ROOT / path).resolve()
    return ROOT.parent / "shared" / "data"


SHARED = _shared_data()
ML100K_FILES = ("u.data", "u.item", "u.user", "u.genre")


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path, monkeypatch):
    """Every test gets an empty cache folder and no ``SEQLIB_DATA_DIR`` unless it sets one."""
    monkeypatch.setenv("SEQLIB_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("SEQLIB_DATA_DIR", raising=False)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _files_under(folder: Path) -> list[Path]:
    """Everything under ``folder`` but the empty lock files ``.<name>.lock`` downloads leave."""
    paths = sorted(folder.rglob("*")) if folder.exists() else []
    locks = [p for p in paths if p.name.endswith(".lock")]
    assert all(p.parent == folder and p.stat().st_size == 0 for p in locks), locks
    return [p for p in paths if p not in locks]


# ----------------------------------------------------------------------------- real copies


def test_ml100k_real_copy():
    log = load_movielens("ml-100k", data_dir=SHARED / "ml-100k", download=False)
    assert list(log.columns) == ["user_id", "item_id", "cate_id", "timestamp", "label", "rating"]
    assert all(dtype == np.int64 for dtype in log.dtypes)
    assert len(log) == 100_000
    assert log["user_id"].nunique() == 943
    assert log["item_id"].nunique() == 1_682
    assert log["label"].sum() == 55_375  # 55.4 % of ratings are 4 or 5
    assert (log["label"] == (log["rating"] >= 4)).all()
    assert log["cate_id"].between(1, 19).all()
    assert (log["cate_id"] == 19).sum() == 10  # the "unknown" genre has its own id
    assert log.loc[log["item_id"] == 1, "cate_id"].iloc[0] == 3  # Toy Story: Animation first
    assert log["timestamp"].between(874_724_710, 893_286_638).all()  # 1997-09 to 1998-04
    keys = log[["user_id", "timestamp"]].to_numpy()
    assert (np.diff(keys[:, 0]) >= 0).all()
    same_user = np.diff(keys[:, 0]) == 0
    assert (np.diff(keys[:, 1])[same_user] >= 0).all()


def test_ml1m_real_copy_through_env(monkeypatch):
    monkeypatch.setenv("SEQLIB_DATA_DIR", str(SHARED))
    log = load_movielens("ml-1m", download=False)
    assert len(log) == 1_000_209
    assert log["user_id"].nunique() == 6_040
    assert log["item_id"].nunique() == 3_706
    assert log["label"].sum() == 575_281
    assert log["cate_id"].between(1, 18).all()
    assert log.loc[log["item_id"] == 1, "cate_id"].iloc[0] == 3  # Animation|Children's|Comedy
    assert log.loc[log["item_id"] == 2, "cate_id"].iloc[0] == 2  # Adventure|Children's|Fantasy
    assert log["user_id"].is_monotonic_increasing


def test_relative_data_dir_resolves_from_the_checkout(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # e.g. a notebook running in book/
    monkeypatch.setenv("SEQLIB_DATA_DIR", os.path.relpath(SHARED, ROOT))
    log = load_movielens("ml-100k", download=False)
    assert len(log) == 100_000


@pytest.mark.requires_taobao
def test_taobao_real_copy(taobao_csv, monkeypatch):
    monkeypatch.setenv("SEQLIB_DATA_DIR", str(taobao_csv.parents[1]))
    log = load_taobao()
    assert list(log.columns) == ["user_id", "item_id", "cate_id", "timestamp", "behavior"]
    assert len(log) == 84_475
    assert log["user_id"].nunique() == 815
    assert set(log["behavior"].unique()) == {"pv", "cart", "fav", "buy"}
    assert log["behavior"].value_counts()["buy"] == 1_750
    assert log["user_id"].is_monotonic_increasing


@pytest.mark.requires_taobao
def test_taobao_max_users_reads_first_users_across_chunks(taobao_csv, monkeypatch):
    path = taobao_csv
    small = load_taobao(path, max_users=10)
    assert small["user_id"].nunique() == 10
    first_ten = pd.read_csv(path, header=None, usecols=[0])[0].unique()[:10]
    assert set(small["user_id"]) == set(first_ten)
    full = load_taobao(path)
    assert len(small) == full["user_id"].isin(first_ten).sum()
    monkeypatch.setattr(taobao, "_CHUNK_ROWS", 7)  # users now span several chunks
    pd.testing.assert_frame_equal(load_taobao(path, max_users=10), small)


# ----------------------------------------------------------------------------- checksums


def test_checksum_mismatch_names_the_file(tmp_path):
    folder = tmp_path / "ml-100k"
    folder.mkdir()
    for file in ML100K_FILES:
        shutil.copy(SHARED / "ml-100k" / file, folder / file)
    data = bytearray((folder / "u.data").read_bytes())
    data[10] = ord("9") if data[10] != ord("9") else ord("8")
    (folder / "u.data").write_bytes(bytes(data))
    with pytest.raises(DataIntegrityError, match="u.data") as info:
        load_movielens("ml-100k", data_dir=tmp_path)  # a parent of ml-100k/ works too
    assert movielens.FILE_SHA256["ml-100k"]["u.data"] in str(info.value)
    assert _sha256(bytes(data)) in str(info.value)


def test_hashes_are_computed_once_per_process(monkeypatch):
    load_movielens("ml-100k", data_dir=SHARED / "ml-100k")

    def no_hashing(*args):
        raise AssertionError("file hashed again")

    monkeypatch.setattr(movielens.hashlib, "sha256", no_hashing)
    assert len(load_movielens("ml-100k", data_dir=SHARED / "ml-100k")) == 100_000


# ----------------------------------------------------------------------------- download


def _fake_ml100k() -> dict[str, bytes]:
    """A tiny ml-100k: 2 users, 3 movies (Action|Comedy, unknown, Drama), 5 ratings."""
    genres = ["unknown", *movielens.GENRES]
    flags = {1: ["Action", "Comedy"], 2: ["unknown"], 3: ["Drama"]}
    items = "".join(
        f"{i}|Movie {i} (1995)|01-Jan-1995||http://x|"
        + "|".join("1" if g in flags[i] else "0" for g in genres)
        + "\n"
        for i in flags
    )
    return {
        "u.data": b"2\t1\t5\t300\n1\t3\t2\t200\n1\t2\t4\t100\n2\t3\t3\t300\n1\t1\t4\t100\n",
        "u.item": items.encode("latin-1"),
        "u.user": b"1|24|M|technician|85711\n2|53|F|other|94043\n",
        "u.genre": "".join(f"{g}|{i}\n" for i, g in enumerate(genres)).encode() + b"\n",
    }


def _serve_zip(
    tmp_path: Path, monkeypatch, files: dict[str, bytes], hashes: dict[str, bytes] | None = None
) -> bytes:
    """Zip ``files`` under ml-100k/, point the ml-100k URL at it and expect the given hashes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for file, data in files.items():
            zf.writestr(f"ml-100k/{file}", data)
    archive = buffer.getvalue()
    path = tmp_path / "served" / "ml-100k.zip"
    path.parent.mkdir()
    path.write_bytes(archive)
    served = movielens.Archive(path.as_uri(), len(archive), _sha256(archive))
    monkeypatch.setitem(movielens.ARCHIVES, "ml-100k", served)
    expected = hashes if hashes is not None else files
    hashed = {file: _sha256(data) for file, data in expected.items()}
    monkeypatch.setitem(movielens.FILE_SHA256, "ml-100k", hashed)
    return archive


def test_download_into_cache(tmp_path, monkeypatch):
    _serve_zip(tmp_path, monkeypatch, _fake_ml100k())
    log = load_movielens("ml-100k", progress=False)
    assert log[["user_id", "item_id", "timestamp", "rating"]].values.tolist() == [
        [1, 2, 100, 4], [1, 1, 100, 4], [1, 3, 200, 2], [2, 1, 300, 5], [2, 3, 300, 3],
    ]  # fmt: skip
    assert log["cate_id"].tolist() == [19, 1, 8, 1, 8]  # unknown -> 19, Action -> 1, Drama -> 8
    assert log["label"].tolist() == [1, 1, 0, 1, 0]
    cache = tmp_path / "cache"
    placed = [cache / "ml-100k" / file for file in sorted(ML100K_FILES)]
    assert _files_under(cache) == [cache / "ml-100k", *placed]
    (tmp_path / "served" / "ml-100k.zip").unlink()  # the cached copy is used from now on
    assert len(load_movielens("ml-100k", download=False)) == 5


def test_download_replaces_an_incomplete_copy(tmp_path, monkeypatch):
    _serve_zip(tmp_path, monkeypatch, _fake_ml100k())
    stale = tmp_path / "cache" / "ml-100k"
    stale.mkdir(parents=True)
    (stale / "u.data").write_bytes(b"half")
    assert len(load_movielens("ml-100k", progress=False)) == 5
    assert not any(p.name.startswith(".") for p in _files_under(tmp_path / "cache"))


def test_archive_checksum_mismatch_keeps_nothing(tmp_path, monkeypatch):
    _serve_zip(tmp_path, monkeypatch, _fake_ml100k())
    archive = movielens.ARCHIVES["ml-100k"]
    monkeypatch.setitem(movielens.ARCHIVES, "ml-100k", archive._replace(sha256="0" * 64))
    with pytest.raises(DataIntegrityError, match="0{64}"):
        load_movielens("ml-100k", progress=False)
    assert _files_under(tmp_path / "cache") == []


def test_extracted_file_mismatch_keeps_nothing(tmp_path, monkeypatch):
    files = _fake_ml100k()
    _serve_zip(tmp_path, monkeypatch, {**files, "u.item": files["u.item"] + b"\n"}, hashes=files)
    with pytest.raises(DataIntegrityError, match="u.item"):
        load_movielens("ml-100k", progress=False)
    assert _files_under(tmp_path / "cache") == []


class _BrokenStream:
    """A response that sends one block and then fails with ``error``."""

    def __init__(self, error: BaseException):
        self.error = error
        self.sent = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def read(self, size: int) -> bytes:
        if self.sent:
            raise self.error
        self.sent = True
        return b"x" * size


@pytest.mark.parametrize(
    "error",
    [ConnectionResetError("connection reset"), http.client.IncompleteRead(b"x" * 10, 90), KeyboardInterrupt()],
)
def test_interrupted_download_keeps_nothing(tmp_path, monkeypatch, error):
    _serve_zip(tmp_path, monkeypatch, _fake_ml100k())
    monkeypatch.setattr(movielens, "urlopen", lambda url, timeout: _BrokenStream(error))
    expected = KeyboardInterrupt if isinstance(error, KeyboardInterrupt) else DownloadError
    with pytest.raises(expected) as info:
        load_movielens("ml-100k", progress=False)
    if expected is DownloadError:
        assert isinstance(info.value, RuntimeError)
        assert movielens.ARCHIVES["ml-100k"].url in str(info.value)
        assert type(error).__name__ in str(info.value)
        assert "unzip" in str(info.value)
    assert _files_under(tmp_path / "cache") == []


# ----------------------------------------------------------------------------- full or read-only cache


class _FullDisk:
    """A file object whose writes fail as on a full disk (ENOSPC)."""

    def __init__(self, file):
        self.file = file
        self.writes = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.file.close()
        return False

    def write(self, data: bytes) -> int:
        self.writes += 1
        raise OSError(errno.ENOSPC, "No space left on device")


def _assert_cache_message(message: str, cache: Path, problem: str) -> None:
    """The message names the cache folder, the problem and the remedies, and no network advice."""
    assert str(cache) in message and problem in message
    assert "SEQLIB_CACHE_DIR" in message and "SEQLIB_DATA_DIR/ml-100k" in message
    assert "internet" not in message


def test_disk_full_while_downloading_names_the_folder(tmp_path, monkeypatch):
    _serve_zip(tmp_path, monkeypatch, _fake_ml100k())
    opened: list[_FullDisk] = []
    real_fdopen = os.fdopen

    def full_disk(fd, mode):
        opened.append(_FullDisk(real_fdopen(fd, mode)))
        return opened[-1]

    monkeypatch.setattr(movielens.os, "fdopen", full_disk)
    with pytest.raises(OSError) as info:
        load_movielens("ml-100k", progress=False)
    assert opened and opened[0].writes == 1  # the failing write was really reached
    assert info.value.errno == errno.ENOSPC
    _assert_cache_message(str(info.value), tmp_path / "cache", "no space left")
    assert _files_under(tmp_path / "cache") == []


def test_disk_full_while_extracting_names_the_folder(tmp_path, monkeypatch):
    _serve_zip(tmp_path, monkeypatch, _fake_ml100k())
    calls = []

    def half_extract(self, path):  # one file written, then the disk is full
        calls.append(path)
        (Path(path) / "ml-100k").mkdir()
        (Path(path) / "ml-100k" / "u.data").write_bytes(b"1\t1")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(zipfile.ZipFile, "extractall", half_extract)
    with pytest.raises(OSError) as info:
        load_movielens("ml-100k", progress=False)
    assert len(calls) == 1
    _assert_cache_message(str(info.value), tmp_path / "cache", "no space left")
    assert _files_under(tmp_path / "cache") == []


@pytest.mark.parametrize("step", ["mkdir", "lock", "mkstemp", "replace"])
def test_read_only_cache_names_the_folder(tmp_path, monkeypatch, step):
    """Tests may run as root, whom chmod does not stop, so each write step is made to fail the
    way a read-only folder makes it fail; the test checks that the step was really reached."""
    _serve_zip(tmp_path, monkeypatch, _fake_ml100k())
    cache = tmp_path / "cache"
    reached = []

    def refuse(*args, **kwargs):
        reached.append(step)
        raise OSError(errno.EROFS, "Read-only file system")

    if step == "mkdir":
        monkeypatch.setattr(movielens.Path, "mkdir", refuse)
    elif step == "lock":
        real_open = os.open
        monkeypatch.setattr(movielens.os, "open", lambda p, *a, **k: refuse() if str(p).endswith(".lock") else real_open(p, *a, **k))
    elif step == "mkstemp":
        monkeypatch.setattr(movielens.tempfile, "mkstemp", refuse)
    else:
        real_replace = os.replace
        target = cache / "ml-100k"
        monkeypatch.setattr(movielens.os, "replace", lambda a, b: refuse() if Path(b) == target else real_replace(a, b))
    with pytest.raises(OSError) as info:
        load_movielens("ml-100k", progress=False)
    assert reached == [step]
    _assert_cache_message(str(info.value), cache, "is not writable")
    assert _files_under(cache) == []


# ----------------------------------------------------------------------------- checksum memo


def test_file_edited_in_place_with_its_mtime_restored_is_hashed_again(tmp_path):
    folder = tmp_path / "ml-100k"
    folder.mkdir()
    for file in ML100K_FILES:
        shutil.copy(SHARED / "ml-100k" / file, folder / file)
    assert len(load_movielens("ml-100k", data_dir=folder)) == 100_000  # hashed and remembered
    path = folder / "u.data"
    before = path.stat()
    data = bytearray(path.read_bytes())
    data[10] = ord("9") if data[10] != ord("9") else ord("8")
    with open(path, "r+b") as f:  # same inode, same size
        f.write(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    for _ in range(1000):  # the file system clock may be coarse: make sure ctime has moved
        if path.stat().st_ctime_ns != before.st_ctime_ns:
            break
        time.sleep(0.005)
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = path.stat()
    assert (after.st_size, after.st_mtime_ns, after.st_ino) == (before.st_size, before.st_mtime_ns, before.st_ino)
    with pytest.raises(DataIntegrityError, match="u.data"):
        load_movielens("ml-100k", data_dir=folder)


# ----------------------------------------------------------------------------- real processes


def _slow_zip() -> tuple[bytes, dict[str, bytes]]:
    """The fake ml-100k zipped with a stored 1 MB padding file, so that a download takes many
    reads and can be caught half-way."""
    files = _fake_ml100k()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for file, data in files.items():
            zf.writestr(f"ml-100k/{file}", data)
        zf.writestr("ml-100k/padding.bin", bytes(range(256)) * 4096, compress_type=zipfile.ZIP_STORED)
    return buffer.getvalue(), files


class _SlowServer:
    """Serves one archive on 127.0.0.1: the first ``head`` bytes of every response at once, the
    rest only when ``gate`` is set. Counts the requests."""

    def __init__(self, data: bytes, head: int) -> None:
        self.data, self.head, self.gate, self.requests = data, head, threading.Event(), 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
                server.requests += 1
                self.send_response(200)
                self.send_header("Content-Length", str(len(server.data)))
                self.end_headers()
                try:
                    self.wfile.write(server.data[: server.head])
                    self.wfile.flush()
                    server.gate.wait(timeout=300)
                    self.wfile.write(server.data[server.head :])
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client was killed

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/ml-100k.zip"

    def close(self) -> None:
        self.gate.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=30)


@pytest.fixture
def slow_server(monkeypatch) -> Iterator[tuple[_SlowServer, dict]]:
    """A :class:`_SlowServer` for the padded zip, the loader in this process pointed at it, and
    the spec a loader subprocess needs (url, size, sha256, file hashes)."""
    data, files = _slow_zip()
    server = _SlowServer(data, head=256 * 1024)
    spec = {"url": server.url, "size": len(data), "sha256": _sha256(data),
            "files": {file: _sha256(content) for file, content in files.items()}}
    monkeypatch.setitem(movielens.ARCHIVES, "ml-100k", movielens.Archive(server.url, len(data), spec["sha256"]))
    monkeypatch.setitem(movielens.FILE_SHA256, "ml-100k", spec["files"])
    try:
        yield server, spec
    finally:
        server.close()


_LOADER = """
import json, pathlib, signal, sys, time, zipfile
signal.signal(signal.SIGINT, signal.default_int_handler)  # Ctrl-C raises even if the parent ignores it
from seqlib.data import movielens
spec = json.loads(sys.argv[1])
movielens.ARCHIVES["ml-100k"] = movielens.Archive(spec["url"], spec["size"], spec["sha256"])
movielens.FILE_SHA256["ml-100k"] = spec["files"]
if spec.get("hang_after_extract"):
    extract = zipfile.ZipFile.extractall
    def extract_then_hang(self, path):
        extract(self, path)
        pathlib.Path(spec["hang_after_extract"]).touch()
        time.sleep(600)
    zipfile.ZipFile.extractall = extract_then_hang
print(len(movielens.load_movielens("ml-100k", progress=spec.get("progress", False))), flush=True)
"""


@pytest.fixture
def loaders(tmp_path) -> Iterator[Callable[..., subprocess.Popen]]:
    """Starts ``load_movielens("ml-100k")`` in subprocesses using the test's cache folder; kills
    any still running at the end."""
    started: list[subprocess.Popen] = []
    env = {k: v for k, v in os.environ.items() if k != "SEQLIB_DATA_DIR"}
    env["SEQLIB_CACHE_DIR"] = str(tmp_path / "cache")

    def start(spec: dict, stderr: Path | None = None) -> subprocess.Popen:
        err = open(stderr, "wb") if stderr else subprocess.DEVNULL
        proc = subprocess.Popen([sys.executable, "-c", _LOADER, json.dumps(spec)], env=env,
                                stdout=subprocess.PIPE, stderr=err)
        started.append(proc)
        return proc

    try:
        yield start
    finally:
        for proc in started:
            if proc.poll() is None:
                proc.kill()
            proc.wait()


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll ``condition`` until it holds; fail naming ``what`` after five minutes (a hang guard,
    not a speed check)."""
    deadline = time.monotonic() + 300
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _temporaries(cache: Path) -> list[Path]:
    return sorted(p for p in cache.glob(".ml-100k-*") if p.name.endswith((".zip.part", ".tmp")))


def _part_has_bytes(cache: Path, n: int) -> bool:
    return any(p.is_file() and p.stat().st_size >= n for p in _temporaries(cache))


def test_killed_download_leaves_a_part_file_that_the_next_run_removes(tmp_path, slow_server, loaders):
    server, spec = slow_server
    cache = tmp_path / "cache"
    proc = loaders(spec)
    _wait_for(lambda: _part_has_bytes(cache, 64 * 1024), "the download to start writing")
    proc.kill()  # SIGKILL: no Python code runs, so the .zip.part stays behind
    proc.wait()
    assert [p.name.endswith(".zip.part") for p in _temporaries(cache)] == [True]
    assert not (cache / "ml-100k").exists()
    server.gate.set()
    assert len(load_movielens("ml-100k", progress=False)) == 5
    placed = [cache / "ml-100k" / file for file in sorted([*ML100K_FILES, "padding.bin"])]
    assert _files_under(cache) == [cache / "ml-100k", *placed]


def test_interrupted_download_process_removes_its_part_file(tmp_path, slow_server, loaders):
    _, spec = slow_server
    cache = tmp_path / "cache"
    proc = loaders(spec)
    _wait_for(lambda: _part_has_bytes(cache, 64 * 1024), "the download to start writing")
    proc.send_signal(signal.SIGINT)  # Ctrl-C: KeyboardInterrupt, the clean-up runs
    assert proc.wait() != 0
    assert _files_under(cache) == []


def test_killed_extraction_leaves_a_folder_that_the_next_run_removes(tmp_path, slow_server, loaders):
    server, spec = slow_server
    cache = tmp_path / "cache"
    server.gate.set()
    marker = tmp_path / "extracted"
    proc = loaders({**spec, "hang_after_extract": str(marker)})
    _wait_for(marker.exists, "the extraction to finish")
    proc.kill()
    proc.wait()
    left = _temporaries(cache)  # the extraction folder, and the zip it was extracted from
    assert sorted(p.suffix for p in left) == [".part", ".tmp"]
    assert [p for p in left if p.suffix == ".tmp"][0].joinpath("ml-100k", "u.data").is_file()
    assert len(load_movielens("ml-100k", progress=False)) == 5
    assert _temporaries(cache) == []


def test_second_downloader_waits_and_uses_the_first_ones_copy(tmp_path, slow_server, loaders):
    server, spec = slow_server
    cache = tmp_path / "cache"
    first = loaders(spec)
    _wait_for(lambda: _part_has_bytes(cache, 64 * 1024), "the first download to start writing")
    second_err = tmp_path / "second.err"
    second = loaders({**spec, "progress": True}, stderr=second_err)
    _wait_for(lambda: b"waiting for another process" in second_err.read_bytes(), "the second loader to wait")
    assert _part_has_bytes(cache, 64 * 1024) and len(_temporaries(cache)) == 1  # the second wrote nothing
    server.gate.set()
    assert first.wait() == 0 and first.stdout.read().strip() == b"5"
    placed = (cache / "ml-100k").stat().st_ino
    assert second.wait() == 0 and second.stdout.read().strip() == b"5"
    assert server.requests == 1  # the second used the verified copy instead of downloading
    assert (cache / "ml-100k").stat().st_ino == placed  # and never moved it aside
    assert _temporaries(cache) == []


def test_temporaries_are_swept_when_the_cache_copy_is_used_unless_a_download_runs(tmp_path, slow_server):
    server, _ = slow_server
    server.gate.set()
    cache = tmp_path / "cache"
    assert len(load_movielens("ml-100k", progress=False)) == 5
    stale = [cache / ".ml-100k-dead.tmp", cache / ".ml-100k-dead.zip.part"]  # sorted by name
    stale[1].write_bytes(b"half an archive")
    stale[0].mkdir()
    (stale[0] / "u.data").write_bytes(b"half a file")
    fd = os.open(cache / ".ml-100k.lock", os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as a live download would hold it
    try:
        assert len(load_movielens("ml-100k", progress=False)) == 5
        assert _temporaries(cache) == stale  # they may belong to that download: kept
    finally:
        os.close(fd)
    assert len(load_movielens("ml-100k", progress=False)) == 5
    assert _temporaries(cache) == []


def test_unreachable_url_is_a_clear_error(tmp_path, monkeypatch):
    _serve_zip(tmp_path, monkeypatch, _fake_ml100k())
    (tmp_path / "served" / "ml-100k.zip").unlink()
    with pytest.raises(RuntimeError, match="could not download file://"):
        load_movielens("ml-100k", progress=False)
    assert _files_under(tmp_path / "cache") == []


# ----------------------------------------------------------------------------- bad input


def test_unknown_name_lists_known_ones():
    with pytest.raises(ValueError, match="ml-100k.*ml-1m"):
        load_movielens("ml-20m")


def test_no_local_copy_without_download(tmp_path, monkeypatch):
    monkeypatch.setenv("SEQLIB_DATA_DIR", str(tmp_path / "empty"))
    with pytest.raises(FileNotFoundError, match="empty.*ml-1m.*cache.*ml-1m"):
        load_movielens("ml-1m", download=False)
    with pytest.raises(FileNotFoundError, match="neither"):
        load_movielens("ml-1m", data_dir=tmp_path)
    assert _files_under(tmp_path / "cache") == []


def test_taobao_missing_file_explains_where():
    with pytest.raises(FileNotFoundError, match="Tianchi.*SEQLIB_DATA_DIR/taobao/UserBehavior.csv"):
        load_taobao()


@pytest.mark.parametrize(
    "text, problem",
    [
        ("1,2,3,pv,100\n1,2,3,pv,100,7\n", "Expected 5 fields in line 2"),
        ("1,2,3,pv,100,7\n1,2,3,pv,100,7\n", "5 comma-separated fields"),
        ("1,2,3,pv,100\n1,2,3,pv,1x\n", "'1x'"),
        ("user_id,item_id,category_id,behavior_type,timestamp\n", "'user_id'"),
        ("1,2,3,pv,100\n1,2,3,click,100\n", "line 2 has unknown behaviour type 'click'"),
        ("1,2,3,pv,100\n1,2,3,,100\n", "line 2 has missing fields"),
        ("", "No columns"),
    ],
)
def test_taobao_malformed_file(tmp_path, text, problem):
    path = tmp_path / "UserBehavior.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match="UserBehavior.csv is not the expected format") as info:
        load_taobao(path)
    assert problem in str(info.value)


@pytest.mark.parametrize("max_users", [0, -1, 2.5, True])
def test_taobao_bad_max_users(tmp_path, max_users):
    with pytest.raises(ValueError, match="max_users"):
        load_taobao(tmp_path / "missing.csv", max_users=max_users)
