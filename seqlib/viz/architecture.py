"""Architecture diagrams of the book's models: the base model, DIN, DIEN, DSIN's sessions and DSIN.

Each function draws one figure with the papers' layer names, the tensor shape each layer produces
and the chapter section (``§ ...``) that builds it. Parts are coloured by type, the same colour in
every figure (:data:`PART_COLOURS`). The figures are drawn on an opaque white background with dark
text, so they read the same on a light or a dark page, and are narrow (:data:`WIDTH` inches) so
that a phone shows them without shrinking the text much.

Shapes use the book's symbols: ``B`` samples in a batch, ``L`` history positions, ``D`` the width
of a behaviour or item vector (item id ⊕ category embeddings), ``d`` the user embedding width,
``H`` a recurrent state width, ``K`` sessions of ``T`` behaviours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

#: Fill colour per part type (light, so the dark text reads on it); the legend names them.
PART_COLOURS: dict[str, str] = {
    "input": "#f2f2f2",
    "embedding": "#cfe2f3",
    "attention": "#f9d3c4",
    "recurrent": "#d5ecd4",
    "pooling": "#fff0b3",
    "tower": "#e4d7f0",
    "loss": "#ffffff",
}
#: Edge colour per part type (darker shade of the fill).
EDGE_COLOURS: dict[str, str] = {
    "input": "#7f7f7f",
    "embedding": "#3d7ab8",
    "attention": "#c4572f",
    "recurrent": "#3f8a3c",
    "pooling": "#b38f00",
    "tower": "#7a52a3",
    "loss": "#555555",
}
TEXT_COLOUR = "#1a1a1a"  # dark text on the white page and on every fill
SECTION_COLOUR = "#404040"
BACKGROUND = "#ffffff"
WIDTH = 5.0  # inches: 400 px at the book's 80 dpi, so a phone shrinks it little
TITLE_SIZE = 13
NAME_SIZE = 11  # a part's name (bold)
BODY_SIZE = 10  # its formula, shape and section
BOX_GID = "arch-box"  # gid prefix of a part's box; its texts carry the same gid
_MEASURE = RendererAgg(1, 1, 72)  # measures text in points, to wrap it before drawing
_LINE = 1.3  # line height in units of the font size
_PAD = 0.07  # inches of padding inside a box
_ROW_GAP = 0.3  # inches between rows (room for the arrows)
_SHAPE = re.compile(r"\[[^\]$]*\]")  # a tensor shape such as [B, L, D], kept on one line
_KEEP = "\x00"  # stands for a space inside a formula while wrapping
MARGIN = 0.035  # where arrows routed along a side run, as a fraction of the width


@dataclass(frozen=True)
class Part:
    """One box of a diagram.

    Attributes:
        key: the name arrows refer to.
        kind: the part type, a key of :data:`PART_COLOURS`.
        name: the paper's name for the layer (bold first line).
        body: formula and output shape (wrapped to the box).
        section: the chapter section that builds it (shown as ``§ section``); empty for none.
        centre: the box's horizontal centre as a fraction of the width.
        width: the box's width as a fraction of the width.
    """

    key: str
    kind: str
    name: str
    body: str = ""
    section: str = ""
    centre: float = 0.5
    width: float = 0.9


def _keep_spaces(match: re.Match) -> str:
    """A matched shape with its spaces hidden from the wrapper."""
    return match.group(0).replace(" ", _KEEP)


def _text_width(text: str, size: float, bold: bool = False) -> float:
    """The width in inches of one line of text as matplotlib draws it (formulas included)."""
    prop = FontProperties(size=size, weight="bold" if bold else "normal")
    width, _, _ = _MEASURE.get_text_width_height_descent(text, prop, ismath="$" in text)
    return width / 72  # the measuring renderer works at 72 dpi: points


def _wrap(text: str, width_in: float, size: float, bold: bool = False) -> list[str]:
    """Wrap ``text`` (which may hold line breaks) to fit a box ``width_in`` inches wide at ``size`` pt.

    Words are added to a line while the measured line fits; a ``$...$`` formula and a ``[...]``
    shape are never broken.
    """
    room = (width_in - 2 * _PAD) * 0.93  # slack: hinting makes text a little wider at some dpi
    lines: list[str] = []
    for paragraph in text.split("\n"):
        pieces = paragraph.split("$")
        protected = "$".join(p.replace(" ", _KEEP) if i % 2 else _SHAPE.sub(_keep_spaces, p)
                             for i, p in enumerate(pieces))
        line = ""
        for word in protected.split(" "):
            trial = f"{line} {word}" if line else word
            if line and _text_width(trial.replace(_KEEP, " "), size, bold) > room:
                lines.append(line.replace(_KEEP, " "))
                line = word
            else:
                line = trial
        lines.append(line.replace(_KEEP, " "))
    return lines


def _part_lines(part: Part, width_in: float) -> tuple[list[str], list[str]]:
    """The wrapped name lines and body lines (formula, shape, section) of a part."""
    body = part.body + (f"\n§ {part.section}" if part.section else "")
    name_lines = _wrap(part.name, width_in, NAME_SIZE, bold=True)
    body_lines = _wrap(body, width_in, BODY_SIZE) if body else []
    return name_lines, body_lines


def _part_height(part: Part, width_in: float) -> float:
    """Inches a part's box needs for its text."""
    name_lines, body_lines = _part_lines(part, width_in)
    return 2 * _PAD + (len(name_lines) * NAME_SIZE + len(body_lines) * BODY_SIZE) * _LINE / 72


