"""Live DIN attention explorer (book chapter 2); the static book shows the same figure through
:func:`seqlib.viz.viewer.frame_viewer`."""

from __future__ import annotations

import torch
from matplotlib.figure import Figure

from seqlib.data.batch import Batch
from seqlib.i18n import tr
from seqlib.models.din import DIN
from seqlib.viz.din import plot_attention
from seqlib.viz.dien import with_candidate
from seqlib.widgets import candidate_explorer


def attention_widget(
    model: DIN, sample: Batch, candidates: dict[str, tuple[int, int, torch.Tensor | None]]
) -> "ipywidgets.VBox":  # noqa: F821 - imported lazily
    """A candidate menu and a softmax toggle that redraw :func:`plot_attention`.

    Args:
        model: a DIN model.
        sample: one sample (batch of size 1).
        candidates: label -> ``(item, cate, relevant positions or None)``.

    Returns:
        The widget (display it, or leave it last in a cell).
    """
    import ipywidgets as widgets

    def draw(label: str, softmax: bool) -> Figure:
        item, cate, relevant = candidates[label]
        return plot_attention(model, with_candidate(sample, item, cate), relevant, softmax, title=label)

    softmax = widgets.ToggleButton(value=False, description="softmax", tooltip=tr("normalise the weights"))
    return candidate_explorer(list(candidates), softmax, draw)
