"""The repository's tools: the build's execution report and the browser finder."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import nbformat
import pytest

from tooling import load_tool

ROOT = Path(__file__).resolve().parents[1]


exec_report = load_tool("exec_report")
find_browser = load_tool("find_browser")


def timed_cell(source: str, start: str, end: str | None, outputs: list[dict] | None = None) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["execution"] = {"iopub.execute_input": start, **({"shell.execute_reply": end} if end else {})}
    cell.outputs = [nbformat.from_dict(o) for o in outputs or []]
    return cell


def notebook(*cells: nbformat.NotebookNode) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# A chapter"), *cells]
    return nb


def test_report_lists_the_slowest_cells_first() -> None:
    nb = notebook(
        timed_cell("import torch", "2025-01-01T00:00:00.000Z", "2025-01-01T00:00:01.500Z"),
        timed_cell("fit(model)  # long", "2025-01-01T00:00:02.000Z", "2025-01-01T00:01:32.000Z"),
        timed_cell("plot()", "2025-01-01T00:01:33.000Z", "2025-01-01T00:01:36.000Z"),
        timed_cell("print(1)", "2025-01-01T00:01:36.000Z", "2025-01-01T00:01:36.100Z"),
    )
    line = exec_report.chapter_line("book/02_din", nb, 96.4, None, 600)
    assert line == ("book/02_din: 96 s; slowest: cell 2 90.0 s `fit(model)  # long`, cell 3 3.0 s `plot()`, "
                    "cell 1 1.5 s `import torch`")


def test_report_names_the_failing_cell_and_error() -> None:
    error = {"output_type": "error", "ename": "KeyError", "evalue": "'taobao'", "traceback": []}
    nb = notebook(
        timed_cell("x = 1", "2025-01-01T00:00:00Z", "2025-01-01T00:00:01Z"),
        timed_cell("results['taobao']", "2025-01-01T00:00:01Z", "2025-01-01T00:00:02Z", [error]),
    )
    line = exec_report.chapter_line("book/05_comparison", nb, 2.0, "CellExecutionError", 600)
    assert line.splitlines()[1] == "    FAILED at cell 2 (`results['taobao']`): KeyError: 'taobao'"


def test_report_explains_a_timeout_and_where_to_raise_it() -> None:
    interrupted = {"output_type": "error", "ename": "KeyboardInterrupt", "evalue": "", "traceback": []}
    for finished, outputs in ((None, []), ("2025-01-01T00:10:02Z", [interrupted])):  # as nbclient leaves it
        nb = notebook(
            timed_cell("x = 1", "2025-01-01T00:00:00Z", "2025-01-01T00:00:01Z"),
            timed_cell("train_forever()", "2025-01-01T00:00:01Z", finished, outputs),
            nbformat.v4.new_code_cell("never_run()"),
        )
        failure = exec_report.chapter_line("book/04_dsin", nb, 601.0, "CellTimeoutError", 600).splitlines()[1]
        assert "cell 2 (`train_forever()`)" in failure
        assert "600 s limit per cell" in failure and "`execute: timeout:` in _config.yml" in failure


def test_browser_override_must_be_executable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\n", encoding="utf-8")
    monkeypatch.setenv("SEQLIB_CHROMIUM", str(fake))
    with pytest.raises(FileNotFoundError, match="SEQLIB_CHROMIUM=.* is not an executable file"):
        find_browser.find_browser()
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    assert find_browser.find_browser() == fake


def test_browser_found_on_path_or_named_when_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("SEQLIB_CHROMIUM", raising=False)
    monkeypatch.setattr(find_browser, "PLACES", ())
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_browser.find_browser() is None
    assert find_browser.main([]) == 1
    message = capsys.readouterr().err
    assert "no Chromium or Chrome found" in message and "apt-get update && apt-get install -y chromium" in message
    browser = tmp_path / "chromium-browser"  # Ubuntu's name
    browser.write_text("#!/bin/sh\n", encoding="utf-8")
    browser.chmod(0o755)
    assert find_browser.find_browser() == browser
    assert find_browser.main([]) == 0
    assert capsys.readouterr().out.strip() == str(browser)
    assert os.access(browser, os.X_OK)