def _check_kinds(rows: Sequence[Sequence[Part]]) -> None:
    """Raise a clear error for a part of an unknown type or a repeated key."""
    keys: set[str] = set()
    for part in (p for row in rows for p in row):
        if part.kind not in PART_COLOURS:
            raise ValueError(f"part {part.key!r} has kind {part.kind!r}; use one of {sorted(PART_COLOURS)}")
        if part.key in keys:
            raise ValueError(f"part key {part.key!r} is used twice; give every part its own key")
        keys.add(part.key)


def draw_architecture(
    title: str,
    rows: Sequence[Sequence[Part]],
    edges: Sequence[tuple[str, ...]],
    width: float = WIDTH,
    legend: Sequence[str] = ("embedding", "attention", "recurrent", "pooling", "tower"),
) -> Figure:
    """Draw a layered diagram: rows of boxes from top (inputs) to bottom (output), with arrows.

    Each box shows the part's name in bold, then its formula and output shape, then ``§ section``.
    Text is wrapped to the box and the box grows to hold it.

    Args:
        title: the figure's title (also the image's description in the book).
        rows: the parts, row by row from the top.
        edges: ``(from key, to key)`` arrows, drawn from the bottom of one box to the top of the
            other (or side to side when both are in one row); ``(from key, to key, "left")`` (or
            ``"right"``) routes the arrow along that margin, out of one box's side and into the
            other's, so that it passes no box in between.
        width: figure width in inches.
        legend: the part types shown in the colour key under the diagram (empty: none).

    Returns:
        The figure (one axes, axis off, coordinates in inches).

    Raises:
        ValueError: an unknown part type, a repeated key, or an edge naming a missing part.
    """
    _check_kinds(rows)
    heights = [max(_part_height(p, p.width * width) for p in row) for row in rows]
    legend_h = (BODY_SIZE * _LINE / 72 + 2 * _PAD) if legend else 0.0
    title_h = 0.45
    total = title_h + sum(heights) + _ROW_GAP * (len(rows) - 1) + (0.25 + legend_h if legend else 0.1)
    fig = Figure(figsize=(width, total), facecolor=BACKGROUND)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, total)
    ax.set_axis_off()
    ax.patch.set_facecolor(BACKGROUND)
    ax.set_title(title, fontsize=TITLE_SIZE, color=TEXT_COLOUR, fontweight="bold", y=1 - 0.1 / total, va="top")

    boxes: dict[str, tuple[float, float, float, float]] = {}  # key -> left, bottom, width, height
    top = total - title_h
    for row, row_h in zip(rows, heights):
        for part in row:
            w = part.width * width
            left = part.centre * width - w / 2
            _draw_part(ax, part, left, top - row_h, w, row_h)
            boxes[part.key] = (left, top - row_h, w, row_h)
        top -= row_h + _ROW_GAP

    for edge in edges:
        source, target, *side = edge
        for key in (source, target):
            if key not in boxes:
                raise ValueError(f"edge {tuple(edge)!r} names {key!r}, which is not a part; parts: {sorted(boxes)}")
        if side:
            _draw_margin_edge(ax, boxes[source], boxes[target], side[0], width)
        else:
            _draw_edge(ax, boxes[source], boxes[target])

    if legend:
        _draw_legend(ax, legend, width, 0.1, legend_h)
    return fig


