"""DIN's attention weights over one user's history, interest intensity, and the regularisation
experiment's curves (book chapter 2)."""

from __future__ import annotations

from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from seqlib.checks import positive_int
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


# Readable panel titles for the columns of seqlib.nn.regularization.sgd_curves.
CURVE_LABELS = {
    "train_logloss": "training log loss",
    "valid_logloss": "validation log loss",
    "valid_auc": "validation AUC",
    "test_logloss": "test log loss",
    "test_auc": "test AUC",
    "test_gauc": "test GAUC",
}


def plot_regularization_curves(
    curves: pd.DataFrame,
    metrics: Sequence[str] = ("train_logloss", "test_logloss", "test_auc"),
    norms: Sequence[str] = ("norm n=1-5", "norm n>=51"),
    by: str = "regularizer",
    columns: int = 3,
) -> Figure:
    """Per-epoch curves of several runs: mean over seeds with a ± std band, one colour per group.

    Args:
        curves: rows of :func:`~seqlib.nn.regularization.sgd_curves` stacked over runs, with
            the columns ``by``, ``seed``, ``epoch``, each of ``metrics`` and each of ``norms``.
        metrics: one panel each (e.g. ``"test_logloss"``).
        norms: mean item-row norm columns drawn together in a last panel, the first solid, the
            next dashed, then dotted (e.g. rare and frequent items); empty for no such panel.
        by: the column naming each group of runs (the legend).
        columns: panels per row.

    Returns:
        A figure with one axes per metric, plus one for the norms; each axes holds one line per
        group (per group and norm column in the norm panel) whose y values are the means over
        seeds.

    Raises:
        ValueError: a column is missing (the message lists the missing ones), or nothing to plot.
    """
    needed = [by, "seed", "epoch", *metrics, *norms]
    missing = [c for c in needed if c not in curves.columns]
    if missing:
        raise ValueError(f"curves lacks the column(s) {missing}; pass rows of sgd_curves with a {by!r} column")
    if not metrics and not norms:
        raise ValueError("nothing to plot: pass at least one metric or norm column")
    stats = curves.groupby([by, "epoch"])[list(dict.fromkeys([*metrics, *norms]))].agg(["mean", "std"])
    groups = list(dict.fromkeys(curves[by]))
    n_panels = len(metrics) + (1 if norms else 0)
    n_cols = min(positive_int("columns", columns), n_panels)
    n_rows = -(-n_panels // n_cols)
    fig, grid = plt.subplots(n_rows, n_cols, figsize=(3.4 * n_cols, 3.0 * n_rows), squeeze=False)
    axes = list(grid.flat)
    for extra in axes[n_panels:]:
        fig.delaxes(extra)
    axes = axes[:n_panels]
    colors = {g: plt.get_cmap("tab10")(i % 10) for i, g in enumerate(groups)}
    styles = ["-", "--", ":", "-."]

    def draw(ax: plt.Axes, column: str, group: str, style: str) -> None:
        part = stats.loc[group]
        mean, std = part[(column, "mean")], part[(column, "std")].fillna(0.0)
        ax.plot(part.index, mean, style, marker="o", markersize=3, color=colors[group], label=str(group))
        ax.fill_between(part.index, mean - std, mean + std, color=colors[group], alpha=0.15, linewidth=0)

    for ax, column in zip(axes, metrics):
        for group in groups:
            draw(ax, column, group, "-")
        label = CURVE_LABELS.get(column, column)
        ax.set(title=label, xlabel="epoch", ylabel=label)
    if norms:
        ax = axes[-1]
        for k, column in enumerate(norms):
            for group in groups:
                draw(ax, column, group, styles[k % len(styles)])
        keys = [Line2D([], [], color="black", linestyle=styles[k % len(styles)], label=column.removeprefix("norm "))
                for k, column in enumerate(norms)]
        ax.legend(handles=keys, fontsize=8, title="items with $n_j$", title_fontsize=8)
        ax.set(title="item vectors by training count $n_j$", xlabel="epoch", ylabel="mean $\\|w_j\\|$")
    axes[0].legend(fontsize=8)
    for ax in axes:
        ax.xaxis.get_major_locator().set_params(integer=True)
    fig.tight_layout()
    return fig


def plot_penalty_only(
    norms: Mapping[str, Mapping[float, np.ndarray]], title: str = "A row whose only gradient is its L2 term"
) -> Figure:
    """``||w||`` over optimiser steps (from ``penalty_only_norms``): a colour per optimiser, a line
    style per ``lambda``.

    Args:
        norms: optimiser label -> ``{lambda: the norm before the first step and after each
            step}``.  # [steps + 1] each
        title: the figure title.

    Returns:
        A figure with one axes and one line per (optimiser, lambda), labelled ``"<optimiser>,
        λ = <lambda>"``.

    Raises:
        ValueError: ``norms`` is empty.
    """
    if not norms or not any(norms.values()):
        raise ValueError("norms is empty: pass {optimiser label: {lambda: penalty_only_norms(...)}}")
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    styles = ["-", "--", ":", "-."]
    top = 0.0
    for k, (name, by_lambda) in enumerate(norms.items()):
        for j, (lam, values) in enumerate(by_lambda.items()):
            ax.plot(np.arange(len(values)), values, styles[j % len(styles)], color=plt.get_cmap("tab10")(k % 10),
                    label=f"{name}, λ = {lam:g}")
            top = max(top, float(np.max(values)))
    ax.set(title=title, xlabel="step", ylabel="$\\|w\\|$", ylim=(0.0, 1.1 * top))
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig
