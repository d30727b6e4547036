"""A kernel-free figure viewer: precomputed frames behind an HTML range input.

ipywidgets need a running kernel; the rendered book has none. ``frame_viewer`` renders one
figure per parameter value up front, embeds them as PNG data URIs, and swaps the picture with
an inline ``oninput`` handler when the reader moves the range input. No external JavaScript,
no CDN and no require.js are involved, so the same output works in the static HTML book, in
JupyterLab and in Colab.

The markup the browser tests rely on::

    <div class="seqlib-viewer" data-param="..." data-n-frames="N" data-initial="i"
         data-frames='["data:image/png;base64,...", ...]' data-labels='["...", ...]'>
      <div class="seqlib-viewer-title">...</div>
      <label>param = <output class="seqlib-viewer-value">...</output>
        <input class="seqlib-viewer-range" type="range" min="0" max="N-1" step="1" ...></label>
      <img class="seqlib-viewer-image" src="data:image/png;base64,..." alt="...">
    </div>
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
from IPython.display import HTML
from matplotlib.figure import Figure

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DEFAULT_DPI = 80

# Runs in the page on every move of the range input; `this` is the <input>. The frames are
# parsed from the container's data attribute once and cached on the element.
_ONINPUT_JS = (
    "var v=this.closest('.seqlib-viewer');"
    "if(!v._seqlibFrames){v._seqlibFrames=JSON.parse(v.dataset.frames);"
    "v._seqlibLabels=JSON.parse(v.dataset.labels);}"
    "var i=Number(this.value);"
    "var img=v.querySelector('.seqlib-viewer-image');"
    "img.src=v._seqlibFrames[i];"
    "img.alt=v.dataset.title+': '+v.dataset.param+' = '+v._seqlibLabels[i];"
    "v.querySelector('.seqlib-viewer-value').textContent=v._seqlibLabels[i];"
    "v.dataset.current=String(i);"
)

_STYLE = (
    "border:1px solid #ccc;border-radius:4px;padding:0.5em;margin:0.5em 0;"
    "display:inline-block;max-width:100%;"
)


def figure_to_png(fig: Figure, dpi: int = DEFAULT_DPI) -> bytes:
    """Render a matplotlib figure to PNG bytes (the figure stays open).

    Args:
        fig: the figure to render.
        dpi: resolution; the default keeps a typical 6 x 4 inch figure near 30 KB.

    Returns:
        The PNG file contents.
    """
    if not isinstance(fig, Figure):
        raise TypeError(f"figure_to_png expects a matplotlib Figure, got {type(fig).__name__}")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def _to_data_uri(frame: Figure | bytes, index: int, dpi: int) -> str:
    """One frame as a ``data:image/png;base64,...`` URI; figures are closed after rendering.

    Args:
        frame: a matplotlib figure or PNG bytes.
        index: the frame's position, for error messages.
        dpi: resolution used for figures.

    Returns:
        The data URI.
    """
    if isinstance(frame, Figure):
        png = figure_to_png(frame, dpi=dpi)
        plt.close(frame)
    elif isinstance(frame, (bytes, bytearray)):
        png = bytes(frame)
        if not png.startswith(PNG_SIGNATURE):
            raise ValueError(f"frame {index} is bytes but not a PNG file (bad signature)")
    else:
        raise TypeError(f"frame {index} must be a matplotlib Figure or PNG bytes, got {type(frame).__name__}")
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


@dataclass(frozen=True)
class FrameViewer:
    """Precomputed frames with one label each, shown one at a time under a range input.

    Build it with :func:`frame_viewer`; Jupyter and the book render it through ``_repr_html_``.

    Attributes:
        uris: one PNG data URI per frame.
        labels: the parameter value shown for each frame.
        title: a heading above the control.
        param_name: the name of the parameter the range input moves.
        initial: the index of the frame shown first.
    """

    uris: tuple[str, ...]
    labels: tuple[str, ...]
    title: str
    param_name: str
    initial: int = 0

    def _repr_html_(self) -> str:
        """The viewer's self-contained HTML (inline handler, no external resources).

        Returns:
            An HTML fragment.
        """
        esc = html.escape
        start = self.initial
        alt = f"{self.title}: {self.param_name} = {self.labels[start]}"
        return (
            f'<div class="seqlib-viewer" style="{_STYLE}"'
            f' data-title="{esc(self.title)}" data-param="{esc(self.param_name)}"'
            f' data-n-frames="{len(self.uris)}" data-initial="{start}" data-current="{start}"'
            f' data-labels="{esc(json.dumps(list(self.labels)))}"'
            f' data-frames="{esc(json.dumps(list(self.uris)))}">'
            f'<div class="seqlib-viewer-title" style="font-weight:bold">{esc(self.title)}</div>'
            f'<label style="display:flex;align-items:center;gap:0.5em">'
            f'<span>{esc(self.param_name)} = '
            f'<output class="seqlib-viewer-value">{esc(self.labels[start])}</output></span>'
            f'<input class="seqlib-viewer-range" type="range" min="0" max="{len(self.uris) - 1}"'
            f' step="1" value="{start}" aria-label="{esc(self.param_name)}"'
            f' oninput="{esc(_ONINPUT_JS)}"></label>'
            f'<img class="seqlib-viewer-image" style="max-width:100%;display:block"'
            f' src="{self.uris[start]}" alt="{esc(alt)}">'
            "</div>"
        )


def frame_viewer(
    frames: Sequence[Figure | bytes],
    labels: Sequence[object],
    title: str,
    param_name: str,
    initial: int = 0,
    dpi: int = DEFAULT_DPI,
) -> HTML:
    """A range input that flips through precomputed figures, with no kernel and no CDN.

    Args:
        frames: matplotlib figures (rendered to PNG, then closed so Jupyter does not also show
            them) or PNG bytes, one per parameter value.
        labels: the parameter value for each frame, shown next to the range input (``str()``
            is applied).
        title: a heading above the control.
        param_name: the name of the parameter, e.g. ``"gap (minutes)"``.
        initial: the index of the frame shown first.
        dpi: resolution used to render figures.

    Returns:
        An ``IPython.display.HTML`` object; display it (or leave it last in a cell).

    Raises:
        ValueError: no frames, a label count that differs from the frame count, an ``initial``
            index out of range, or bytes that are not a PNG.
        TypeError: a frame that is neither a Figure nor bytes.
    """
    frames = list(frames)
    labels = [str(label) for label in labels]
    if not frames:
        raise ValueError("frame_viewer needs at least one frame, got none")
    if len(labels) != len(frames):
        raise ValueError(f"frame_viewer got {len(frames)} frames but {len(labels)} labels; give one label per frame")
    if not 0 <= initial < len(frames):
        raise ValueError(f"initial={initial} is out of range for {len(frames)} frames")
    uris = tuple(_to_data_uri(frame, i, dpi) for i, frame in enumerate(frames))
    viewer = FrameViewer(uris=uris, labels=tuple(labels), title=title, param_name=param_name, initial=initial)
    return HTML(viewer._repr_html_())
