"""The kernel-free frame viewer: one image, one range input, every frame embedded."""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - after selecting the backend
import pytest  # noqa: E402

from seqlib.viz import figure_to_png, frame_viewer  # noqa: E402
from seqlib.viz.viewer import PNG_SIGNATURE  # noqa: E402


def _figures(n: int) -> list[plt.Figure]:
    figures = []
    for k in range(n):
        fig, ax = plt.subplots(figsize=(2, 1.5))
        ax.plot([0, 1], [0, k])
        ax.set_title(f"frame {k}")
        figures.append(fig)
    return figures


def test_html_has_one_image_one_range_and_all_frames() -> None:
    html = frame_viewer(_figures(4), [0.1, 0.2, 0.3, 0.4], title="T", param_name="alpha", initial=1).data
    assert html.count("<img") == 1
    assert len(re.findall(r'<input[^>]*type="range"', html)) == 1
    assert 'min="0"' in html and 'max="3"' in html and 'value="1"' in html
    assert 'class="seqlib-viewer"' in html and 'data-n-frames="4"' in html
    uris = set(re.findall(r"data:image/png;base64,[A-Za-z0-9+/=]+", html))
    assert len(uris) == 4
    assert "<script" not in html and "http" not in html  # inline handler only, nothing remote
    assert "oninput=" in html


def test_figures_are_closed_and_png_bytes_accepted() -> None:
    figures = _figures(2)
    png = figure_to_png(_figures(1)[0])
    assert png.startswith(PNG_SIGNATURE)
    frame_viewer([*figures, png], ["a", "b", "c"], title="T", param_name="p")
    assert all(not plt.fignum_exists(fig.number) for fig in figures)


def test_labels_are_escaped() -> None:
    html = frame_viewer([figure_to_png(_figures(1)[0])], ["<b>"], title="a & b", param_name='"p"').data
    assert "<b>" not in html and "&lt;b&gt;" in html


@pytest.mark.parametrize(
    ("frames", "labels", "initial", "message"),
    [
        ([], [], 0, "at least one frame"),
        ([b"x"], ["a", "b"], 0, "one label per frame"),
        ([b"x"], ["a"], 1, "out of range"),
        ([b"not a png"], ["a"], 0, "not a PNG"),
    ],
)
def test_bad_input_is_rejected(frames: list[bytes], labels: list[str], initial: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        frame_viewer(frames, labels, title="T", param_name="p", initial=initial)


def test_wrong_frame_type_is_rejected() -> None:
    with pytest.raises(TypeError, match="Figure or PNG bytes"):
        frame_viewer(["frame.png"], ["a"], title="T", param_name="p")
