"""Live AUGRU gate-scaling explorer (book chapter 3); the static book shows the same figure
through :func:`seqlib.viz.viewer.frame_viewer`."""

from __future__ import annotations

import torch
from matplotlib.figure import Figure

from seqlib.data.batch import Batch
from seqlib.i18n import tr
from seqlib.models.dien import DIEN
from seqlib.viz.dien import plot_gate_scaling, with_candidate
from seqlib.widgets import candidate_explorer


def gate_scaling_widget(
    model: DIEN, sample: Batch, candidates: dict[str, tuple[int, int, torch.Tensor | None]]
) -> "ipywidgets.VBox":  # noqa: F821 - imported lazily
    """A candidate menu and an attention-temperature slider that redraw :func:`plot_gate_scaling`.

    Args:
        model: a DIEN model.
        sample: one sample (batch of size 1).
        candidates: label -> ``(item, cate, relevant steps or None)``.

    Returns:
        The widget (display it, or leave it last in a cell).
    """
    import ipywidgets as widgets

    def draw(label: str, temperature: float) -> Figure:
        item, cate, relevant = candidates[label]
        return plot_gate_scaling(model, with_candidate(sample, item, cate), temperature, relevant)

    temperature = widgets.FloatLogSlider(value=1.0, base=10, min=-1.5, max=1.5, step=0.1, description=tr("temperature"))
    return candidate_explorer(list(candidates), temperature, draw)
