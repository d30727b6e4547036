"""Standard data sets and ``compare_models`` (book chapter 5; the seed chapter's
``funrec.evaluation.compare_models``)."""

from __future__ import annotations

import functools
import time
from typing import Any, Iterable

import numpy as np
import pandas as pd
import torch

from seqlib.data.samples import SampleSet, build_samples
from seqlib.data.synthetic import make_synthetic
from seqlib.models.registry import available, create
from seqlib.train import evaluate, fit

# Sample settings per data set: the same split and history length for every model. "source" is
# the log a data set is built from; the "-quick" variants keep each user's latest samples only
# (histories still reach back to the first event), for the book's fast cells.
DATASETS: dict[str, dict[str, Any]] = {
    "synthetic": {"source": "synthetic", "history": "positive"},
    "ml-100k": {"source": "ml-100k", "history": "positive"},
    "ml-1m": {"source": "ml-1m", "history": "positive"},
    "ml-1m-quick": {"source": "ml-1m", "history": "positive", "max_samples_per_user": 20},
    "taobao": {"source": "taobao", "history": "all", "feedback": "behavior"},
}


def _load_log(source: str) -> pd.DataFrame:
    if source == "synthetic":
        return make_synthetic(seed=0).log
    if source in ("ml-100k", "ml-1m"):
        from seqlib.data.movielens import load_movielens

        return load_movielens(source)
    from seqlib.data.taobao import load_taobao

    return load_taobao()


@functools.lru_cache(maxsize=8)
def _cached_samples(source: str, seed: int, items: tuple[tuple[str, Any], ...]) -> tuple[SampleSet, SampleSet]:
    return build_samples(_load_log(source), seed=seed, **dict(items))


def load_samples(name: str, seed: int = 0, **overrides: Any) -> tuple[SampleSet, SampleSet]:
    """Train/test samples of a standard data set, built once per process and cached.

    Settings: ``max_len=50``, ``K=5`` sessions of ``T=10``, a 30-minute gap, the latest 20% of
    each user's samples as test. Synthetic histories are clicks only. MovieLens histories hold
    the user's earlier liked movies (rating >= 4; chosen on validation AUC over every earlier
    rating with and without the rating as a behaviour feature; book chapter 1); every rating is
    a sample, except in ``ml-1m-quick`` (each user's 20 most recent). Taobao histories hold every behaviour with its
    type (page view, cart, favourite, buy) as the feature.

    Args:
        name: a key of :data:`DATASETS`.
        seed: seed for the negative sampling (the synthetic log itself uses seed 0).
        **overrides: any :func:`build_samples` argument.

    Raises:
        ValueError: unknown data set name (the message lists the known ones).
    """
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; known data sets: {', '.join(DATASETS)}")
    settings = {**DATASETS[name], **overrides}
    source = settings.pop("source")
    return _cached_samples(source, seed, tuple(sorted(settings.items())))


