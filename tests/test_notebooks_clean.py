"""Chapters are committed clean (no outputs, counts or widget state), start with the Colab set-up
cell for the repository in ``_config.yml``, and keep exercise solutions out of sight until asked."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from seqlib.nbsetup import book_repository, colab_setup_cell

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
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
    url, branch = book_repository(ROOT / "_config.yml")
    assert source == colab_setup_cell(url, branch), (
        f"the set-up cell does not install from _config.yml's repository {url}@{branch}: "
        "run `python -m seqlib.nbsetup sync`"
    )
    assert '"google.colab" in sys.modules' in source, "install only on Colab"
    assert "--no-deps" in source and f"git+{url}@{branch}" in source
    code_lines = [line.split("#", 1)[0] for line in source.splitlines()]  # comments may explain
    offending = [line for line in code_lines if REINSTALL.search(line)]
    assert not offending, f"never (re)install torch or numpy: {offending}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_solutions_are_hidden_until_asked_for(path: Path) -> None:
    """Colab folds a ``cellView: form`` cell to its ``# @title``, JupyterLab hides a
    ``jupyter.source_hidden`` cell's code, and the book folds ``hide-input`` behind the
    ``mystnb.code_prompt_show`` button; the cell still runs everywhere, so the build checks it."""
    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        tags = cell.metadata.get("tags", [])
        if "exercise-solution" not in tags:
            continue
        where = f"solution cell {index}"
        assert cell.cell_type == "code", f"{where} is not a code cell"
        assert "exercise-stub" in nb.cells[index - 1].metadata.get("tags", []), f"{where} does not follow its stub"
        assert cell.source.splitlines()[0] == "# @title Solution", f"{where}: Colab's form title must be the first line"
        assert cell.metadata.get("cellView") == "form", f"{where}: Colab shows the code unless cellView is 'form'"
        assert cell.metadata.get("jupyter", {}).get("source_hidden") is True, f"{where}: JupyterLab shows the code"
        assert "hide-input" in tags and "remove-input" not in tags, f"{where}: the book must fold it, not drop it"
        prompts = cell.metadata.get("mystnb", {})
        assert prompts.get("code_prompt_show") == "Show solution", f"{where}: the book's button must say Show solution"
        assert prompts.get("code_prompt_hide") == "Hide solution", f"{where}: the book's button must say Hide solution"
        assert "skip-execution" not in tags, f"{where}: the build must run the solution to check it"


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
