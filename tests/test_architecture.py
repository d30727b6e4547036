"""Architecture figures (seqlib.viz.architecture): each builds, names the paper's layers and shapes,
keeps every text inside its box and the figure, points to sections its chapter has, saves to PNG."""

from __future__ import annotations

import io
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import nbformat
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from seqlib.nbsetup import figure_alt_text
from seqlib.viz.architecture import (
    BACKGROUND,
    BOX_GID,
    FIGURES,
    PART_COLOURS,
    Part,
    draw_architecture,
    dsin_sessions_figure,
)

BOOK = Path(__file__).resolve().parents[1] / "book"
# Per figure: its chapter, the title's start, and texts that must appear (layer names, shapes).
EXPECTED: dict[str, tuple[str, str, list[str]]] = {
    "base": ("01_behavior_sequences", "Base model architecture",
             ["Embedding", "Sum pooling", "Concat", "MLP 200 → 80", "sigmoid", "[B, L, D]", "[B, d + 2D]"]),
    "din": ("02_din", "DIN architecture",
            ["Activation unit", "e_j-v_A", "odot", "Weights without softmax", "Weighted sum pooling",
             "MLP 200 → 80", "[B, L, 4D]", "[B, L]"]),
    "dien": ("03_dien", "DIEN architecture",
             ["Interest extractor layer", "GRU", "Auxiliary loss", "Attention with the target",
              "Interest evolving layer", "AUGRU", "h'_T", "[B, T, H]"]),
    "dsin-sessions": ("04_dsin", "DSIN sessions",
                      ["Session division", "30 min", "K = 5", "T = 10", "[B, K, T, D]", "padding"]),
    "dsin": ("04_dsin", "DSIN architecture",
             ["bias encoding", "Session interest extractor", "Session interest interacting", "Bi-LSTM",
              "Activation over", "U^I", "U^H", "[B, K, T, D]", "[B, K, 2H]"]),
}


def drawn(name: str) -> tuple[Figure, object]:
    fig = FIGURES[name]()
    FigureCanvasAgg(fig)
    return fig, fig.canvas.get_renderer()


def texts(fig: Figure) -> str:
    """Every text of the figure, one per line, with wrapped lines joined again."""
    return "\n".join(t.get_text().replace("\n", " ") for t in fig.axes[0].texts)


def headings(chapter: str) -> list[str]:
    nb = nbformat.read(BOOK / f"{chapter}.ipynb", as_version=4)
    found = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            found += [m.group(1).strip() for m in re.finditer(r"^#+\s+(.+)$", cell.source, re.MULTILINE)]
    return found


def test_every_model_has_a_figure() -> None:
    assert set(FIGURES) == set(EXPECTED)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_title_and_labelled_boxes(name: str) -> None:
    fig, _ = drawn(name)
    _, title, needed = EXPECTED[name]
    assert fig.axes[0].get_title().startswith(title)
    assert figure_alt_text(fig).startswith(title), "the book's alt text comes from the title"
    content = texts(fig)
    missing = [word for word in needed if word not in content]
    assert not missing, f"{name}: texts lack {missing}"


@pytest.mark.parametrize("name", list(EXPECTED))
@pytest.mark.parametrize("dpi", [72, 80, 144])
def test_no_text_overflows_its_box_or_the_figure(name: str, dpi: int) -> None:
    fig, _ = drawn(name)
    fig.set_dpi(dpi)
    renderer = fig.canvas.get_renderer()
    ax = fig.axes[0]
    boxes = {p.get_gid(): p.get_window_extent(renderer) for p in ax.patches
             if (p.get_gid() or "").startswith(BOX_GID)}
    assert boxes, f"{name}: no labelled boxes"
    labelled = [t for t in ax.texts if t.get_gid() in boxes]
    assert {t.get_gid() for t in labelled} == set(boxes), f"{name}: a box without text"
    page = fig.bbox
    for text in [*ax.texts, ax.title]:
        extent = text.get_window_extent(renderer)
        assert page.x0 <= extent.x0 and extent.x1 <= page.x1 and page.y0 <= extent.y0 and extent.y1 <= page.y1, (
            f"{name}: {text.get_text()!r} runs off the figure at {dpi} dpi")
        box = boxes.get(text.get_gid())
        if box is not None:
            inside = box.x0 <= extent.x0 and extent.x1 <= box.x1 and box.y0 <= extent.y0 and extent.y1 <= box.y1
            assert inside, f"{name}: {text.get_text()!r} overflows its box at {dpi} dpi ({extent} in {box})"


