"""Test AUC/GAUC of every model on each standard data set (same split, budget and embedding size for every model).

Same split, budget and embedding size for every model; each run trains until its validation
AUC stops improving (early stopping on a split of the training samples, best weights kept);
mean ± std over seeds. Runs go to worker processes (one torch thread each), longest first.

Usage:
    python benchmarks/quality.py                  # synthetic, ml-1m-quick, taobao; prints tables
    python benchmarks/quality.py --full           # all of ML-1M and the Taobao slice; records
                                                  # seqlib/results/quality-full.json
    python benchmarks/quality.py --tiny --out DIR # a seconds-long end-to-end check (tests)
    python benchmarks/quality.py --datasets synthetic --epochs 1
                                                  # a fixed budget of 1 pass, no early stopping;
                                                  # records seqlib/results/quality-epochs1.json
    python benchmarks/quality.py --datasets synthetic --name quality-synthetic
                                                  # early stopping; records the runs under a name

Options: --datasets, --models, --seeds N, --workers N, --out FOLDER, --name RECORD, --exclude DATASET:MODEL ...
(runs left out, e.g. the ones too slow for the machine at hand), --resume (keep the runs already in
the record and do only the missing ones). The record is saved after every finished run.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import inspect
import multiprocessing
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import torch

from seqlib.data import build_samples, make_synthetic
from seqlib.evaluation import DATASETS, format_table, load_samples, summarize
from seqlib.models import create_for
from seqlib.models.registry import relative_cost
from seqlib.records import RESULTS_DIR, check_record_name, load_record, save_record
from seqlib.train import evaluate, fit

MODELS = ("base", "din", "dien", "dsin")
SIZE = {"ml-1m": 3.0}  # relative size of a data set (the Taobao slice and the others: 1)
BUDGET = {"max_epochs": 30, "patience": 2, "batch_size": 512, "lr": 3e-3, "dim": 8}
TINY = {"max_epochs": 2, "patience": 1, "batch_size": 256, "lr": 3e-3, "dim": 4}


def _samples(dataset: str) -> tuple:
    """The (train, test) sets of a data set name; ``"tiny"`` is a small synthetic log."""
    if dataset == "tiny":
        return build_samples(make_synthetic(n_users=80, seed=0).log, history="positive", max_len=10)
    return load_samples(dataset)


def session_lengths(datasets: list[str]) -> dict[str, int]:
    """DSIN's session length ``T`` in each data set's samples (what the record's DSIN runs read).

    Args:
        datasets: data set names (see :data:`seqlib.evaluation.DATASETS`) or ``"tiny"``.

    Returns:
        ``{data set: T}``: the data set's own setting, else ``build_samples``' default.
    """
    default = inspect.signature(build_samples).parameters["session_len"].default
    return {d: int(DATASETS.get(d, {}).get("session_len", default)) for d in datasets}


def run_one(dataset: str, model: str, seed: int, budget: dict[str, Any]) -> dict[str, Any]:
    """Train one model with one seed on one data set and score it on the test split.

    Args:
        dataset: a data set name (see :func:`seqlib.evaluation.load_samples`) or ``"tiny"``.
        model: a registered model name.
        seed: the run's seed.
        budget: ``max_epochs, patience, batch_size, lr, dim`` and ``epochs`` (None: early
            stopping; k: exactly k passes over all training samples).

    Returns:
        The run: ``dataset, model, seed``, the test metrics, ``epochs`` (kept), ``epochs_run``,
        ``seconds`` (training wall time).
    """
    torch.set_num_threads(1)
    train, test = _samples(dataset)
    torch.manual_seed(seed)
    net = create_for(model, train, dim=budget["dim"])
    start = time.perf_counter()
    history = fit(net, train, epochs=budget.get("epochs"), max_epochs=budget["max_epochs"], patience=budget["patience"],
                  batch_size=budget["batch_size"], lr=budget["lr"], seed=seed, progress=False)
    seconds = time.perf_counter() - start
    return {"dataset": dataset, "model": model, "seed": seed, **evaluate(net, test),
            "epochs": history.attrs["best_epoch"], "epochs_run": history.attrs["epochs_run"],
            "seconds": round(seconds, 1)}


def run_all(
    jobs: list[tuple[str, str, int]],
    budget: dict[str, Any],
    workers: int,
    done: list[dict] | None = None,
    on_run: Callable[[list[dict]], None] | None = None,
) -> list[dict]:
    """Run (data set, model, seed) jobs on ``workers`` processes, slowest first.

    Args:
        jobs: the runs to do.
        budget: the training budget of every run.
        workers: worker processes (one torch thread each).
        done: runs finished earlier, kept in front of the new ones.
        on_run: called with all runs so far after each finished run (to save them).

    Returns:
        The earlier and the new runs.
    """
    jobs = sorted(jobs, key=lambda job: -relative_cost(job[1]) * SIZE.get(job[0], 1.0))
    context = multiprocessing.get_context("spawn")  # fresh interpreters: no forked torch threads
    runs = list(done or [])
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {pool.submit(run_one, d, m, s, budget): (d, m, s) for d, m, s in jobs}
        for future in cf.as_completed(futures):
            run = future.result()
            runs.append(run)
            print(f"  {run['dataset']:>12} {run['model']:>5} seed {run['seed']}: auc {run['auc']:.4f} "
                  f"gauc {run['gauc']:.4f}, {run['epochs']}/{run['epochs_run']} epochs, {run['seconds']:.0f} s",
                  flush=True)
            if on_run is not None:
                on_run(runs)
    return runs


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print one table per data set, and record it (``--full``, ``--epochs``, ``--tiny``, ``--name``)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--full", action="store_true", help="all of ML-1M and the Taobao slice; write a record")
    mode.add_argument("--tiny", action="store_true", help="a seconds-long check on a small synthetic log")
    parser.add_argument("--datasets", nargs="+", default=None)
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--seeds", type=int, default=None, help="seeds 0..N-1 (default 3; 1 with --tiny)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes, one torch thread each")
    parser.add_argument("--out", default=None, help=f"folder for the record (default {RESULTS_DIR})")
    parser.add_argument("--exclude", nargs="+", default=[], metavar="DATASET:MODEL",
                        help="(data set, model) pairs to leave out, e.g. ml-1m:dien")
    parser.add_argument("--resume", action="store_true", help="keep the runs already in the record; do the rest")
    parser.add_argument("--epochs", type=int, default=None,
                        help="a fixed number of passes instead of early stopping; records quality-epochs<N>")
    parser.add_argument("--name", default=None,
                        help="record the runs under this name (default: quality-full with --full, "
                             "quality-epochs<N> with --epochs, quality-tiny with --tiny, no record otherwise)")
    args = parser.parse_args(argv)
    if args.workers < 1 or (args.seeds is not None and args.seeds < 1):
        parser.error("--workers and --seeds must be >= 1")
    if args.epochs is not None and (args.epochs < 1 or args.full or args.tiny):
        parser.error(f"--epochs takes a number of passes >= 1 and goes without --full and --tiny, got {args.epochs}")
    bad = [pair for pair in args.exclude if pair.count(":") != 1]
    if bad:
        parser.error(f"--exclude takes DATASET:MODEL pairs such as ml-1m:dien, got {bad}")
    if args.tiny:
        datasets, budget, name = args.datasets or ["tiny"], TINY, "quality-tiny"
    elif args.full:
        datasets, budget, name = args.datasets or ["ml-1m", "taobao"], BUDGET, "quality-full"
    elif args.epochs is not None:
        datasets, name = args.datasets or ["synthetic"], f"quality-epochs{args.epochs}"
        budget = {**BUDGET, "epochs": args.epochs}
    else:
        datasets, budget, name = args.datasets or ["synthetic", "ml-1m-quick", "taobao"], BUDGET, None
    if args.name is not None:
        try:
            name = check_record_name(args.name, "--name")
        except ValueError as error:
            parser.error(str(error))
    seeds = args.seeds or (1 if args.tiny else 3)
    excluded = {tuple(pair.split(":")) for pair in args.exclude}
    jobs = [(d, m, s) for d in datasets for m in args.models for s in range(seeds) if (d, m) not in excluded]
    folder = Path(args.out) if args.out else RESULTS_DIR
    command = "python benchmarks/quality.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    settings = {**budget, "datasets": datasets, "models": args.models, "seeds": seeds, "workers": args.workers,
                "excluded": sorted(args.exclude)}
    done: list[dict] = []
    earlier = 0.0
    if args.resume and name is not None and (folder / f"{name}.json").is_file():
        previous, meta = load_record(name, folder)
        changed = [k for k in budget if meta["settings"].get(k) != budget[k]]
        if changed:
            parser.error(f"--resume: the recorded runs used another {changed}; rerun without --resume")
        done, earlier = previous.to_dict("records"), float(meta["wall_seconds"])
        # The record names every command that added runs to it, in order.
        command = f"{meta['command']}; {command}"
        settings["datasets"] = list(dict.fromkeys([*meta["settings"]["datasets"], *datasets]))
        settings["models"] = list(dict.fromkeys([*meta["settings"]["models"], *args.models]))
        settings["seeds"] = max(seeds, int(meta["settings"]["seeds"]))
        finished = {(r["dataset"], r["model"], r["seed"]) for r in done}
        jobs = [job for job in jobs if job not in finished]
    settings["session_len"] = session_lengths(settings["datasets"])
    print(f"{len(jobs)} run(s) to do, {len(done)} already recorded; {args.workers} worker(s)", flush=True)
    start = time.perf_counter()

    def save(runs: list[dict]) -> None:
        if name is not None:
            save_record(folder / f"{name}.json", name, command.strip(), runs, settings, threads=1,
                        wall_seconds=earlier + time.perf_counter() - start)

    runs = run_all(jobs, budget, args.workers, done=done, on_run=save)
    wall = time.perf_counter() - start
    frame = pd.DataFrame(runs)
    for dataset in datasets:
        if (frame.dataset == dataset).any():
            rule = (f"{budget['epochs']} epoch(s)" if budget.get("epochs") else
                    f"early stopping (patience {budget['patience']})")
            print(f"\n== {dataset}: {seeds} seed(s), {rule} ==")
            print(format_table(summarize(frame[frame.dataset == dataset])))
    print(f"\nwall time {wall / 60:.1f} min on {args.workers} worker(s)")
    if name is not None:
        print(f"recorded {folder / f'{name}.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
