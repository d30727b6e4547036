"""DIN's regularisers measured under plain SGD (book chapter 2, "Mini-batch aware L2").

The paper's mini-batch aware L2 (MBA) is an SGD construction: per epoch it shrinks a rare row as
much as plain L2 of strength ``lambda / n_batches`` does, while touching only the rows in the
batch. Under Adam an L2 term is rescaled by the optimiser and the comparison would measure Adam,
so every run here trains with plain SGD.

The data make overfitting of rare ids visible: the DIN-only planted log with 100 items per
category (``make_synthetic("din", n_users=1000, items_per_cate=100)``, about 6,000 items, half of
them in at most 5 training samples). The click rule reads only the items' topics, so an item's
own id carries nothing a model can generalise from: an unregularised model fits the rare ids'
vectors to their few training labels. Three regularisers (none, plain L2 at the matched strength,
MBA), the same seeds, the same sample orders; after every epoch the training, validation and test
log loss, AUC and the mean norm of item vectors by training count are recorded. A run's ``auc``
is the test AUC at the epoch of its best validation AUC (early stopping read off the curve).

Usage:
    python benchmarks/regularization.py [--seeds 0 1 2] [--epochs 12] [--jobs 2] [--out DIR]
    python benchmarks/regularization.py --tiny --out DIR    # seconds (for tests)
Records ``seqlib/results/din-regularization.json``.
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from seqlib.data.samples import SampleSet, build_samples, split_validation
from seqlib.data.synthetic import make_synthetic
from seqlib.models import create
from seqlib.nn.regularization import frequency_buckets, full_batches, matched_l2_lambda, sgd_curves
from seqlib.records import RESULTS_DIR, save_record

NAME = "din-regularization"
REGULARIZERS = ("none", "plain L2", "mini-batch aware L2")
DATA = {"variant": "din", "n_users": 1000, "items_per_cate": 100, "max_len": 20}
TINY_DATA = {"variant": "din", "n_users": 80, "items_per_cate": 10, "max_len": 10}
EDGES = (1, 6, 51)  # item buckets by training count n_j: 1-5, 6-50, >= 51


def samples(data: dict[str, Any]) -> tuple[SampleSet, SampleSet, SampleSet]:
    """The (fit, validation, test) sets of the experiment's planted log."""
    syn = make_synthetic(data["variant"], n_users=data["n_users"], items_per_cate=data["items_per_cate"], seed=0)
    train, test = build_samples(syn.log, history="positive", max_len=data["max_len"], seed=0)
    fit_part, valid = split_validation(train)
    return fit_part, valid, test


def run_one(regularizer: str, seed: int, settings: dict[str, Any]) -> dict[str, Any]:
    """Train DIN with one regulariser and one seed under SGD, measuring after every epoch.

    Args:
        regularizer: one of :data:`REGULARIZERS`.
        seed: seeds the initialisation and the sample orders.
        settings: ``data, epochs, lr, batch_size, lam``.

    Returns:
        One run of the record, with its per-epoch ``curve`` (rows of
        :func:`~seqlib.nn.regularization.sgd_curves`).
    """
    torch.set_num_threads(1)
    fit_part, valid, test = samples(settings["data"])
    # The batches are the same for all three regularisers of a seed; no short last batch.
    fit_part = full_batches(fit_part, settings["batch_size"], seed=0)
    counts = fit_part.item_counts()
    n_batches = len(fit_part) // settings["batch_size"]
    options: dict[str, Any] = {}
    if regularizer == "plain L2":
        options = {"regularization": "l2", "reg_lambda": matched_l2_lambda(settings["lam"], n_batches)}
    elif regularizer == "mini-batch aware L2":
        options = {"regularization": "mba", "reg_lambda": settings["lam"], "item_counts": counts}
    torch.manual_seed(seed)
    model = create("din", fit_part.vocab, **options)
    start = time.perf_counter()
    curve = sgd_curves(model, fit_part, valid, test, epochs=settings["epochs"], lr=settings["lr"],
                       batch_size=settings["batch_size"], seed=seed, buckets=frequency_buckets(counts, EDGES))
    best = curve.loc[curve["valid_auc"].idxmax()]
    return {
        "dataset": "synthetic-din-rare", "model": regularizer, "seed": seed, "auc": float(best["test_auc"]),
        "gauc": float(best["test_gauc"]), "valid_users": int(best["test_valid_users"]), "epochs": int(best["epoch"]),
        "epochs_run": int(curve["epoch"].max()), "seconds": round(time.perf_counter() - start, 1),
        "options": {k: v for k, v in options.items() if k != "item_counts"},
        "curve": curve.to_dict("records"),
    }


def main(argv: list[str] | None = None) -> int:
    """Run every (regulariser, seed) pair and record the runs with their curves."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", nargs="+", type=int, default=None, help="seeds (default 0 1 2)")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--lr", type=float, default=0.3, help="the SGD learning rate")
    parser.add_argument("--lam", type=float, default=0.5, help="the MBA penalty's lambda")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time (one process and one thread each)")
    parser.add_argument("--out", type=Path, default=None, help=f"folder of the record (default {RESULTS_DIR})")
    parser.add_argument("--tiny", action="store_true", help="a seconds-long run on a small log (needs --out)")
    args = parser.parse_args(argv)
    if args.tiny and args.out is None:
        parser.error("--tiny writes a throw-away record: give its folder with --out")
    if not (math.isfinite(args.lr) and args.lr > 0) or not (math.isfinite(args.lam) and args.lam >= 0):
        parser.error(f"--lr must be a finite number > 0 and --lam a finite number >= 0, got {args.lr} and {args.lam}")
    if args.jobs < 1 or args.epochs < 1 or args.batch_size < 1:
        parser.error(f"--jobs, --epochs and --batch-size must be >= 1, got {args.jobs}, {args.epochs}, {args.batch_size}")
    seeds = args.seeds or ([0] if args.tiny else [0, 1, 2])
    settings = {"data": TINY_DATA if args.tiny else DATA, "epochs": 2 if args.tiny else args.epochs,
                "lr": args.lr, "batch_size": args.batch_size, "lam": args.lam, "optimizer": "sgd",
                "edges": list(EDGES)}
    folder = args.out if args.out is not None else RESULTS_DIR
    name = "din-regularization-tiny" if args.tiny else NAME
    command = "python " + " ".join(shlex.quote(a) for a in ["benchmarks/regularization.py", *(argv or sys.argv[1:])])
    start, runs = time.perf_counter(), []
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(run_one, reg, seed, settings) for seed in seeds for reg in REGULARIZERS]
        for future in as_completed(futures):
            run = future.result()
            runs.append(run)
            print(f"{run['model']:>20} seed {run['seed']}: test auc {run['auc']:.4f} at epoch {run['epochs']} "
                  f"(best validation AUC), {run['seconds']:.0f} s", flush=True)
            save_record(folder / f"{name}.json", name, command, runs, settings, threads=1,
                        wall_seconds=time.perf_counter() - start)
    table = pd.DataFrame(runs).groupby("model")["auc"].agg(["mean", "std"])
    print(table.round(4).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
