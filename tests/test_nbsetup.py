"""The Colab set-up cell follows ``_config.yml``: ``python -m seqlib.nbsetup sync`` rewrites it."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest

from seqlib.nbsetup import ProseMismatch, book_repository, check_prose, colab_setup_cell, glue, main, sync_setup_cells

ROOT = Path(__file__).resolve().parents[1]


def _book_copy(tmp_path: Path, url: str, branch: str) -> Path:
    """A copy of the config and one chapter, with the repository set to ``url@branch``."""
    (tmp_path / "book").mkdir()
    shutil.copy(ROOT / "book" / "02_din.ipynb", tmp_path / "book" / "02_din.ipynb")
    config = (ROOT / "_config.yml").read_text(encoding="utf-8")
    old_url, old_branch = book_repository(ROOT / "_config.yml")
    config = config.replace(f"url: {old_url}", f"url: {url}").replace(f"branch: {old_branch}", f"branch: {branch}")
    (tmp_path / "_config.yml").write_text(config, encoding="utf-8")
    return tmp_path


def _first_code_cell(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return next(cell for cell in nb.cells if cell.cell_type == "code").source


def test_cell_installs_from_the_repository_without_deps() -> None:
    cell = colab_setup_cell("https://github.com/someone/seqbook-fork.git", "dev")
    assert '%pip install -q --no-deps "git+https://github.com/someone/seqbook-fork@dev"' in cell
    assert cell.splitlines()[-2:] == ["from seqlib.nbsetup import setup", "setup()"]


@pytest.mark.parametrize(
    ("url", "branch", "message"),
    [
        ("https://gitlab.com/someone/seqbook", "main", "github.com/<owner>/<repository>"),
        ("github.com/someone/seqbook", "main", "github.com/<owner>/<repository>"),
        ("https://github.com/someone", "main", "github.com/<owner>/<repository>"),
        ("https://github.com/someone/seqbook", "main; rm -rf /", "plain branch name"),
    ],
)
def test_bad_repository_is_refused(url: str, branch: str, message: str) -> None:
    with pytest.raises(ValueError, match="_config.yml") as error:
        colab_setup_cell(url, branch)
    assert message in str(error.value)


def test_sync_rewrites_the_cell_for_a_fork(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _book_copy(tmp_path, "https://github.com/someone/seqbook-fork", "dev")
    chapter = root / "book" / "02_din.ipynb"
    before = chapter.read_bytes()
    assert main(["sync", "--check", "--root", str(root)]) == 1
    assert chapter.read_bytes() == before, "--check must not write"
    assert "differ from https://github.com/someone/seqbook-fork@dev" in capsys.readouterr().out

    assert sync_setup_cells(root) == [chapter]
    assert _first_code_cell(chapter) == colab_setup_cell("https://github.com/someone/seqbook-fork", "dev")
    original = nbformat.read(ROOT / "book" / "02_din.ipynb", as_version=4)
    synced = nbformat.read(chapter, as_version=4)
    assert [c.source for c in synced.cells[2:]] == [c.source for c in original.cells[2:]], "only the set-up cell changes"
    assert sync_setup_cells(root) == [], "a second sync has nothing to do"
    assert main(["sync", "--check", "--root", str(root)]) == 0


def test_config_without_repository_is_refused(tmp_path: Path) -> None:
    (tmp_path / "_config.yml").write_text("title: a book\n", encoding="utf-8")
    with pytest.raises(ValueError, match="has no repository.url"):
        book_repository(tmp_path / "_config.yml")


def test_figure_png_carries_its_description() -> None:
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    from seqlib.nbsetup import figure_alt_text, figure_png

    fig, (left, right) = plt.subplots(1, 2)
    fig.suptitle("Two panels")
    left.set_title("history lengths")
    right.set(xlabel="gap (s)", ylabel="share of gaps")
    assert figure_alt_text(fig) == "Two panels; history lengths; share of gaps against gap (s)"
    with Image.open(io.BytesIO(figure_png(fig))) as image:
        assert image.format == "PNG"
        assert image.text["Title"] == "Two panels; history lengths; share of gaps against gap (s)"
    plt.close(fig)
    empty = plt.figure()
    assert figure_alt_text(empty) == "a figure"
    plt.close(empty)


@pytest.mark.parametrize(("value", "fmt", "text"), [
    (0.01, "+.4f", "+0.0100"),  # the sign and the trailing zeros of a margin
    (-0.0008, "+.4f", "-0.0008"),
    (0.8, ".4f", "0.8000"),
    (1 / 3, ".0%", "33%"),
    (0.7958, "", "0.7958"),
    ("0.8025 ± 0.0002", "", "0.8025 ± 0.0002"),
    ("dsin > din > base", "", "dsin > din > base"),
])
def test_glued_values_read_in_the_page_as_formatted(monkeypatch: pytest.MonkeyPatch, value: object, fmt: str,
                                                   text: str) -> None:
    # the page shows what myst-nb makes of the value's plain-text display (the kernel's repr)
    import myst_nb
    from IPython.core.formatters import PlainTextFormatter
    from myst_nb.core.variables import format_plain_text

    stored = {}
    monkeypatch.setattr(myst_nb, "glue", lambda name, variable, display=True: stored.update({name: variable}))
    assert glue("key", value, fmt) is value
    assert format_plain_text(PlainTextFormatter()(stored["key"]), "") == text


@pytest.mark.parametrize("value, fmt, words", [
    (float("nan"), ".4f", ["'gap'", "nan"]),
    (np.float64("inf"), "", ["'gap'", "inf"]),
    ("0.8000", ".4f", ["'gap'", "fmt='.4f'", "'0.8000'", "str"]),
    (0.5, "q", ["'gap'", "fmt='q'", "0.5"]),
])
def test_glue_refuses_what_the_prose_could_not_show(value: object, fmt: str, words: list[str]) -> None:
    with pytest.raises(ValueError) as raised:
        glue("gap", value, fmt)
    assert all(word in str(raised.value) for word in words), str(raised.value)


def test_glue_takes_any_finite_number(monkeypatch: pytest.MonkeyPatch) -> None:
    import myst_nb

    stored: dict[str, object] = {}
    monkeypatch.setattr(myst_nb, "glue", lambda name, variable, display=True: stored.update({name: variable}))
    glue("huge", 10**400)  # an int has no NaN: no float conversion on the way
    glue("small", np.int64(3), "+d")
    assert stored == {"huge": 10**400, "small": "+3"}


def test_check_prose_passes_a_claim_the_numbers_bear_out_and_quotes_one_they_do_not() -> None:
    gaps = pd.Series([0.004, 0.001, -0.002])
    check_prose("DIN ahead on some seed", bool((gaps > 0).any()))
    check_prose("the sign changes with the seed", (gaps.min() < 0) & (gaps.max() > 0))  # a numpy bool
    with pytest.raises(ProseMismatch, match="'DIN ahead on every seed'.*rewrite the sentence"):
        check_prose("DIN ahead on every seed", bool((gaps > 0).all()))
    assert issubclass(ProseMismatch, AssertionError)


@pytest.mark.parametrize("holds", [pd.Series([True, False]), np.array([True]), 1, None, "yes"])
def test_check_prose_refuses_anything_but_one_truth_value(holds: object) -> None:
    with pytest.raises(TypeError, match="'a claim'.*one truth value"):
        check_prose("a claim", holds)  # type: ignore[arg-type]
