"""DIEN's AUGRU gate scaling, step by step, for one user and one candidate, and where the evolving
layer pays across a planted knob (book chapter 3)."""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import pandas as pd
import torch
from matplotlib.figure import Figure

from seqlib.data.batch import Batch
from seqlib.models.dien import DIEN
from seqlib.nn.gru import AGRUCell, AUGRUCell, GRUCell, evolve

VARIANTS = ("gru", "augru", "agru", "tf-keep")
_COLORS = {"gru": "tab:gray", "augru": "tab:blue", "agru": "tab:green", "tf-keep": "tab:orange"}


def with_candidate(sample: Batch, item: int, cate: int) -> Batch:
    """The same sample with another candidate (target) item.

    Args:
        sample: a batch (usually one sample).
        item: candidate item index.
        cate: the candidate's category index.

    Returns:
        A new batch whose ``item``/``cate`` are the candidate.
    """
    return Batch(**{**sample.__dict__, "item": torch.full_like(sample.item, item),
                    "cate": torch.full_like(sample.cate, cate)})


def variant_cell(cell: GRUCell, variant: str) -> GRUCell:
    """A cell of another variant sharing ``cell``'s trained weights (a 3-gate GRU/AUGRU/AIGRU cell).

    Args:
        cell: the model's evolving cell.
        variant: ``"gru"``, ``"augru"``, ``"agru"`` (reset and candidate weights only) or ``"tf-keep"``.

    Returns:
        The new cell.
    """
    if cell.n_gates != 3:
        raise ValueError("the gate plot needs a model whose evolving cell has an update gate (not AGRU)")
    n = cell.hidden_size
    if variant == "agru":
        other = AGRUCell(cell.weight_ih.shape[1], n, reset=cell.reset)
        rows = torch.cat([torch.arange(n), torch.arange(2 * n, 3 * n)])  # reset and candidate rows
        other.load_state_dict({k: v[rows] for k, v in cell.state_dict().items()})
        return other
    if variant not in ("gru", "augru", "tf-keep"):
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    other = GRUCell(cell.weight_ih.shape[1], n, reset=cell.reset) if variant == "gru" else AUGRUCell(
        cell.weight_ih.shape[1], n, gate="paper" if variant == "augru" else "tf-keep", reset=cell.reset)
    other.load_state_dict(cell.state_dict())
    return other


@torch.no_grad()
def plot_gate_scaling(
    model: DIEN,
    sample: Batch,
    temperature: float = 1.0,
    relevant: torch.Tensor | None = None,
    variants: Sequence[str] = VARIANTS,
    title: str | None = None,
) -> Figure:
    """Attention, raw and scaled update gates, and how far each variant's state moves per step.

    Args:
        model: a DIEN model (its evolving cell must have an update gate).
        sample: one sample (a batch of size 1); its ``item``/``cate`` is the candidate.
        temperature: divides the attention scores; large values flatten ``a_t``, small sharpen it.
        relevant: history steps to shade (e.g. behaviours of the candidate's topic).  # [L] bool
        variants: the update rules to compare, run with the model's trained weights.
        title: figure title (a default names the temperature).

    Returns:
        A three-panel figure over the history steps.
    """
    if model.evolving.n_gates != 3:
        raise ValueError("the gate plot needs a model whose evolving cell has an update gate (not AGRU)")
    was_training = model.training
    model.eval()
    trace = model.gate_trace(sample, temperature=temperature)
    n = int(sample.hist_len[0])
    steps = torch.arange(1, n + 1).numpy()
    attention = trace["attention"][0, :n]  # [n]
    fig, axes = plt.subplots(3, 1, figsize=(8, 6.5), sharex=True)
    if relevant is not None:
        for t in torch.nonzero(relevant[:n]).flatten().tolist():
            for ax in axes:
                ax.axvspan(t + 0.5, t + 1.5, color="gold", alpha=0.25, lw=0)
    axes[0].bar(steps, attention.numpy(), color="tab:blue")
    axes[0].set(ylabel="attention $a_t$", title=title or f"AUGRU gate scaling (temperature {temperature:g}; "
                "shaded: behaviours of the candidate's topic)")
    axes[1].plot(steps, trace["update"][0, :n].mean(-1).numpy(), color="tab:gray", marker=".", label="raw gate $u_t$")
    axes[1].plot(steps, trace["scaled"][0, :n].mean(-1).numpy(), color="tab:blue", marker=".",
                 label=r"applied gate $\tilde u_t$" + (" = $a_t u_t$" if model.gate == "paper" else ""))
    axes[1].set(ylabel="gate (mean over units)", ylim=(0, 1.05))
    axes[1].legend(loc="upper left", fontsize=9)
    states = model.interests(sample, temperature=temperature)["states"][:, :n]  # [1, n, H]
    a = attention.unsqueeze(0)  # [1, n]
    for variant in variants:
        _, run = evolve(variant_cell(model.evolving, variant), states, a, torch.ones_like(a), trace=True)
        path = torch.cat([torch.zeros_like(run["states"][:, :1]), run["states"]], dim=1)[0]  # [n + 1, H]
        axes[2].plot(steps, (path[1:] - path[:-1]).norm(dim=-1).numpy(), marker=".", color=_COLORS[variant],
                     label=variant.upper() if variant != "tf-keep" else "AUGRU tf-keep")
    axes[2].set(xlabel="history step t (oldest first)", ylabel=r"state move $\|h'_t - h'_{t-1}\|$")
    axes[2].legend(loc="upper left", fontsize=9, ncol=len(variants))
    fig.tight_layout()
    model.train(was_training)
    return fig


