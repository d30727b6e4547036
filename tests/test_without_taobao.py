"""The chapters run with only downloadable data: MovieLens present, no Taobao file.

Taobao UserBehavior needs a Tianchi login, so most readers (and every Colab session) do not have
it. Every chapter that uses it wraps its Taobao sections in ``have_taobao``; here each such
chapter runs top to bottom in a fresh kernel with ``SEQLIB_DATA_DIR`` pointing at a folder that
holds only the MovieLens copies. Each Taobao section must print its one sentence (where to put
the file, what it would show) and the chapter must go on without an error or a warning. The book
build covers the other case (CI has the Taobao slice).
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError

BOOK = Path(__file__).resolve().parents[1] / "book"
CHAPTERS = sorted(path for path in BOOK.glob("*.ipynb") if "have_taobao(" in path.read_text(encoding="utf-8"))
TIMEOUT = 600  # as in _config.yml


def test_the_taobao_chapters_are_found() -> None:
    names = [path.stem for path in CHAPTERS]
    assert names == ["01_behavior_sequences", "04_dsin", "05_comparison"], names
    for path in BOOK.glob("*.ipynb"):
        text = path.read_text(encoding="utf-8")
        if "load_taobao(" in text or 'load_samples(\\"taobao\\"' in text:
            assert path in CHAPTERS, f"{path.name} loads Taobao without have_taobao"


@pytest.fixture(scope="module")
def movielens_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder with links to the MovieLens copies of ``$SEQLIB_DATA_DIR`` and nothing else.

    Without ``SEQLIB_DATA_DIR`` the folder stays empty and MovieLens downloads into the cache, as
    for a reader.
    """
    folder = tmp_path_factory.mktemp("movielens-only")
    source = Path(os.environ.get("SEQLIB_DATA_DIR") or "/nonexistent")
    for name in ("ml-1m", "ml-100k"):
        if (source / name).is_dir():
            (folder / name).symlink_to((source / name).resolve())
    assert not (folder / "taobao").exists()
    return folder


def _text(output: nbformat.NotebookNode) -> str:
    return str(output.get("text", "") or output.get("data", {}).get("text/plain", ""))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_runs_without_taobao(path: Path, movielens_only: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEQLIB_DATA_DIR", str(movielens_only))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(BOOK)}})
    try:
        client.execute()  # honours the chapters' skip-execution and raises-exception tags
    except CellExecutionError as error:
        pytest.fail(f"{path.name} failed without the Taobao file:\n{str(error)[-3000:]}", pytrace=False)
    except CellTimeoutError as error:
        pytest.fail(f"{path.name}: a cell ran past the {TIMEOUT} s limit (as in _config.yml):\n{error}", pytrace=False)

    taobao_cells = [(i, cell) for i, cell in enumerate(nb.cells) if "have_taobao(" in cell.source]
    assert taobao_cells
    for index, cell in taobao_cells:
        notes = [o for o in cell.outputs if "Skipped, no Taobao file" in _text(o)]
        assert len(notes) == 1, f"{path.name} cell {index}: expected one sentence about the missing file, got {cell.outputs}"
        assert "$SEQLIB_DATA_DIR/taobao/UserBehavior.csv" in _text(notes[0])
        assert str(movielens_only) not in _text(notes[0])  # the page never shows the builder's own data path
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or "skip-execution" in cell.metadata.get("tags", []):
            continue
        warnings = [_text(o) for o in cell.outputs if o.get("name") == "stderr" and "Warning" in _text(o)]
        assert not warnings, f"{path.name} cell {index} warned without the Taobao file: {warnings}"
        errors = [o for o in cell.outputs if o.get("output_type") == "error"]
        if "raises-exception" not in cell.metadata.get("tags", []):
            assert not errors, f"{path.name} cell {index} raised {errors}"
