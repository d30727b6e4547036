"""Plots (matplotlib figures) and the kernel-free frame viewer used by the book's chapters."""

from seqlib.viz.architecture import base_model_figure, dien_figure, din_figure, dsin_figure, dsin_sessions_figure
from seqlib.viz.compare import plot_comparison, plot_slice_effect, plot_train_time
from seqlib.viz.data import log_summary, padding_frames, plot_history, plot_padding, plot_sequence_stats
from seqlib.viz.din import attention_frames, plot_attention, plot_intensity
from seqlib.viz.dien import gate_scaling_frames, plot_gate_scaling
from seqlib.viz.dsin import plot_session_attention, plot_session_stats, plot_sessions, session_frames
from seqlib.viz.viewer import FrameViewer, figure_to_png, frame_viewer

__all__ = [
    "FrameViewer",
    "attention_frames",
    "base_model_figure", "din_figure", "dien_figure", "dsin_figure", "dsin_sessions_figure",
    "plot_attention",
    "plot_intensity",
    "figure_to_png",
    "frame_viewer",
    "gate_scaling_frames",
    "plot_comparison",
    "plot_gate_scaling",
    "plot_slice_effect",
    "plot_train_time",
    "plot_session_attention", "plot_session_stats", "plot_sessions", "session_frames",
    "log_summary", "padding_frames", "plot_history", "plot_padding", "plot_sequence_stats",
]
