"""Taobao is optional: ``have_taobao`` runs a section when the file is there and explains when not;
a test that needs the file skips without it, and fails instead under ``.ci/run``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from seqlib.data.optional import TAOBAO_URL, have_taobao, taobao_available, taobao_file, taobao_missing_note

ROW = "1,2268318,2520377,pv,1511544070\n"
ROOT = Path(__file__).resolve().parents[1]


def test_missing_file_prints_where_and_what(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SEQLIB_DATA_DIR", str(tmp_path))
    assert taobao_file() is None and not taobao_available()
    assert have_taobao("one shopper's timeline.") is False
    out = capsys.readouterr().out
    assert out.count("\n") == 1, f"one sentence on one line, got {out!r}"
    assert "$SEQLIB_DATA_DIR/taobao/UserBehavior.csv" in out
    assert str(tmp_path) not in out, "the built book must not print the builder's local data path"
    assert TAOBAO_URL in out
    assert out.startswith("Skipped, no Taobao file: to see one shopper's timeline, put UserBehavior.csv"), out
    assert out.rstrip().endswith("and run this again."), out


def test_unset_data_dir_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SEQLIB_DATA_DIR", raising=False)
    assert "$SEQLIB_DATA_DIR/taobao/UserBehavior.csv" in taobao_missing_note("the table")


def test_present_file_runs_quietly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "taobao").mkdir()
    (tmp_path / "taobao" / "UserBehavior.csv").write_text(ROW, encoding="utf-8")
    monkeypatch.setenv("SEQLIB_DATA_DIR", str(tmp_path))
    assert taobao_file() == tmp_path / "taobao" / "UserBehavior.csv"
    assert have_taobao("the table") is True
    assert capsys.readouterr().out == ""


def test_empty_description_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEQLIB_DATA_DIR", str(tmp_path))
    with pytest.raises(ValueError, match="shows must say what"):
        have_taobao("  ")


def _run_taobao_test(data_dir: Path, require: str | None) -> subprocess.CompletedProcess:
    """Run one ``requires_taobao`` test in a child pytest with ``data_dir`` as the data folder."""
    env = {k: v for k, v in os.environ.items() if k != "SEQLIB_REQUIRE_OPTIONAL_DATA"}
    env["SEQLIB_DATA_DIR"] = str(data_dir)
    if require is not None:
        env["SEQLIB_REQUIRE_OPTIONAL_DATA"] = require
    test = "tests/test_loaders.py::test_taobao_real_copy"
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", test],
                          cwd=ROOT, env=env, capture_output=True, text=True, check=False)


def test_a_taobao_test_skips_with_the_path_and_fails_when_required(tmp_path: Path) -> None:
    missing = tmp_path / "taobao" / "UserBehavior.csv"
    skipped = _run_taobao_test(tmp_path, None)
    assert skipped.returncode == 0 and "1 skipped" in skipped.stdout, skipped.stdout
    assert f"optional Taobao file not found: {missing}" in skipped.stdout
    failed = _run_taobao_test(tmp_path, "1")
    assert failed.returncode == 1 and "1 error" in failed.stdout, failed.stdout
    assert f"the optional Taobao file is missing: no {missing}" in failed.stdout
    assert "SEQLIB_REQUIRE_OPTIONAL_DATA=1 (set by .ci/run) requires it" in failed.stdout


def test_ci_requires_the_optional_data() -> None:
    assert "export SEQLIB_REQUIRE_OPTIONAL_DATA=1" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
