"""Real-data loaders: MovieLens (local copies, checksums, download) and Taobao UserBehavior."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from seqlib.data import DataIntegrityError, load_movielens, load_taobao
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
    return sorted(folder.rglob("*")) if folder.exists() else []


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


def test_taobao_real_copy(monkeypatch):
    monkeypatch.setenv("SEQLIB_DATA_DIR", str(SHARED))
    log = load_taobao()
    assert list(log.columns) == ["user_id", "item_id", "cate_id", "timestamp", "behavior"]
    assert len(log) == 84_475
    assert log["user_id"].nunique() == 815
    assert set(log["behavior"].unique()) == {"pv", "cart", "fav", "buy"}
    assert log["behavior"].value_counts()["buy"] == 1_750
    assert log["user_id"].is_monotonic_increasing


def test_taobao_max_users_reads_first_users_across_chunks(monkeypatch):
    path = SHARED / "taobao" / "UserBehavior.csv"
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


@pytest.mark.parametrize("error", [ConnectionResetError("connection reset"), KeyboardInterrupt()])
def test_interrupted_download_keeps_nothing(tmp_path, monkeypatch, error):
    _serve_zip(tmp_path, monkeypatch, _fake_ml100k())
    monkeypatch.setattr(movielens, "urlopen", lambda url, timeout: _BrokenStream(error))
    expected = RuntimeError if isinstance(error, OSError) else KeyboardInterrupt
    with pytest.raises(expected) as info:
        load_movielens("ml-100k", progress=False)
    if expected is RuntimeError:
        assert movielens.ARCHIVES["ml-100k"].url in str(info.value)
        assert "unzip" in str(info.value)
    assert _files_under(tmp_path / "cache") == []


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