def _draw_part(ax: object, part: Part, left: float, bottom: float, w: float, h: float) -> None:
    """One rounded box with its bold name and its body text, tagged with the part's gid."""
    gid = f"{BOX_GID}:{part.key}"
    box = FancyBboxPatch(
        (left, bottom), w, h, boxstyle="round,pad=0,rounding_size=0.06",
        facecolor=PART_COLOURS[part.kind], edgecolor=EDGE_COLOURS[part.kind],
        linewidth=1.4, linestyle="--" if part.kind == "loss" else "-", gid=gid,
    )
    ax.add_patch(box)
    name_lines, body_lines = _part_lines(part, w)
    y = bottom + h - _PAD
    ax.text(left + w / 2, y, "\n".join(name_lines), ha="center", va="top", fontsize=NAME_SIZE,
            fontweight="bold", color=TEXT_COLOUR, linespacing=_LINE - 0.1, gid=gid)
    if body_lines:
        y -= len(name_lines) * NAME_SIZE * _LINE / 72
        ax.text(left + w / 2, y, "\n".join(body_lines), ha="center", va="top", fontsize=BODY_SIZE,
                color=SECTION_COLOUR if not part.body else TEXT_COLOUR, linespacing=_LINE - 0.1, gid=gid)


def _draw_edge(ax: object, src: tuple[float, float, float, float], dst: tuple[float, float, float, float]) -> None:
    """An arrow between two boxes: bottom to top across rows, side to side within a row."""
    sl, sb, sw, sh = src
    dl, db, dw, dh = dst
    if abs(sb - db) < 1e-9:  # same row
        if sl < dl:
            start, end = (sl + sw, sb + sh / 2), (dl, db + dh / 2)
        else:
            start, end = (sl, sb + sh / 2), (dl + dw, db + dh / 2)
    elif sb > db:  # downwards
        # Aim at the horizontal overlap of the two boxes when there is one, else centre to centre.
        lo, hi = max(sl, dl), min(sl + sw, dl + dw)
        x_start = x_end = (lo + hi) / 2 if hi - lo > 0.2 else None
        start = (x_start if x_start is not None else sl + sw / 2, sb)
        end = (x_end if x_end is not None else dl + dw / 2, db + dh)
    else:  # upwards (rare: a loss fed from below)
        start, end = (sl + sw / 2, sb + sh), (dl + dw / 2, db)
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=11, linewidth=1.2,
                                 color="#333333", shrinkA=1, shrinkB=1))


def _draw_margin_edge(
    ax: object, src: tuple[float, float, float, float], dst: tuple[float, float, float, float], side: str, width: float
) -> None:
    """An arrow out of one box's side, along the figure's margin, into the other box's side."""
    if side not in ("left", "right"):
        raise ValueError(f"an edge's route must be 'left' or 'right', got {side!r}")
    margin = MARGIN * width if side == "left" else (1 - MARGIN) * width
    sl, sb, sw, sh = src
    dl, db, dw, dh = dst
    x_src = sl if side == "left" else sl + sw
    x_dst = dl if side == "left" else dl + dw
    y_src, y_dst = sb + sh / 2, db + dh / 2
    ax.plot([x_src, margin, margin], [y_src, y_src, y_dst], color="#333333", linewidth=1.2, solid_capstyle="butt")
    ax.add_patch(FancyArrowPatch((margin, y_dst), (x_dst, y_dst), arrowstyle="-|>", mutation_scale=11,
                                 linewidth=1.2, color="#333333", shrinkA=0, shrinkB=1))


