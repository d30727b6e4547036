"""Chapters are committed clean (no outputs, counts or widget state) with the Colab set-up cell."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"
NOTEBOOKS = sorted(BOOK.glob("*.ipynb"))
# A pip/conda install command naming torch or numpy (Colab's own builds must be kept).
REINSTALL = re.compile(r"\b(pip|conda|mamba|uv)\b.*\binstall\b.*\b(torch|numpy)\b", re.IGNORECASE)


def test_book_has_chapters() -> None:
    assert NOTEBOOKS, f"no chapter notebooks in {BOOK}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_clean(path: Path) -> None:
    nb = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    assert nb.nbformat == 4
    nbformat.validate(nb)
    assert "widgets" not in nb.metadata, "notebook metadata holds ipywidgets state"
    for index, cell in enumerate(nb.cells):
        assert "widgets" not in cell.metadata, f"cell {index} holds widget state"
        if cell.cell_type == "code":
            assert cell.outputs == [], f"cell {index} has outputs"
            assert cell.execution_count is None, f"cell {index} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_code_cell_is_colab_setup(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    first = next(cell for cell in nb.cells if cell.cell_type == "code")
    source = first.source
    assert "remove-cell" in first.metadata.get("tags", []), "set-up cell must be tagged remove-cell"
    assert '"google.colab" in sys.modules' in source, "install only on Colab"
    assert "--no-deps" in source and "git+https://github.com/seqbook/seqbook" in source
    assert "from seqlib.nbsetup import setup" in source and "setup(" in source
    code_lines = [line.split("#", 1)[0] for line in source.splitlines()]  # comments may explain
    offending = [line for line in code_lines if REINSTALL.search(line)]
    assert not offending, f"never (re)install torch or numpy: {offending}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_live_widgets_are_hidden_and_followed_by_a_static_viewer(path: Path) -> None:
    """A live ipywidgets cell is for Jupyter/Colab only: the build neither runs nor shows it
    (``skip-execution``, ``remove-output``), and the kernel-free viewer cell comes right after."""
    nb = nbformat.read(path, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    for index, cell in enumerate(code):
        if "seqlib.widgets" not in cell.source:
            continue
        tags = set(cell.metadata.get("tags", []))
        assert {"skip-execution", "remove-output"} <= tags, f"widget cell {index} is tagged {sorted(tags)}"
        following = code[index + 1].source if index + 1 < len(code) else ""
        assert "frame_viewer(" in following, f"widget cell {index} is not followed by a frame_viewer cell"
