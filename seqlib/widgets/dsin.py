"""Live session-boundary explorer (book chapter 4); the static book shows the same figure through
:func:`seqlib.viz.viewer.frame_viewer` and :func:`seqlib.viz.dsin.session_frames`."""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np

from seqlib.i18n import tr
from seqlib.viz.dsin import format_gap, plot_sessions
from seqlib.widgets import show_figure


def session_widget(
    timelines: Mapping[str, tuple[np.ndarray, np.ndarray]], gap: float = 1800
) -> "ipywidgets.VBox":  # noqa: F821 - imported lazily
    """A data set/user menu and a log-scale gap slider (1 minute to 6 hours) that redraw
    :func:`plot_sessions`.

    Args:
        timelines: label (data set and user) -> ``(timestamps, categories)``.
        gap: the initial threshold in seconds (30 minutes).

    Returns:
        The widget (display it, or leave it last in a cell).

    Raises:
        ValueError: no timelines.
    """
    import ipywidgets as widgets

    if not timelines:
        raise ValueError("session_widget needs at least one timeline")
    choice = widgets.Dropdown(options=list(timelines), description=tr("user"))
    slider = widgets.FloatLogSlider(value=gap, base=10, min=math.log10(60), max=math.log10(21600), step=0.05,
                                    description=tr("gap (s)"), readout_format=".0f")
    label = widgets.Label(format_gap(gap))
    out = widgets.Output()

    def redraw(_: object = None) -> None:
        ts, cats = timelines[choice.value]
        label.value = format_gap(round(slider.value))
        fig = plot_sessions(ts, cats, slider.value, title=choice.value)
        show_figure(out, fig)

    choice.observe(redraw, names="value")
    slider.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([choice, slider, label]), out])