def _draw_legend(ax: object, kinds: Sequence[str], width: float, bottom: float, h: float) -> None:
    """The colour key: one small box per part type, in a row."""
    w = (width - 0.2) / len(kinds)
    for i, kind in enumerate(kinds):
        left = 0.1 + i * w
        gid = f"{BOX_GID}:legend-{kind}"
        ax.add_patch(FancyBboxPatch((left + 0.03, bottom), w - 0.06, h, boxstyle="round,pad=0,rounding_size=0.04",
                                    facecolor=PART_COLOURS[kind], edgecolor=EDGE_COLOURS[kind], linewidth=1.0, gid=gid))
        ax.text(left + w / 2, bottom + h / 2, kind, ha="center", va="center", fontsize=BODY_SIZE - 0.5,
                color=TEXT_COLOUR, gid=gid)


def _inputs() -> list[Part]:
    """The three input boxes shared by the base model and DIN."""
    return [
        Part("user", "input", "User", "user id [B]", centre=0.17, width=0.32),
        Part("hist", "input", "Behaviours", "item, category ids [B, L]; mask [B, L]", centre=0.5, width=0.3),
        Part("cand", "input", "Candidate A", "item, category ids [B]", centre=0.83, width=0.32),
    ]


def _embeddings(hist_section: str) -> list[Part]:
    """The embedding row: user, behaviours and candidate share the item and category tables."""
    return [
        Part("e_user", "embedding", "Embedding", "$e_{user}$ [B, d]", centre=0.17, width=0.32),
        Part("e_hist", "embedding", "Embedding", "$e_j$ = item ⊕ category [B, L, D]", hist_section, 0.5, 0.3),
        Part("e_cand", "embedding", "Embedding", "$v_A$ [B, D]", centre=0.83, width=0.32),
    ]


def _tower(features: str, shape: str, section: str = "") -> list[list[Part]]:
    """Concat, the MLP 200-80 and the sigmoid output, one row each."""
    return [
        [Part("concat", "pooling", "Concat", f"[{features}] {shape}", centre=0.5, width=0.8)],
        [Part("mlp", "tower", "MLP 200 → 80", "PReLU or Dice [B, 80]", section, 0.5, 0.8)],
        [Part("out", "tower", "Linear → sigmoid", "p(click) [B]", centre=0.5, width=0.8)],
    ]


def base_model_figure() -> Figure:
    """The base model of the DIN paper (Embedding & MLP): sum pooling of the behaviours.

    Returns:
        The diagram (book chapter 1).
    """
    rows = [
        _inputs(),
        _embeddings("From a log to samples"),
        [Part("pool", "pooling", "Sum pooling", "$v_U=\\Sigma_j m_j e_j$ [B, D]", "The base model", 0.5, 0.56)],
        *_tower("$e_{user}$, $v_A$, $v_U$", "[B, d + 2D]"),
    ]
    edges = [("user", "e_user"), ("hist", "e_hist"), ("cand", "e_cand"), ("e_hist", "pool"),
             ("e_user", "concat", "left"), ("pool", "concat"), ("e_cand", "concat", "right"),
             ("concat", "mlp"), ("mlp", "out")]
    return draw_architecture("Base model architecture (Embedding & MLP)", rows, edges)


