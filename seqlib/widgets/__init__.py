"""Live ipywidgets versions of the book's interactive figures (Jupyter and Colab).

Each widget redraws a figure from :mod:`seqlib.viz` into an ``ipywidgets.Output`` with
:func:`show_figure`, which sets the widget's ``outputs`` directly rather than capturing a
``display`` call (``with out: ...``): the result is the same in Jupyter and Colab, it works
outside a kernel (the tests drive the widgets headless), and it never routes a figure through a
notebook executor's output capture.
"""

from __future__ import annotations

from collections.abc import Callable

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from seqlib.i18n import tr
from seqlib.viz.viewer import figure_to_png


def show_figure(out: "ipywidgets.Output", fig: Figure) -> None:  # noqa: F821 - imported lazily
    """Replace what ``out`` shows by ``fig`` (as a PNG) and close the figure.

    Args:
        out: the output widget to draw into.
        fig: the new figure; it is closed afterwards.
    """
    from IPython.display import Image

    png = figure_to_png(fig)
    plt.close(fig)
    out.outputs = ()
    out.append_display_data(Image(data=png, format="png"))


def candidate_explorer(
    candidates: list[str], control: "ipywidgets.ValueWidget", draw: Callable[[str, object], Figure]  # noqa: F821
) -> "ipywidgets.VBox":  # noqa: F821 - imported lazily
    """A candidate menu next to one more control; either redraws ``draw(candidate, value)``.

    Args:
        candidates: the menu's labels.
        control: the second control (a toggle, a slider); its ``value`` is passed to ``draw``.
        draw: makes the figure for a candidate label and the control's value.

    Returns:
        ``VBox([HBox([menu, control]), output])``, drawn once for the first candidate.
    """
    import ipywidgets as widgets

    choice = widgets.Dropdown(options=list(candidates), description=tr("candidate"))
    out = widgets.Output()

    def redraw(_: object = None) -> None:
        show_figure(out, draw(choice.value, control.value))

    choice.observe(redraw, names="value")
    control.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox([choice, control]), out])


__all__ = ["candidate_explorer", "show_figure"]
