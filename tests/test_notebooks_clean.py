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


# Names of documents and files in the prose: a path (``benchmarks/quality.py``), a file name
# (``UserBehavior.csv``), a dotted ``seqlib`` name, an ALL_CAPS_NAME (``MODEL_SPEC``) or a phrase
# pointing at a design document. Each must be in the book or the repository.
PATH_NAME = re.compile(r"(?<![\w/.:-])((?:[\w.-]+/)*[\w-]+\.(?:py|md|ipynb|json|ya?ml|csv|txt|toml|cfg|bib))\b")
REPO_PATH = re.compile(r"(?<![\w./-])((?:seqlib|benchmarks|tools|tests|book|_static)/[\w./-]*\w)")
DOTTED = re.compile(r"\bseqlib(?:\.\w+)+")
CAPS_NAME = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b")
DESIGN_DOC = re.compile(r"\b(?:model|design)\s+spec(?:ification)?s?\b|\bdesign\s+doc(?:ument)?s?\b", re.IGNORECASE)
# Files the book tells the reader to fetch themselves (named with where they come from).
EXTERNAL_FILES = {"UserBehavior.csv"}  # Taobao UserBehavior, from Tianchi (chapter 1 and the intro)
PROSE = [*NOTEBOOKS, BOOK / "intro.md"]
MATH = re.compile(r"\$\$.*?\$\$|\$[^$\n]+\$", re.DOTALL)


def markdown_of(path: Path) -> str:
    """The prose of a chapter (its markdown cells) or of a Markdown page."""
    if path.suffix == ".ipynb":
        nb = nbformat.read(path, as_version=4)
        text = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "markdown")
    else:
        text = path.read_text(encoding="utf-8")
    return text


def _repository_code() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for folder in ("seqlib", "benchmarks", "tools", "tests")
                     for p in (ROOT / folder).rglob("*.py") if p.name != "test_notebooks_clean.py")


def _resolves(dotted: str) -> bool:
    """Whether ``seqlib.a.b.c`` names a module or an attribute of one."""
    import importlib

    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            if not hasattr(obj, name):
                return False
            obj = getattr(obj, name)
        return True
    return False


def missing_documents(text: str, code: str) -> list[str]:
    """The documents, files and names ``text`` points to that are not in the book or the repository.

    Args:
        text: prose (Markdown).
        code: the repository's source, where an ALL_CAPS_NAME (e.g. an environment variable) must
            occur as a string literal.

    Returns:
        One line per missing name, saying what it is.
    """
    text = re.sub(r"https?://\S+", "", text)  # a web address names no file of ours
    problems = []
    for name in sorted(set(PATH_NAME.findall(text)) | set(REPO_PATH.findall(text))):
        if "/" in name:
            if not ((ROOT / name).exists() or (BOOK / name).exists()):
                problems.append(f"path {name} is not in the repository")
        elif name not in EXTERNAL_FILES and not any(ROOT.glob(f"**/{name}")):
            problems.append(f"file {name} is not in the repository")
    for name in sorted(set(DOTTED.findall(text))):
        if not _resolves(name):
            problems.append(f"{name} is not a seqlib module or attribute")
    for name in sorted(set(CAPS_NAME.findall(MATH.sub("", text)))):
        if f'"{name}"' not in code and f"'{name}'" not in code and not any(ROOT.glob(f"**/{name}*")):
            problems.append(f"{name} is neither in the code nor a file of the repository")
    problems += [f"{m.group(0)!r} points to a document the book does not have" for m in DESIGN_DOC.finditer(text)]
    return problems


def test_missing_documents_are_found() -> None:
    code = _repository_code()
    text = ("See MODEL_SPEC's last section, the model spec, docs/DESIGN.md, NOTES.md, "
            "seqlib/nowhere.py and `seqlib.metrics.no_such_metric`.")
    found = missing_documents(text, code)
    assert len(found) == 6, found
    fine = ("`benchmarks/quality.py`, `seqlib/data/samples.py`, `seqlib.metrics.gauc`, UserBehavior.csv "
            "and $SEQLIB_DATA_DIR are all there; so is https://example.org/SPEC_FILE.md.")
    assert missing_documents(fine, code) == []


@pytest.mark.parametrize("path", PROSE, ids=lambda p: p.name)
def test_prose_names_only_documents_that_exist(path: Path) -> None:
    problems = missing_documents(markdown_of(path), _repository_code())
    assert not problems, f"{path.name} names what the book and repository lack: {problems}"