def din_figure() -> Figure:
    """DIN: the activation unit scores each behaviour against the candidate; no softmax.

    Returns:
        The diagram (book chapter 2).
    """
    rows = [
        _inputs(),
        _embeddings("Local activation"),
        [Part("unit", "attention", "Activation unit $a(e_j,v_A)$",
              "MLP on $[e_j,v_A,e_j-v_A,e_j\\odot v_A]$ [B, L, 4D] → one linear score [B, L]",
              "Local activation", 0.5, 0.8)],
        [Part("weights", "attention", "Weights without softmax", "$w_j=a(e_j,v_A)\\cdot m_j$ [B, L]",
              "A weighted sum without softmax", 0.5, 0.8)],
        [Part("pool", "pooling", "Weighted sum pooling", "$v_U(A)=\\Sigma_j w_j e_j$ [B, D]",
              "Softmax or not", 0.5, 0.8)],
        *_tower("$e_{user}$, $v_A$, $v_U(A)$", "[B, d + 2D]", "Dice"),
    ]
    edges = [("user", "e_user"), ("hist", "e_hist"), ("cand", "e_cand"), ("e_hist", "unit"), ("e_cand", "unit"),
             ("unit", "weights"), ("weights", "pool"), ("e_user", "concat", "left"), ("pool", "concat"),
             ("e_cand", "concat", "right"), ("concat", "mlp"), ("mlp", "out")]
    return draw_architecture("DIN architecture", rows, edges)


def dien_figure() -> Figure:
    """DIEN: interest extractor GRU with the auxiliary loss, attention, AUGRU interest evolving.

    Returns:
        The diagram (book chapter 3).
    """
    rows = [
        [Part("hist", "input", "Behaviours", "$b_1 \\ldots b_T$ ids [B, T]; mask [B, T]", centre=0.33, width=0.5),
         Part("cand", "input", "Target ad", "item, category ids [B]", centre=0.77, width=0.34)],
        [Part("e_hist", "embedding", "Embedding", "$e_t$ [B, T, D]", centre=0.33, width=0.5),
         Part("e_cand", "embedding", "Embedding", "$e_a$ [B, D]", centre=0.77, width=0.34)],
        [Part("gru", "recurrent", "Interest extractor layer", "GRU: $h_t$ [B, T, H]", "The interest extractor",
              0.33, 0.5),
         Part("aux", "loss", "Auxiliary loss", "$h_t$ against the next $e_{t+1}$ and a negative $\\hat{e}_{t+1}$",
              "Why an auxiliary loss", 0.77, 0.34)],
        [Part("att", "attention", "Attention with the target",
              "$a_t=\\mathrm{softmax}_t\\,\\mathrm{MLP}(h_t, q)$, $q=\\mathrm{PReLU}(W_q e_a)$ [B, T]"
              " (printed: $h_t W e_a$)", "Attention over interest states", 0.5, 0.84)],
        [Part("augru", "recurrent", "Interest evolving layer",
              "AUGRU: update gate scaled by $a_t$ (released: $1-(1-a_t)(1-u_t)$); $h'_T$ [B, H]",
              "Interest drift and AUGRU", 0.5, 0.84)],
        *_tower("$e_{user}$, $e_a$, $\\Sigma_t e_t$, $h'_T$", "[B, d + 2D + H]"),
    ]
    edges = [("hist", "e_hist"), ("cand", "e_cand"), ("e_hist", "gru"), ("gru", "aux"), ("gru", "att"),
             ("e_cand", "att", "right"), ("att", "augru"), ("e_hist", "concat", "left"), ("augru", "concat"),
             ("concat", "mlp"), ("mlp", "out")]
    return draw_architecture("DIEN architecture", rows, edges)


