"""DIN's attention weights over one user's history, and interest intensity (book chapter 2)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from seqlib.data.batch import Batch
from seqlib.models.din import DIN
from seqlib.viz.dien import with_candidate


@torch.no_grad()
def attention_weights(model: DIN, batch: Batch, softmax: bool = False) -> torch.Tensor:
    """The model's weights in eval mode, raw (paper) or softmax-normalised over the same scores.

    Args:
        model: a DIN model.
        batch: a batch.
        softmax: apply a masked softmax to the activation unit's scores.

    Returns:
        Weights, 0 on padding.  # [B, L]
    """
    was_training = model.training
    model.eval()
    weights = model.attention(batch, normalize="softmax" if softmax else None)
    model.train(was_training)
    return weights


def category_colors(cates: np.ndarray) -> list[tuple[float, float, float, float]]:
    """One colour per category index (tab20, cycling).

    Args:
        cates: category indices.  # [n]

    Returns:
        RGBA colours.
    """
    cmap = plt.get_cmap("tab20")
    return [cmap(int(c) % 20) for c in cates]


def plot_attention(
    model: DIN,
    sample: Batch,
    relevant: torch.Tensor | None = None,
    softmax: bool = False,
    title: str | None = None,
) -> Figure:
    """Bar chart of ``w_j`` over one user's history, coloured by category.

    Args:
        model: a DIN model.
        sample: one sample (a batch of size 1); its ``item``/``cate`` is the candidate.
        relevant: history positions to mark (e.g. the planted relevant behaviours).  # [L] bool
        softmax: show softmax-normalised weights instead of the raw ones.
        title: first title line (the second names the weights and their total).

    Returns:
        A figure whose bars (``fig.axes[0].patches``) are the weights of the valid positions.
    """
    if len(sample) != 1:
        raise ValueError(f"plot_attention needs a batch of one sample, got {len(sample)}")
    n = int(sample.hist_len[0])
    weights = attention_weights(model, sample, softmax)[0, :n].numpy()  # [n]
    cates = sample.hist_cate[0, :n].numpy()  # [n]
    positions = np.arange(1, n + 1)
    fig, ax = plt.subplots(figsize=(9, 3.4))
    ax.bar(positions, weights, color=category_colors(cates), edgecolor="black", linewidth=0.4)
    ax.axhline(0.0, color="black", linewidth=0.6)
    if relevant is not None:
        marked = relevant[:n].numpy().astype(bool)
        top = max(float(np.abs(weights).max()) if n else 0.0, 1e-6)
        ax.scatter(positions[marked], weights[marked] + 0.06 * top * np.sign(weights[marked] + 1e-12),
                   marker="*", color="black", s=40, zorder=3, label="planted relevant")
    kind = "softmax weights" if softmax else "raw weights (no softmax)"
    total = float(weights.sum())
    heading = (title + "\n") if title else ""
    ax.set(title=f"{heading}{kind}: $\\Sigma_j\\, w_j$ = {total:.3f}",
           xlabel="history position j (oldest first)", ylabel="$w_j$", xlim=(0.3, max(n, 1) + 0.7))
    shown = sorted(set(cates.tolist()))
    handles = [Patch(color=category_colors(np.array([c]))[0], label=f"category {c}") for c in shown]
    if relevant is not None:
        handles += ax.get_legend_handles_labels()[0]
    if handles:
        ax.legend(handles=handles, fontsize=9, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    return fig


def attention_frames(
    model: DIN, sample: Batch, candidates: dict[str, tuple[int, int, torch.Tensor | None]]
) -> tuple[list[Figure], list[str]]:
    """Figures of :func:`plot_attention` for each candidate, raw and softmax (for the frame viewer).

    Args:
        model: a DIN model.
        sample: one sample.
        candidates: label -> ``(item, cate, relevant positions or None)``.

    Returns:
        ``(figures, labels)``.
    """
    frames, labels = [], []
    for name, (item, cate, relevant) in candidates.items():
        for softmax in (False, True):
            frames.append(plot_attention(model, with_candidate(sample, item, cate), relevant, softmax, title=name))
            labels.append(f"{name}, {'softmax' if softmax else 'raw'}")
    return frames, labels


def plot_intensity(model: DIN, batch: Batch, relevant: torch.Tensor) -> Figure:
    """Interest intensity ``sum_j w_j`` across samples, raw against softmax.

    Args:
        model: a DIN model.
        batch: the samples (e.g. a test set's ``full()``).
        relevant: planted relevant positions of each sample.  # [B, L] bool

    Returns:
        Two panels: the distribution of ``sum_j w_j`` (raw; softmax gives 1 for every non-empty
        history) and its mean by number of relevant behaviours in the history.
    """
    raw = attention_weights(model, batch).sum(dim=1).numpy()  # [B]
    soft = attention_weights(model, batch, softmax=True).sum(dim=1).numpy()  # [B]
    n_relevant = relevant.sum(dim=1).numpy()  # [B]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.4))
    left.hist(raw, bins=40, color="tab:blue", alpha=0.8, label="raw (paper)")
    left.axvline(1.0, color="tab:orange", linewidth=2, label="softmax (always 1)")
    left.set(title="Distribution of $\\Sigma_j\\, w_j$", xlabel="$\\Sigma_j\\, w_j$", ylabel="samples")
    left.legend(fontsize=9)
    counts = np.unique(n_relevant)
    means = [raw[n_relevant == c].mean() for c in counts]
    right.plot(counts, means, marker="o", color="tab:blue", label="raw (paper)")
    right.plot(counts, [soft[n_relevant == c].mean() for c in counts], marker="s", color="tab:orange",
               label="softmax")
    right.set(title="Mean $\\Sigma_j\\, w_j$ by planted relevance", xlabel="relevant behaviours in the history",
              ylabel="mean $\\Sigma_j\\, w_j$")
    right.legend(fontsize=9)
    fig.tight_layout()
    return fig
