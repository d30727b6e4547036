"""Live padding explorer (book chapter 1); the static book shows the same figure through
:func:`seqlib.viz.viewer.frame_viewer` and :func:`seqlib.viz.data.padding_frames`."""

from __future__ import annotations

from seqlib.data.batch import Batch
from seqlib.viz.data import plot_padding, spread_rows
from seqlib.widgets import show_figure


def padding_widget(batch: Batch, max_len: int = 10, n_rows: int = 12) -> "ipywidgets.VBox":  # noqa: F821 - lazy import
    """A ``max_len`` slider that redraws :func:`plot_padding` for the same samples.

    Args:
        batch: samples with histories of length ``L`` (e.g. ``SampleSet.full()``).
        max_len: the history length shown first, ``1 <= max_len <= L``.
        n_rows: samples drawn on the left.

    Returns:
        The widget (display it, or leave it last in a cell).
    """
    import ipywidgets as widgets

    width = batch.hist_item.shape[1]
    if not 1 <= max_len <= width:
        raise ValueError(f"max_len must be between 1 and the batch's history length {width}, got {max_len}")
    rows = spread_rows(batch.hist_len, n_rows)
    slider = widgets.IntSlider(value=max_len, min=1, max=width, step=1, description="max_len")
    out = widgets.Output()

    def redraw(_: object = None) -> None:
        fig = plot_padding(batch, slider.value, rows=rows)
        show_figure(out, fig)

    slider.observe(redraw, names="value")
    redraw()
    return widgets.VBox([slider, out])