@pytest.mark.parametrize("name", list(EXPECTED))
def test_readable_at_phone_width(name: str) -> None:
    fig, _ = drawn(name)
    width, _ = fig.get_size_inches()
    assert width <= 5.5, "wider figures shrink their text on a phone"
    sizes = [t.get_fontsize() for t in [*fig.axes[0].texts, fig.axes[0].title]]
    assert min(sizes) >= 9, f"{name}: text of {min(sizes)} pt is too small once a phone scales the figure down"


@pytest.mark.parametrize("name", list(EXPECTED))
def test_sections_named_in_the_figure_exist_in_its_chapter(name: str) -> None:
    fig, _ = drawn(name)
    chapter = EXPECTED[name][0]
    marks = re.findall(r"§ ([^\n]+)", texts(fig))
    assert marks, f"{name}: the figure points to no section"
    known = headings(chapter)
    unknown = [mark for mark in marks if not any(h.startswith(mark) for h in known)]
    assert not unknown, f"{name}: sections {unknown} are not headings of {chapter}"


@pytest.mark.parametrize("name", list(EXPECTED))
def test_saves_to_png_on_an_opaque_white_background(name: str) -> None:
    fig, _ = drawn(name)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    image = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGBA"))
    assert image.shape[0] > 200 and image.shape[1] > 200
    assert (image[..., 3] == 255).all(), "transparent pixels would show a dark theme's background"
    corner = image[2, 2, :3]
    assert tuple(corner) == (255, 255, 255) and BACKGROUND == "#ffffff"


def test_part_colours_are_consistent_across_figures() -> None:
    for name in FIGURES:
        fig, _ = drawn(name)
        fills = {matplotlib.colors.to_hex(p.get_facecolor()) for p in fig.axes[0].patches
                 if (p.get_gid() or "").startswith(BOX_GID)}
        assert fills <= set(PART_COLOURS.values()), f"{name}: a box coloured outside the part palette"


def test_bad_parts_and_edges_are_named() -> None:
    with pytest.raises(ValueError, match="kind 'conv'"):
        draw_architecture("x", [[Part("a", "conv", "A")]], [])
    with pytest.raises(ValueError, match="used twice"):
        draw_architecture("x", [[Part("a", "tower", "A")], [Part("a", "tower", "B")]], [])
    with pytest.raises(ValueError, match="'b', which is not a part"):
        draw_architecture("x", [[Part("a", "tower", "A")]], [("a", "b")])
    with pytest.raises(ValueError, match="'left' or 'right'"):
        draw_architecture("x", [[Part("a", "tower", "A")], [Part("b", "tower", "B")]], [("a", "b", "up")])
    with pytest.raises(ValueError, match="n_sessions >= 5"):
        dsin_sessions_figure(n_sessions=3)
    with pytest.raises(ValueError, match="gap_minutes"):
        dsin_sessions_figure(gap_minutes=120)


def test_long_text_wraps_and_the_box_grows() -> None:
    short = draw_architecture("x", [[Part("a", "tower", "A", "[B, D]")]], [], legend=())
    text = "a long description " * 8 + "[B, K, T, D]"
    long = draw_architecture("x", [[Part("a", "tower", "A", text)]], [], legend=())
    assert long.get_size_inches()[1] > short.get_size_inches()[1]
    body = [t.get_text() for t in long.axes[0].texts if t.get_fontsize() < 11][0]
    assert body.count("\n") >= 2 and "[B, K, T, D]" in body, "wrapped, and a shape kept on one line"


# The figures each chapter opens with, right after its (hidden) set-up cell, in this order.
CHAPTER_FIGURES = {
    "01_behavior_sequences": ["base_model_figure"],
    "02_din": ["din_figure"],
    "03_dien": ["dien_figure"],
    "04_dsin": ["dsin_sessions_figure", "dsin_figure"],
}


@pytest.mark.parametrize("chapter", list(CHAPTER_FIGURES))
def test_chapter_opens_with_its_figures_code_hidden_and_captioned(chapter: str) -> None:
    nb = nbformat.read(BOOK / f"{chapter}.ipynb", as_version=4)
    code = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"]
    for k, function in enumerate(CHAPTER_FIGURES[chapter]):
        index = code[1 + k]  # code[0] is the Colab set-up cell
        cell = nb.cells[index]
        assert cell.source.rstrip().endswith(f"{function}()"), f"{chapter}: code cell {1 + k} does not draw {function}"
        assert "remove-input" in cell.metadata.get("tags", []), f"{chapter}: the figure's code should be hidden"
        caption = nb.cells[index + 1]
        assert caption.cell_type == "markdown" and caption.source.startswith("*"), (
            f"{chapter}: no caption under {function}")
        assert "\n\n" not in caption.source.strip(), f"{chapter}: the caption of {function} should be one paragraph"
