"""Plots for the comparison chapter (book chapter 5)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure


def _check_table(frame: object, what: str, columns: tuple[str, ...], source: str) -> None:
    """``ValueError`` (``TypeError`` for a non-table) naming ``what`` when ``frame`` is not a
    DataFrame with rows and ``columns``; ``source`` says where such a table comes from."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame ({source}), got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks the column(s) {missing} (it has {list(frame.columns)}); pass {source}")
    if frame.empty:
        raise ValueError(f"{what} is empty: there is nothing to plot; pass {source} with at least one row")


def plot_comparison(results: dict[str, pd.DataFrame], metric: str = "auc") -> Figure:
    """Grouped bars of a metric per data set and model, with ± std error bars over seeds.

    Args:
        results: data set name -> ``compare_models`` results (columns model, ``metric``,
            ``metric_std``).
        metric: ``"auc"`` or ``"gauc"``.

    Returns:
        The figure; bar heights equal the mean values, error bars the std.
    """
    if metric not in ("auc", "gauc"):
        raise ValueError(f"metric must be 'auc' or 'gauc', got {metric!r}")
    if not results:
        raise ValueError("no results to plot")
    for name, frame in results.items():
        _check_table(frame, f"results[{name!r}]", ("model", metric, f"{metric}_std"), "compare_models(...)'s results")
    models = list(dict.fromkeys(m for frame in results.values() for m in frame["model"]))
    width = 0.8 / len(models)
    x = np.arange(len(results))
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    for i, model in enumerate(models):
        means, stds = [], []
        for frame in results.values():
            row = frame[frame["model"] == model]
            means.append(float(row[metric].iloc[0]) if len(row) else np.nan)
            stds.append(float(row[f"{metric}_std"].iloc[0]) if len(row) else 0.0)
        ax.bar(x + (i - (len(models) - 1) / 2) * width, means, width, yerr=stds, capsize=3, label=model)
    values = np.concatenate([frame[metric].to_numpy() for frame in results.values()])
    ax.set_ylim(max(0.0, np.nanmin(values) - 0.05), min(1.0, np.nanmax(values) + 0.04))
    ax.axhline(0.5, color="grey", lw=0.8, ls=":")
    ax.set_xticks(x, list(results))
    ax.set_xlabel("data set")
    ax.set_ylabel(f"test {metric.upper()} (mean ± std over seeds)")
    ax.set_title(f"Test {metric.upper()} by model and data set")
    ax.legend(ncols=len(models), fontsize=8, loc="upper right")
    fig.tight_layout()
    return fig


def plot_train_time(results: dict[str, pd.DataFrame]) -> Figure:
    """Horizontal bars of mean training seconds per model and data set.

    Args:
        results: data set name -> ``compare_models`` results (columns model, seconds).

    Returns:
        The figure.
    """
    if not results:
        raise ValueError("no results to plot: pass {data set name: compare_models(...)'s results}")
    for name, frame in results.items():
        _check_table(frame, f"results[{name!r}]", ("model", "seconds"), "compare_models(...)'s results")
    # Plain copies: compare_models keeps its per-seed runs in ``attrs``, and pd.concat would
    # compare those DataFrames across data sets (and fail on their different indexes).
    frame = pd.concat([pd.DataFrame(r.to_dict("list")).assign(dataset=name) for name, r in results.items()])
    table = frame.pivot(index="model", columns="dataset", values="seconds")[list(results)]
    fig, ax = plt.subplots(figsize=(7.5, 2.8))
    table.plot.barh(ax=ax)
    ax.set_xlabel("training seconds per run (2 CPU threads)")
    ax.set_ylabel("model")
    ax.set_title("Training time for the same budget")
    fig.tight_layout()
    return fig


def plot_slice_effect(frame: pd.DataFrame) -> Figure:
    """AUC and GAUC against the number of test rows kept (the seed's head-slice effect).

    Args:
        frame: columns ``rows, valid_users, auc, gauc`` (one row per slice size and run).

    Returns:
        The figure with one scatter per metric and the valid users on a second axis.
    """
    _check_table(frame, "frame", ("rows", "valid_users", "auc", "gauc"), "one row per slice size and run")
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    for metric, marker in (("auc", "o"), ("gauc", "s")):
        ax.scatter(frame["rows"], frame[metric], marker=marker, alpha=0.7, label=metric.upper())
    ax.axhline(0.5, color="grey", lw=0.8, ls=":")
    ax.set_xscale("log")
    ax.set_xlabel("test rows kept (earliest first, log scale)")
    ax.set_ylabel("score on the slice")
    ax.set_title("Small test slices: few valid users, unstable scores")
    users = frame.groupby("rows")["valid_users"].mean()
    twin = ax.twinx()
    twin.plot(users.index, users.to_numpy(), color="black", lw=1, label="valid users")
    twin.set_ylabel("valid GAUC users")
    lines = ax.get_legend_handles_labels()
    twin_lines = twin.get_legend_handles_labels()
    ax.legend(lines[0] + twin_lines[0], lines[1] + twin_lines[1], fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig


def plot_runs(
    results: pd.DataFrame, oracle: float | None = None, base: str | None = "base", metric: str = "auc",
    title: str = "Test AUC per run",
) -> Figure:
    """Every run of a comparison: one dot per seed, the mean ± std, the base model and the oracle.

    Args:
        results: ``compare_models`` results (``attrs["runs"]`` holds the per-seed rows).
        oracle: the oracle's score on the same test set (a dashed line), if known.
        base: the model whose mean gets a dotted line (None: none).
        metric: ``"auc"`` or ``"gauc"``.
        title: the figure title.

    Returns:
        The figure: one row per model, top to bottom in the results' order.
    """
    if metric not in ("auc", "gauc"):
        raise ValueError(f"metric must be 'auc' or 'gauc', got {metric!r}")
    _check_table(results, "results", ("model", metric, f"{metric}_std"), "compare_models(...)'s results")
    runs = results.attrs.get("runs")
    if runs is None:
        raise ValueError("results has no per-seed runs in results.attrs['runs']: pass compare_models(...)'s results "
                         "or summarize(runs)")
    models = list(results["model"])
    fig, ax = plt.subplots(figsize=(7.5, 0.55 * len(models) + 1.4))
    for i, model in enumerate(models):
        values = runs.loc[runs["model"] == model, metric].to_numpy()
        ax.scatter(values, np.full(len(values), i), color="grey", s=14, alpha=0.7, zorder=2,
                   label="one seed" if i == 0 else None)
        row = results.iloc[i]
        ax.errorbar(row[metric], i, xerr=row[f"{metric}_std"], fmt="o", color="tab:blue", capsize=4, zorder=3,
                    label="mean ± std" if i == 0 else None)
    if base is not None and base in models:
        ax.axvline(float(results.loc[results["model"] == base, metric].iloc[0]), color="tab:orange", ls=":",
                   label=f"{base} (mean)")
    if oracle is not None:
        ax.axvline(oracle, color="black", ls="--", label="oracle (the ceiling)")
    ax.set_yticks(range(len(models)), models)
    ax.invert_yaxis()
    ax.set_xlabel(f"test {metric.upper()}")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower left", bbox_to_anchor=(1.0, 0.0))
    fig.tight_layout()
    return fig
