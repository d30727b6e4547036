"""Live DIN attention explorer (book chapter 2); the static book shows the same figure through
:func:`seqlib.viz.viewer.frame_viewer`."""

from __future__ import annotations

import torch

from seqlib.data.batch import Batch
from seqlib.models.din import DIN
from seqlib.viz.din import plot_attention
from seqlib.viz.dien import with_candidate
from seqlib.widgets import show_figure


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

    choice = widgets.Dropdown(options=list(candidates), description="candidate")
    softmax = widgets.ToggleButton(value=False, description="softmax", tooltip="normalise the weights")
    out = widgets.Output()

    def redraw(_: object = None) -> None:
        item, cate, relevant = candidates[choice.value]
        fig = plot_attention(model, with_candidate(sample, item, cate), relevant, softmax.value, title=choice.value)
        show_figure(out, fig)

    choice.observe(redraw, names="value")
    softmax.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([choice, softmax]), out])