def dsin_figure() -> Figure:
    """DSIN: session division and bias encoding, session self-attention, Bi-LSTM, two attentions.

    Returns:
        The diagram (book chapter 4).
    """
    rows = [
        [Part("sess", "input", "Sessions", "K sessions × T behaviours [B, K, T]; masks", centre=0.35, width=0.66),
         Part("cand", "input", "Target item", "ids [B]", centre=0.85, width=0.28)],
        [Part("e_sess", "embedding", "Embedding + bias encoding",
              "$Q=E+BE$, $BE_{k,t,c}=w^K_k+w^T_t+w^C_c$ [B, K, T, D]", "Layer 1", 0.35, 0.66),
         Part("e_cand", "embedding", "Embedding", "$X^I$ [B, D]", centre=0.85, width=0.28)],
        [Part("extract", "attention", "Session interest extractor",
              "self-attention and FFN per session, masked average: $I_k$ [B, K, D]", "Layer 2", 0.3, 0.56)],
        [Part("lstm", "recurrent", "Session interest interacting", "Bi-LSTM over $I_1 \\ldots I_K$: $H_k$ [B, K, 2H]",
              "Layer 3", 0.5, 0.4)],
        [Part("act_i", "attention", "Activation over $I_k$",
              "$a^I_k=\\mathrm{softmax}_k(I_k W^I X^I)$ → $U^I$ [B, D]",
              "Layer 4", 0.2, 0.38),
         Part("act_h", "attention", "Activation over $H_k$",
              "$a^H_k=\\mathrm{softmax}_k(H_k W^H X^I)$ → $U^H$ [B, 2H]",
              "Layer 4", 0.7, 0.56)],
        *_tower("$e_{user}$, $X^I$, $U^I$, $U^H$", "[B, d + 2D + 2H]"),
    ]
    edges = [("sess", "e_sess"), ("cand", "e_cand"), ("e_sess", "extract"), ("extract", "lstm"),
             ("lstm", "act_h"), ("extract", "act_i"), ("e_cand", "act_h"),
             ("act_i", "concat"), ("act_h", "concat"), ("concat", "mlp"), ("mlp", "out")]
    return draw_architecture("DSIN architecture", rows, edges)


#: The example timeline of :func:`dsin_sessions_figure`: minutes of each behaviour, by session.
EXAMPLE_SESSIONS: tuple[tuple[int, ...], ...] = ((0, 3, 7), (95, 97, 104, 110), (400, 402), (600, 601, 606))


def _format_minutes(minutes: float) -> str:
    """A gap in words: ``"85 min"`` or ``"4.8 h"``."""
    return f"{minutes:.0f} min" if minutes < 120 else f"{minutes / 60:.1f} h"


