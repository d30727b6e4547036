"""Where DIEN's evolving layer pays: its margin over a plain GRU across one planted knob (chapter 3).

The DIEN-only planted log (``make_synthetic("dien")``) is regenerated for each value of one of its
arguments, everything else as in ``load_samples("synthetic-dien")``: by default
``interests_per_user``, the number of interest topics a user holds at a time (how many topics the
16-unit state must keep apart); ``n_users`` sets how much data there is to learn from. For each
value, each configuration of ``benchmarks/dien_ablation.py`` named in ``--configs`` trains with
each seed until convergence (early stopping as everywhere in the book), one process and one thread
per run, and the test split is scored once. The record (``dien-sweep-<knob>``) holds every run
with its knob value and the oracle's AUC on that log; it is saved after each run, and
``--resume`` skips what it holds.

Usage:
    python benchmarks/dien_sweep.py [--knob interests_per_user|n_users|...] [--values 2 3 4 6 8]
        [--configs dien[released] dien[released,gru] din] [--seeds 0 1 2] [--jobs 2] [--resume]
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from typing import Any

import torch
from dien_ablation import CONFIGS

from seqlib.data.samples import build_samples
from seqlib.data.synthetic import make_synthetic
from seqlib.evaluation import DATASETS, SYNTHETIC_ARGS
from seqlib.models import create
from seqlib.records import RESULTS_DIR, load_record, save_record
from seqlib.train import evaluate, fit

KNOBS = {"interests_per_user": int, "dien_decay": float, "window": int, "interest_drift": float, "n_users": int}


def planted(knob: str, value: float) -> tuple[Any, Any, Any]:
    """The DIEN-only planted log with one argument changed, its samples, and the oracle's metrics."""
    settings = {k: v for k, v in DATASETS["synthetic-dien"].items() if k not in ("source", "variant")}
    arguments = {**SYNTHETIC_ARGS["dien"], knob: value}  # the knob may be the number of users
    syn = make_synthetic("dien", seed=0, **arguments)
    if knob == "window":
        settings["max_len"] = int(value)
    train, test = build_samples(syn.log, seed=0, **settings)
    return train, test, syn.oracle_metrics(test)


def run_one(label: str, seed: int, knob: str, value: float) -> dict[str, Any]:
    """Train and test one configuration with one seed on the log of one knob value (one thread)."""
    torch.set_num_threads(1)
    train, test, oracle = planted(knob, value)
    name, options = CONFIGS[label]
    torch.manual_seed(seed)
    model = create(name, train.vocab, **options)
    start = time.perf_counter()
    history = fit(model, train, seed=seed, progress=False)
    return {
        "dataset": "synthetic-dien", "model": label, "seed": seed, "knob": knob, "value": value,
        **evaluate(model, test), "oracle_auc": oracle["auc"], "epochs": history.attrs["best_epoch"],
        "epochs_run": history.attrs["epochs_run"], "seconds": round(time.perf_counter() - start, 1),
        "options": options,
    }


def main(argv: list[str] | None = None) -> None:
    """Run the missing (value, configuration, seed) triples, saving the record after each one."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--knob", default="interests_per_user", choices=list(KNOBS))
    parser.add_argument("--values", nargs="+", type=float, default=[2, 3, 4, 6, 8])
    parser.add_argument("--configs", nargs="+", default=["dien[released]", "dien[released,gru]", "din"],
                        choices=list(CONFIGS), metavar="CONFIG")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be >= 1, got {args.jobs}")
    values = [KNOBS[args.knob](v) for v in args.values]
    name = f"dien-sweep-{args.knob}"
    start, runs, earlier, command = time.perf_counter(), [], 0.0, ""
    if args.resume and (RESULTS_DIR / f"{name}.json").is_file():
        previous, meta = load_record(name)
        runs, earlier, command = previous.to_dict("records"), float(meta["wall_seconds"]), meta["command"] + "; "
    command += "python " + " ".join(shlex.quote(a) for a in ["benchmarks/dien_sweep.py", *sys.argv[1:]])
    done = {(r["value"], r["model"], r["seed"]) for r in runs}
    todo = [(c, s, v) for v in values for s in args.seeds for c in args.configs if (v, c, s) not in done]
    settings = {"knob": args.knob, "values": values, "configs": {c: CONFIGS[c][1] for c in args.configs},
                "budget": {"epochs": None, "max_epochs": 30, "patience": 2, "valid_frac": 0.1}}
    print(f"{len(todo)} run(s) to do, {len(done)} already recorded", flush=True)
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(run_one, c, s, args.knob, v) for c, s, v in todo]
        for future in as_completed(futures):
            run = future.result()
            runs.append(run)
            print(f"{args.knob}={run['value']} {run['model']} seed {run['seed']}: auc {run['auc']:.4f} "
                  f"(oracle {run['oracle_auc']:.4f}), {run['seconds']:.0f} s", flush=True)
            save_record(RESULTS_DIR / f"{name}.json", name, command, runs, settings, threads=1,
                        wall_seconds=earlier + time.perf_counter() - start)


if __name__ == "__main__":
    main()
