"""Taobao is optional: ``have_taobao`` runs a section when the file is there and explains when not."""

from __future__ import annotations

from pathlib import Path

import pytest

from seqlib.data.optional import TAOBAO_URL, have_taobao, taobao_available, taobao_file, taobao_missing_note

ROW = "1,2268318,2520377,pv,1511544070\n"


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
