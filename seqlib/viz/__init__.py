"""Plots (matplotlib figures) and the kernel-free frame viewer used by the book's chapters."""

from seqlib.viz.compare import plot_comparison, plot_slice_effect, plot_train_time
from seqlib.viz.dien import gate_scaling_frames, plot_gate_scaling
from seqlib.viz.viewer import FrameViewer, figure_to_png, frame_viewer

__all__ = [
    "FrameViewer",
    "figure_to_png",
    "frame_viewer",
    "gate_scaling_frames",
    "plot_comparison",
    "plot_gate_scaling",
    "plot_slice_effect",
    "plot_train_time",
]