def gate_scaling_frames(
    model: DIEN,
    sample: Batch,
    candidates: dict[str, tuple[int, int, torch.Tensor | None]],
    temperatures: Sequence[float],
) -> tuple[list[Figure], list[str]]:
    """Figures of :func:`plot_gate_scaling` for each candidate and temperature (for the frame viewer).

    Args:
        model: a DIEN model.
        sample: one sample.
        candidates: label -> ``(item, cate, relevant steps or None)``.
        temperatures: attention temperatures.

    Returns:
        ``(figures, labels)``.
    """
    frames, labels = [], []
    for name, (item, cate, relevant) in candidates.items():
        for temperature in temperatures:
            title = f"{name}, temperature {temperature:g} (shaded: candidate's topic)"
            frames.append(plot_gate_scaling(model, with_candidate(sample, item, cate), temperature, relevant,
                                            title=title))
            labels.append(f"{name}, T={temperature:g}")
    return frames, labels


def plot_margin_sweep(
    runs: pd.DataFrame, model: str, others: Sequence[str], knob: str = "value", xlabel: str | None = None,
    title: str | None = None,
) -> Figure:
    """The AUC margin of ``model`` over each of ``others`` across a planted knob, mean ± std over seeds.

    Args:
        runs: one row per run with columns ``model``, ``seed``, ``auc`` and ``knob``.
        model: the model whose margin is drawn (e.g. ``"dien[released]"``).
        others: the models it is compared with, seed by seed (e.g. a plain GRU, DIN).
        knob: the column holding the knob's value.
        xlabel: the x axis label (default: ``knob``).
        title: figure title.

    Returns:
        The figure (a dashed line at a margin of 0).

    Raises:
        ValueError: ``runs`` lacks a column, or a model has no runs.
    """
    missing = {"model", "seed", "auc", knob} - set(runs.columns)
    if missing:
        raise ValueError(f"runs needs the columns {sorted(missing)}")
    absent = [m for m in (model, *others) if m not in set(runs["model"])]
    if absent:
        raise ValueError(f"no runs of {absent} in runs (models there: {sorted(set(runs['model']))})")
    per_seed = runs.pivot_table(index=[knob, "seed"], columns="model", values="auc")
    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    for other in others:
        margin = (per_seed[model] - per_seed[other]).groupby(level=0).agg(["mean", "std"])
        ax.errorbar(margin.index, margin["mean"], yerr=margin["std"].fillna(0.0), marker="o", capsize=3,
                    label=f"{model} − {other}")
    ax.axhline(0.0, color="gray", linestyle="--", linewidth=1)
    ax.set(xlabel=xlabel or knob, ylabel="test AUC margin", title=title or f"{model}: margin across {knob}")
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig
