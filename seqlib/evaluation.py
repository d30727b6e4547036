"""Standard data sets and ``compare_models`` (book chapter 5; the seed chapter's
``funrec.evaluation.compare_models``)."""

from __future__ import annotations

import concurrent.futures as cf
import functools
import multiprocessing
import numbers
import time
import warnings
from typing import Any, Iterable, Mapping, Union

import numpy as np
import pandas as pd
import torch

from seqlib.checks import check_seed, positive_int
from seqlib.data.samples import SampleSet, build_samples
from seqlib.data.synthetic import SyntheticData, make_synthetic
from seqlib.models.registry import available, create_for, importable, relative_cost
from seqlib.train import BadRun, BadRunWarning, OnBadRun, chance_margin, evaluate, fit

# Sample settings per data set: the same split and history length for every model. "source" is
# the log a data set is built from; the "-quick" variants keep each user's latest samples only
# (histories still reach back to the first event), for the book's fast cells. MovieLens keeps
# sessions of up to 20 behaviours: its users rate in bursts, and at the released code's T = 10
# more than half of the sessions are cut, leaving DSIN less of each history than DIN reads
# (book chapter 4, record dsin-sessions-ml-1m).
MOVIELENS_SESSION_LEN = 20
DATASETS: dict[str, dict[str, Any]] = {
    "synthetic": {"source": "synthetic", "history": "positive", "max_len": 20},
    "synthetic-din": {"source": "synthetic", "variant": "din", "history": "positive", "max_len": 20},
    "synthetic-dien": {"source": "synthetic", "variant": "dien", "history": "positive", "max_len": 20},
    "synthetic-dsin": {"source": "synthetic", "variant": "dsin", "history": "positive", "max_len": 20},
    "ml-100k": {"source": "ml-100k", "history": "positive", "session_len": MOVIELENS_SESSION_LEN},
    "ml-1m": {"source": "ml-1m", "history": "positive", "session_len": MOVIELENS_SESSION_LEN},
    "ml-1m-quick": {"source": "ml-1m", "history": "positive", "max_samples_per_user": 20,
                    "session_len": MOVIELENS_SESSION_LEN},
    "taobao": {"source": "taobao", "history": "all", "feedback": "behavior", "negatives": "popularity"},
}
# The generator's arguments behind each synthetic data set (seed 0). The single-effect variants are
# smaller (1,000 users), so that the chapters can afford their ablations with three seeds each. The
# DIEN variant plants the "latest" form of its effect (0.85^k, k the clicks since the candidate's
# topic was last clicked) for users holding 6 interests at a time over 16 sessions on average: a
# recurrent state that does not know the candidate must keep such a count for each interest, which
# DIEN's attention spares it (chapter 3).
SYNTHETIC_ARGS: dict[str, dict[str, Any]] = {
    "all": {"n_users": 2000},
    "din": {"n_users": 1000},
    "dien": {"n_users": 1000, "sessions_per_user": 16.0, "interests_per_user": 6, "dien_effect": "latest",
             "dien_decay": 0.85},
    "dsin": {"n_users": 1000},
}


@functools.lru_cache(maxsize=4)
def synthetic_data(variant: str = "all") -> SyntheticData:
    """The synthetic log (and its ground truth) behind ``"synthetic"`` or ``"synthetic-<variant>"``.

    Args:
        variant: ``"all"`` (every planted effect, 2,000 users) or ``"din"``, ``"dien"``,
            ``"dsin"`` (one effect alone); the generator's arguments are :data:`SYNTHETIC_ARGS`
            of the variant, and the log's seed is 0.

    Returns:
        The :class:`~seqlib.data.synthetic.SyntheticData` (cached: the same object each call).
    """
    if variant not in SYNTHETIC_ARGS:
        raise ValueError(f"variant must be one of {sorted(SYNTHETIC_ARGS)}, got {variant!r}")
    return make_synthetic(variant, seed=0, **SYNTHETIC_ARGS[variant])


def _load_log(source: str, variant: str = "all") -> pd.DataFrame:
    if source == "synthetic":
        return synthetic_data(variant).log
    if source in ("ml-100k", "ml-1m"):
        from seqlib.data.movielens import load_movielens

        return load_movielens(source)
    from seqlib.data.taobao import load_taobao

    return load_taobao()


@functools.lru_cache(maxsize=8)
def _cached_samples(source: str, seed: int, items: tuple[tuple[str, Any], ...]) -> tuple[SampleSet, SampleSet]:
    settings = dict(items)
    variant = settings.pop("variant", "all")
    return build_samples(_load_log(source, variant), seed=seed, **settings)


def load_samples(name: str, seed: int = 0, **overrides: Any) -> tuple[SampleSet, SampleSet]:
    """Train/test samples of a standard data set, built once per process and cached.

    Settings: ``max_len=50``, ``K=5`` sessions of ``T=10`` behaviours (``T=20`` on MovieLens, see
    :data:`DATASETS`), a 30-minute gap, the latest 20% of each user's samples as test. Build a
    model for these samples with :func:`~seqlib.models.create_for` (it takes their session shape).

    * ``synthetic``: the planted log of :func:`synthetic_data` (every effect), histories of the
      last 20 clicks (what the planted click rule reads); ``synthetic-din``, ``-dien``,
      ``-dsin``: one planted effect alone.
    * ``ml-1m`` (``ml-100k``): every rating is a sample; histories hold the user's earlier liked
      movies (rating >= 4), chosen on validation over every earlier rating with and without the
      rating as a behaviour feature (book chapter 1, ``benchmarks/ml_history.py``);
      ``ml-1m-quick`` keeps each user's 20 most recent samples.
    * ``taobao``: every behaviour is a sample plus a sampled negative drawn in proportion to
      popularity (so popularity alone says nothing); histories hold every behaviour with its type
      (page view, cart, favourite, buy) as a feature.

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


ModelSpec = Union[str, tuple[str, dict[str, Any]]]


def compare_models(
    models: Iterable[str] | Mapping[str, ModelSpec],
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
    progress: bool = True,
    workers: int = 1,
    keep_models: bool = False,
    on_bad_run: OnBadRun = "raise",
) -> tuple[pd.DataFrame, str]:
    """Train each model on the same split with the same budget and report test AUC/GAUC.

    The default budget trains every run until convergence (:func:`~seqlib.train.fit` with
    ``epochs=None``): early stopping on a validation split held out from the end of each user's
    training samples, best weights restored; the test set is scored once, at the end.
    ``epochs=k`` gives every run exactly ``k`` passes instead (a fixed budget).

    Args:
        models: registered names, e.g. ``["base", "din", "dien", "dsin"]`` (each once), or a
            mapping from a label to a name or to ``(name, constructor options)``, e.g.
            ``{"AUGRU": "dien", "AIGRU": ("dien", {"gru_type": "aigru"})}``.
        dataset: a name of :data:`DATASETS` (ignored when ``data`` is given).
        seeds: one training run per seed (seeded initialisation, sample order and negatives);
            each once.
        epochs: None (early stopping) or a fixed number of passes for every run.
        max_epochs: the most passes early stopping may take.
        patience: early stopping's patience in epochs.
        batch_size: samples per step.
        lr: Adam learning rate.
        dim: embedding size per field for every model.
        model_kwargs: extra constructor options per model name (with a list of names).
        data: a ``(train, test)`` pair to use instead of a named data set.
        progress: print one line per finished run (model, seed, test AUC, epochs, seconds).
        workers: runs at a time. 1 trains in this process; more start that many worker
            processes with one torch thread each (on a 2-core machine, 2 workers finish a
            comparison about 1.5 times sooner than one process with 2 threads). A run's result
            does not depend on which worker ran it. In a script, call ``compare_models`` under
            ``if __name__ == "__main__":`` (worker processes import the script). A model
            class defined in a notebook or script trains only with ``workers=1``.
        keep_models: also return the trained models, in eval mode, as
            ``results.attrs["models"][(label, seed)]``.
        on_bad_run: what to do with a run that went bad — its training loss rose over the
            epochs, or it is no better than chance on validation or on the test set
            (:func:`~seqlib.train.bad_run_symptom`): ``"raise"`` (default) stops with
            :class:`~seqlib.train.BadRun` naming the model, the seed, the symptom and the
            remedy; ``"warn"`` keeps the run, counts it in ``bad_runs`` and marks its model in the
            table (with the symptom under it) so that it is not read as a result.

    Returns:
        ``(results, table)``: one row per model with the mean ``auc, gauc, valid_users`` and
        ``auc_std, gauc_std`` (0 for one seed), the mean ``epochs`` kept (the best epoch under
        early stopping), ``seconds`` of training, ``runs``; and the printed table (``mean ± std``
        when several seeds). ``results.attrs["runs"]`` holds the per-seed rows (with
        ``epochs_run``, the passes actually made, and under early stopping ``valid_auc`` and
        ``valid_gauc`` of the kept epoch, and ``bad_run``: the symptom, or ``""``). ``bad_runs``
        counts each model's bad runs (0 unless ``on_bad_run="warn"``).

    Raises:
        ValueError: an unknown or repeated model name (the message lists the known ones), a
            repeated seed, no models or no seeds, or a bad budget argument.
        BadRun: a run went bad and ``on_bad_run="raise"``.
    """
    specs = _model_specs(models, model_kwargs)
    if isinstance(seeds, numbers.Integral):
        raise ValueError(f"seeds must be a list of seeds, got {seeds!r}; write range({seeds}) for seeds 0..{seeds - 1}")
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Iterable):
        raise ValueError(f"seeds must be a list of seeds such as (0, 1, 2), got {seeds!r}; write range(3) for seeds 0..2")
    if on_bad_run not in ("raise", "warn"):
        raise ValueError(f"on_bad_run must be 'raise' or 'warn', got {on_bad_run!r}")
    seeds = [check_seed("seed", s) for s in seeds]
    if not seeds:
        raise ValueError("compare_models needs at least one seed")
    repeated = sorted({str(v) for v in seeds if seeds.count(v) > 1})
    if repeated:
        raise ValueError(f"repeated seed(s) {repeated}: each run would merge into one row; list each seed once")
    workers = positive_int("workers", workers)
    in_process_only = sorted({name for name, _ in specs.values() if not importable(name)})
    if workers > 1 and in_process_only:
        raise ValueError(
            f"model(s) {in_process_only} are defined in a notebook or script, which compare_models' worker "
            "processes cannot import; pass workers=1 to train every run in this process"
        )
    if data is not None and (not isinstance(data, (tuple, list)) or len(data) != 2):
        raise ValueError("data must be a (train, test) pair of SampleSets, e.g. data=build_samples(log)")
    train, test = data if data is not None else load_samples(dataset)
    budget = {"epochs": epochs, "max_epochs": max_epochs, "patience": patience, "batch_size": batch_size,
              "lr": lr, "dim": dim, "keep": bool(keep_models)}
    jobs = [(label, name, kwargs, seed) for label, (name, kwargs) in specs.items() for seed in seeds]
    if workers == 1 or len(jobs) == 1:
        _init_worker(train, test, threads=None)
        try:
            runs = [_report(_run_job(*job, budget), progress, on_bad_run) for job in jobs]
        finally:
            _WORKER_DATA.clear()
    else:
        context = multiprocessing.get_context("spawn")  # fresh interpreters: no forked torch threads
        with cf.ProcessPoolExecutor(min(workers, len(jobs)), mp_context=context, initializer=_init_worker,
                                    initargs=(train, test, 1)) as pool:
            # the slowest models first, so that the workers finish together
            ordered = sorted(jobs, key=lambda job: -relative_cost(job[1]))
            futures = [pool.submit(_run_job, *job, budget) for job in ordered]
            try:
                runs = [_report(future.result(), progress, on_bad_run) for future in cf.as_completed(futures)]
            except BadRun:
                for future in futures:
                    future.cancel()
                raise
        order = {(label, seed): i for i, (label, _, _, seed) in enumerate(jobs)}
        runs.sort(key=lambda run: order[(run["model"], run["seed"])])
    models_kept = {}
    if keep_models:
        for run in runs:
            name, kwargs = specs[run["model"]]
            model = create_for(name, train, dim=dim, **kwargs)
            model.load_state_dict(run.pop("state"))
            models_kept[(run["model"], run["seed"])] = model.eval()
    results = summarize(pd.DataFrame(runs))
    if keep_models:
        results.attrs["models"] = models_kept
    return results, format_table(results)


def _model_specs(
    models: Iterable[str] | Mapping[str, ModelSpec], model_kwargs: dict[str, dict[str, Any]] | None
) -> dict[str, tuple[str, dict[str, Any]]]:
    """``{label: (registered name, constructor options)}``, checked."""
    if isinstance(models, str):
        raise ValueError(f"models must be a list of model names, got the string {models!r}; write [{models!r}]")
    if not isinstance(models, (Mapping, Iterable)):
        raise ValueError(
            f"models must be a list of model names such as ['base', 'din'], got {models!r} "
            f"({type(models).__name__}); known models: {', '.join(available())}"
        )
    if isinstance(models, Mapping):
        if model_kwargs:
            raise ValueError("give constructor options inside the models mapping, not in model_kwargs")
        specs = {str(label): (spec, {}) if isinstance(spec, str) else (spec[0], dict(spec[1]))
                 for label, spec in models.items()}
    else:
        names = [str(m).lower() for m in models]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(
                f"repeated model name(s) {repeated}: each run would merge into one row; list each model once, "
                "or compare variants of one model with a mapping {label: (name, options)}"
            )
        model_kwargs = model_kwargs or {}
        stray = sorted(set(model_kwargs) - set(names))
        if stray:
            raise ValueError(
                f"model_kwargs names model(s) {stray} that are not compared ({names}); remove them or add the models"
            )
        specs = {name: (name, dict(model_kwargs.get(name, {}))) for name in names}
    if not specs:
        raise ValueError("compare_models needs at least one model name")
    unknown = [name for name, _ in specs.values() if name not in available()]
    if unknown:
        raise ValueError(f"unknown model(s) {unknown}; known models: {', '.join(available())}")
    return specs


_WORKER_DATA: dict[str, SampleSet] = {}


def _init_worker(train: SampleSet, test: SampleSet, threads: int | None) -> None:
    """Hold the data a process trains on (and pin its torch threads in a worker process)."""
    if threads is not None:
        torch.set_num_threads(threads)
    _WORKER_DATA.update(train=train, test=test)


def _run_job(label: str, name: str, kwargs: dict[str, Any], seed: int, budget: dict[str, Any]) -> dict[str, Any]:
    """Train one model with one seed on the held data and score it on the test set."""
    train, test = _WORKER_DATA["train"], _WORKER_DATA["test"]
    torch.manual_seed(seed)
    model = create_for(name, train, dim=budget["dim"], **kwargs)
    start = time.perf_counter()
    with warnings.catch_warnings():  # a bad run is reported in the run's row (see _report)
        warnings.simplefilter("ignore", BadRunWarning)
        history = fit(model, train, epochs=budget["epochs"], max_epochs=budget["max_epochs"],
                      patience=budget["patience"], batch_size=budget["batch_size"], lr=budget["lr"], seed=seed,
                      progress=False, on_bad_run="warn")
    seconds = time.perf_counter() - start
    scores = evaluate(model, test)
    run = {"model": label, "seed": seed, **scores, "epochs": history.attrs["best_epoch"],
           "epochs_run": history.attrs["epochs_run"], "seconds": seconds}
    if "valid_auc" in history:  # the validation scores of the kept epoch (what early stopping chose on)
        kept = history.iloc[history.attrs["best_epoch"] - 1]
        run.update(valid_auc=float(kept["valid_auc"]), valid_gauc=float(kept["valid_gauc"]))
    run["bad_run"] = history.attrs.get("bad_run") or _chance_on_test(scores["auc"], test, budget["lr"]) or ""
    if budget["keep"]:
        run["state"] = model.state_dict()
    return run


def _chance_on_test(value: float, test: SampleSet, lr: float) -> str | None:
    """The bad-run symptom of a test AUC no better than chance (what a fixed budget, which has no
    validation set, can still be judged on), or None."""
    n_pos = int(test.frame["label"].sum())
    margin = chance_margin(n_pos, len(test) - n_pos)
    if value >= 0.5 + margin:
        return None
    return (f"bad run: the trained model has test AUC {value:.4f} on {len(test)} samples, no better than chance "
            f"(better needs > {0.5 + margin:.4f}): it learned nothing. Lower the learning rate (lr={lr:g}; the "
            "default is 3e-3), train longer or on more data, or pass on_bad_run='warn' to keep the run marked.")


def _report(run: dict[str, Any], progress: bool, on_bad_run: OnBadRun = "raise") -> dict[str, Any]:
    """Print one line for a finished run when ``progress``; return the run, or raise
    :class:`BadRun` naming the run when it went bad and ``on_bad_run="raise"``."""
    if run["bad_run"] and on_bad_run == "raise":
        raise BadRun(f"{run['model']}, seed {run['seed']}: {run['bad_run']}")
    if progress:
        mark = f" -- BAD RUN: {run['bad_run']}" if run["bad_run"] else ""
        print(f"{run['model']}, seed {run['seed']}: test auc {run['auc']:.4f}, gauc {run['gauc']:.4f}, "
              f"kept epoch {run['epochs']} of {run['epochs_run']}, {run['seconds']:.0f} s{mark}", flush=True)
    return run


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    """Per-seed runs -> one row per model: means, standard deviations over seeds, run counts.

    Args:
        runs: one row per run with ``model, seed, auc, gauc, valid_users, epochs, seconds``
            (``compare_models``' ``attrs["runs"]``, or a recorded file's runs of one data set).

    Returns:
        ``model, auc, auc_std, gauc, gauc_std, valid_users, epochs, seconds, runs`` and, when the
        runs have a ``bad_run`` column, ``bad_runs`` (how many went bad), in the models' order
        of appearance; ``attrs["runs"]`` holds the input.
    """
    grouped = runs.groupby("model", sort=False)
    extra = {"bad_runs": ("bad_run", lambda s: int((s.fillna("") != "").sum()))} if "bad_run" in runs else {}
    results = grouped.agg(
        auc=("auc", "mean"), auc_std=("auc", "std"), gauc=("gauc", "mean"), gauc_std=("gauc", "std"),
        valid_users=("valid_users", "mean"), epochs=("epochs", "mean"), seconds=("seconds", "mean"),
        runs=("seed", "size"), **extra,
    ).reset_index()
    results[["auc_std", "gauc_std"]] = results[["auc_std", "gauc_std"]].fillna(0.0)
    results["valid_users"] = results["valid_users"].round().astype(int)
    results.attrs["runs"] = runs
    return results


def lift_table(results: pd.DataFrame, oracle_auc: float | None = None, base: str | None = "base") -> pd.DataFrame:
    """How far each model gets: its margin over the base model seed by seed and its share of the
    oracle's lift over chance, ``(AUC - 0.5) / (AUC_oracle - 0.5)``.

    Args:
        results: ``compare_models`` results (``attrs["runs"]`` holds the per-seed rows).
        oracle_auc: the oracle's test AUC (synthetic data), or None.
        base: the reference model for the margins (None: no margins).

    Returns:
        One row per model (index ``model``): ``auc``, ``auc_std``, ``gauc``, ``gauc_std``,
        ``epochs``, ``runs`` (seeds); with ``base``, ``margin_min`` and ``margin_max`` (the
        smallest and largest per-seed AUC difference to the base model's run with the same
        seed); with
        ``oracle_auc``, ``lift`` (share of the oracle's lift, mean over seeds) and ``lift_std``.

    Raises:
        ValueError: ``base`` is not among the models, or ``oracle_auc`` is not above 0.5.
    """
    runs = results.attrs["runs"]
    table = results.set_index("model")[["auc", "auc_std", "gauc", "gauc_std", "epochs", "runs"]].copy()
    table.attrs = {}  # a plain table: tables with frames in attrs cannot be concatenated by pandas
    if base is not None:
        if base not in table.index:
            raise ValueError(f"base model {base!r} is not among the models {list(table.index)}")
        base_auc = runs[runs["model"] == base].set_index("seed")["auc"]
        margins = runs.assign(margin=runs["auc"] - runs["seed"].map(base_auc)).groupby("model", sort=False)["margin"]
        table["margin_min"], table["margin_max"] = margins.min(), margins.max()
    if oracle_auc is not None:
        if not oracle_auc > 0.5:
            raise ValueError(f"oracle_auc must be above 0.5 to define a lift, got {oracle_auc}")
        share = (runs["auc"] - 0.5) / (oracle_auc - 0.5)
        lift = runs.assign(lift=share).groupby("model", sort=False)["lift"]
        table["lift"], table["lift_std"] = lift.mean(), lift.std().fillna(0.0)
    return table


def _mean_std(mean: float, std: float, several: bool) -> str:
    """``"0.9282 ± 0.0071"`` for several runs, ``"0.9282"`` for one."""
    return f"{mean:.4f} ± {std:.4f}" if several else f"{mean:.4f}"


def format_lifts(table: pd.DataFrame) -> pd.DataFrame:
    """A ``lift_table`` as a reader sees it: one text cell per quantity, narrow enough for a page.

    ``auc`` and ``gauc`` read ``mean ± std`` over seeds (the mean alone for a single run),
    ``margin`` the smallest and largest per-seed margin over the base model, ``lift`` the share
    of the oracle's lift ``mean ± std``.

    Args:
        table: ``lift_table`` output, or several stacked with ``pd.concat`` (any index).

    Returns:
        Same index; columns ``auc``, ``gauc``, ``epochs`` and, where ``table`` has them,
        ``margin`` and ``lift``, all strings.

    Raises:
        TypeError: ``table`` is not a DataFrame.
        ValueError: ``table`` lacks a column of ``lift_table``'s output.
    """
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"table must be a pandas DataFrame (lift_table(...)'s output), got {type(table).__name__}")
    needed = ["auc", "auc_std", "gauc", "gauc_std", "epochs", "runs"]
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise ValueError(f"table lacks the columns {missing}: pass lift_table(...)'s output")

    rows = table.to_dict("records")
    shown = pd.DataFrame(index=table.index)
    shown["auc"] = [_mean_std(r["auc"], r["auc_std"], r["runs"] > 1) for r in rows]
    shown["gauc"] = [_mean_std(r["gauc"], r["gauc_std"], r["runs"] > 1) for r in rows]
    shown["epochs"] = [f"{r['epochs']:.1f}" for r in rows]
    if "margin_min" in table.columns:
        shown["margin"] = [
            f"{r['margin_min']:+.3f}" if r["runs"] == 1 or r["margin_min"] == r["margin_max"]
            else f"{r['margin_min']:+.3f} to {r['margin_max']:+.3f}"
            for r in rows
        ]
    if "lift" in table.columns:
        shown["lift"] = [
            f"{r['lift']:.0%} ± {r['lift_std']:.0%}" if r["runs"] > 1 else f"{r['lift']:.0%}" for r in rows
        ]
    return shown


def format_table(results: pd.DataFrame) -> str:
    """The seed chapter's table: ``model, auc, gauc, valid_users`` (``mean ± std`` for several
    runs) and the epochs each model trained for.

    A model with bad runs (``results["bad_runs"] > 0``) is marked ``"<model> (N bad runs!)"``,
    and each bad run's symptom is printed under the table: its numbers are not a result.
    """
    several = bool((results["runs"] > 1).any())
    bad = results["bad_runs"] if "bad_runs" in results else pd.Series(0, index=results.index)
    shown = pd.DataFrame(
        {
            "model": [m if n == 0 else f"{m} ({n} bad run{'s' if n > 1 else ''}!)" for m, n in zip(results["model"], bad)],
            "auc": [_mean_std(m, s, several) for m, s in zip(results["auc"], results["auc_std"])],
            "gauc": [_mean_std(m, s, several) for m, s in zip(results["gauc"], results["gauc_std"])],
            "valid_users": results["valid_users"],
        }
    )
    if "epochs" in results:
        shown["epochs"] = [f"{e:g}" for e in results["epochs"].round(1)]
    text = shown.to_string(index=False)
    runs = results.attrs.get("runs")
    if bad.any() and runs is not None and "bad_run" in runs:
        notes = [f"  {r['model']}, seed {r['seed']}: {r['bad_run']}" for _, r in runs.iterrows() if r["bad_run"]]
        text += "\n\n! bad runs, not results (their numbers are in the rows above):\n" + "\n".join(notes)
    return text


def shrink_test(test: SampleSet, n_rows: int, seed: int = 0) -> SampleSet:
    """Keep only the first ``n_rows`` test samples in time order (how the seed's DSIN config
    head-sliced its test data), to show how few valid users make AUC/GAUC unreliable."""
    n_rows = positive_int("n_rows", n_rows)
    order = np.argsort(test.frame["timestamp"].to_numpy(), kind="stable")[:n_rows]
    return test.subset(torch.from_numpy(np.sort(order)))