def compare_models(
    models: Iterable[str],
    dataset: str = "synthetic",
    seeds: Iterable[int] = (0,),
    epochs: int | None = None,
    max_epochs: int = 30,
    patience: int = 2,
    batch_size: int = 512,
    lr: float = 3e-3,
    dim: int = 8,
    model_kwargs: dict[str, dict[str, Any]] | None = None,
    data: tuple[SampleSet, SampleSet] | None = None,
    progress: bool = False,
) -> tuple[pd.DataFrame, str]:
    """Train each model on the same split with the same budget and report test AUC/GAUC.

    The default budget trains every run until convergence (:func:`~seqlib.train.fit` with
    ``epochs=None``): early stopping on a validation split held out from the end of each user's
    training samples, best weights restored; the test set is scored once, at the end.
    ``epochs=k`` gives every run exactly ``k`` passes instead (a fixed budget).

    Args:
        models: registered names, e.g. ``["base", "din", "dien", "dsin"]`` (each once).
        dataset: a name of :data:`DATASETS` (ignored when ``data`` is given).
        seeds: one training run per seed (seeded initialisation, sample order and negatives);
            each once.
        epochs: None (early stopping) or a fixed number of passes for every run.
        max_epochs: the most passes early stopping may take.
        patience: early stopping's patience in epochs.
        batch_size: samples per step.
        lr: Adam learning rate.
        dim: embedding size per field for every model.
        model_kwargs: extra constructor options per model name.
        data: a ``(train, test)`` pair to use instead of a named data set.
        progress: show training progress (a bar and one line per epoch).

    Returns:
        ``(results, table)``: one row per model with the mean ``auc, gauc, valid_users`` and
        ``auc_std, gauc_std`` (0 for one seed), the mean ``epochs`` kept (the best epoch under
        early stopping), ``seconds`` of training, ``runs``; and the printed table (``mean ± std``
        when several seeds). ``results.attrs["runs"]`` holds the per-seed rows (with
        ``epochs_run``, the passes actually made).

    Raises:
        ValueError: an unknown or repeated model name (the message lists the known ones), a
            repeated seed, no models or no seeds, or a bad budget argument.
    """
    names = [str(m).lower() for m in models]
    seeds = list(seeds)
    if not names:
        raise ValueError("compare_models needs at least one model name")
    if not seeds:
        raise ValueError("compare_models needs at least one seed")
    for what, values in (("model name", names), ("seed", seeds)):
        repeated = sorted({str(v) for v in values if values.count(v) > 1})
        if repeated:
            raise ValueError(
                f"repeated {what}(s) {repeated}: each run would merge into one row; list each {what} once "
                "(compare variants of one model with model_kwargs in separate calls)"
            )
    unknown = [m for m in names if m not in available()]
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}; known models: {', '.join(available())}")
    train, test = data if data is not None else load_samples(dataset)
    model_kwargs = model_kwargs or {}
    runs = []
    for name in names:
        for seed in seeds:
            torch.manual_seed(seed)
            model = create(name, train.vocab, dim=dim, **model_kwargs.get(name, {}))
            if progress:
                print(f"{name}, seed {seed}:", flush=True)
            start = time.perf_counter()
            history = fit(
                model, train, epochs=epochs, max_epochs=max_epochs, patience=patience,
                batch_size=batch_size, lr=lr, seed=seed, progress=progress,
            )
            seconds = time.perf_counter() - start
            runs.append({
                "model": name, "seed": seed, **evaluate(model, test), "epochs": history.attrs["best_epoch"],
                "epochs_run": history.attrs["epochs_run"], "seconds": seconds,
            })
    results = summarize(pd.DataFrame(runs))
    return results, format_table(results)


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """Per-seed runs -> one row per model: means, standard deviations over seeds, run counts.

    Args:
        runs: one row per run with ``model, seed, auc, gauc, valid_users, epochs, seconds``
            (``compare_models``' ``attrs["runs"]``, or a recorded file's runs of one data set).

    Returns:
        ``model, auc, auc_std, gauc, gauc_std, valid_users, epochs, seconds, runs`` in the
        models' order of appearance; ``attrs["runs"]`` holds the input.
    """
    grouped = runs.groupby("model", sort=False)
    results = grouped.agg(
        auc=("auc", "mean"), auc_std=("auc", "std"), gauc=("gauc", "mean"), gauc_std=("gauc", "std"),
        valid_users=("valid_users", "mean"), epochs=("epochs", "mean"), seconds=("seconds", "mean"),
        runs=("seed", "size"),
    ).reset_index()
    results[["auc_std", "gauc_std"]] = results[["auc_std", "gauc_std"]].fillna(0.0)
    results["valid_users"] = results["valid_users"].round().astype(int)
    results.attrs["runs"] = runs
    return results


def format_table(results: pd.DataFrame) -> str:
    """The seed chapter's table: ``model, auc, gauc, valid_users`` (``mean ± std`` for several
    runs) and the epochs each model trained for."""
    several = bool((results["runs"] > 1).any())

    def cell(mean: float, std: float) -> str:
        return f"{mean:.4f} ± {std:.4f}" if several else f"{mean:.4f}"

    shown = pd.DataFrame(
        {
            "model": results["model"],
            "auc": [cell(m, s) for m, s in zip(results["auc"], results["auc_std"])],
            "gauc": [cell(m, s) for m, s in zip(results["gauc"], results["gauc_std"])],
            "valid_users": results["valid_users"],
        }
    )
    if "epochs" in results:
        shown["epochs"] = [f"{e:g}" for e in results["epochs"].round(1)]
    return shown.to_string(index=False)


def shrink_test(test: SampleSet, n_rows: int, seed: int = 0) -> SampleSet:
    """Keep only the first ``n_rows`` test samples in time order (how the seed's DSIN config
    head-sliced its test data), to show how few valid users make AUC/GAUC unreliable."""
    if n_rows < 1:
        raise ValueError(f"n_rows must be >= 1, got {n_rows}")
    order = np.argsort(test.frame["timestamp"].to_numpy(), kind="stable")[:n_rows]
    return test.subset(torch.from_numpy(np.sort(order)))