def dsin_sessions_figure(gap_minutes: float = 30, n_sessions: int = 5, per_session: int = 10) -> Figure:
    """DSIN's input: one behaviour timeline cut at gaps over ``gap_minutes`` into sessions,
    stored as ``n_sessions`` × ``per_session`` slots (chronological, right-padded).

    Args:
        gap_minutes: the session threshold shown (the paper's 30 minutes); the example's gaps
            inside a session are at most 7 minutes, between sessions at least 85.
        n_sessions: K, the session slots kept.
        per_session: T, the behaviour slots per session.

    Returns:
        The diagram: the timeline above, the division rule, the ``[K, T]`` grid below (book chapter 4).

    Raises:
        ValueError: ``n_sessions`` below 5 or ``per_session`` below 4 (the example timeline has four
            sessions of up to four behaviours, and one empty slot shows the padding), or a
            threshold that does not separate the example's sessions (not within 8 to 84 minutes).
    """
    if n_sessions < 5 or per_session < 4:
        raise ValueError(f"need n_sessions >= 5 and per_session >= 4 to hold the example, "
                         f"got n_sessions={n_sessions}, per_session={per_session}")
    if not 8 <= gap_minutes <= 84:
        raise ValueError(f"gap_minutes must lie between the example's gaps (8 to 84 minutes), got {gap_minutes}")
    sessions = EXAMPLE_SESSIONS
    colours = [EDGE_COLOURS["embedding"], EDGE_COLOURS["attention"], EDGE_COLOURS["recurrent"], EDGE_COLOURS["tower"]]
    width, cell = WIDTH, (WIDTH - 1.4) / per_session
    divide = Part("divide", "input", "Session division",
                  f"a new session after a gap > {gap_minutes:g} min; keep the latest K = {n_sessions} sessions "
                  f"and the latest T = {per_session} behaviours of each", "Layer 1", 0.5, 0.94)
    div_h = _part_height(divide, divide.width * width)
    grid_h = cell * n_sessions
    total = 0.45 + 1.2 + div_h + 0.5 + grid_h + 0.35
    fig = Figure(figsize=(width, total), facecolor=BACKGROUND)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim(0, total)
    ax.set_axis_off()
    ax.patch.set_facecolor(BACKGROUND)
    ax.set_title("DSIN sessions: a timeline cut at 30-minute gaps", fontsize=TITLE_SIZE, color=TEXT_COLOUR,
                 fontweight="bold", y=1 - 0.1 / total, va="top")

    # The timeline, not to scale: behaviours of a session close together, long pauses between sessions.
    y_line = total - 1.05
    step, pause, x = 0.18, 0.62, 0.3
    ax.annotate("", xy=(width - 0.15, y_line), xytext=(0.15, y_line),
                arrowprops={"arrowstyle": "-|>", "color": "#333333", "linewidth": 1.2})
    for k, times in enumerate(sessions):
        if k:
            cut = x + pause / 2 - step / 2
            ax.plot([cut, cut], [y_line - 0.25, y_line + 0.25], color="#c00000", linestyle="--", linewidth=1.2)
            ax.text(cut, y_line + 0.3, _format_minutes(times[0] - sessions[k - 1][-1]), ha="center", va="bottom",
                    fontsize=BODY_SIZE - 0.5, color="#c00000")
            x += pause
        xs = [x + i * step for i in range(len(times))]
        ax.scatter(xs, [y_line] * len(times), s=40, color=colours[k], zorder=3)
        ax.text(float(np.mean(xs)), y_line - 0.15, f"S{k + 1}", ha="center", va="top", fontsize=BODY_SIZE,
                color=TEXT_COLOUR, fontweight="bold")
        x = xs[-1] + step
    ax.plot([x + 0.15] * 2, [y_line - 0.15, y_line + 0.25], color="#333333", linewidth=1.5)
    ax.text(x + 0.15, y_line + 0.3, "sample", ha="center", va="bottom", fontsize=BODY_SIZE - 0.5, color=TEXT_COLOUR)
    ax.text(width - 0.15, y_line - 0.15, "time", ha="right", va="top", fontsize=BODY_SIZE - 0.5, color=TEXT_COLOUR)

    div_top = y_line - 0.5
    _draw_part(ax, divide, width * (1 - divide.width) / 2, div_top - div_h, divide.width * width, div_h)

    # The [K, T] grid: rows are session slots in time order, right-padded.
    grid_top = div_top - div_h - 0.4
    left = 0.85
    ax.text(left + per_session * cell / 2, grid_top + 0.05, f"T = {per_session} behaviour slots", ha="center",
            va="bottom", fontsize=BODY_SIZE, color=TEXT_COLOUR)
    for k in range(n_sessions):
        times = sessions[k] if k < len(sessions) else ()
        y = grid_top - (k + 1) * cell
        ax.text(left - 0.08, y + cell / 2, f"k = {k + 1}", ha="right", va="center", fontsize=BODY_SIZE,
                color=TEXT_COLOUR)
        for t in range(per_session):
            filled = t < len(times)
            ax.add_patch(FancyBboxPatch((left + t * cell + 0.02, y + 0.02), cell - 0.04, cell - 0.04,
                                        boxstyle="round,pad=0,rounding_size=0.03",
                                        facecolor=colours[k] if filled else "#e6e6e6",
                                        edgecolor="#555555" if filled else "#bbbbbb", linewidth=0.6))
    ax.text(left + per_session * cell / 2, grid_top - grid_h - 0.06,
            "grey: padding (mask 0); embedded: [B, K, T, D]", ha="center", va="top", fontsize=BODY_SIZE,
            color=TEXT_COLOUR)
    return fig


#: Every figure of this module by name, in book order.
FIGURES = {
    "base": base_model_figure,
    "din": din_figure,
    "dien": dien_figure,
    "dsin-sessions": dsin_sessions_figure,
    "dsin": dsin_figure,
}
