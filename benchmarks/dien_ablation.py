"""DIEN ablation: which parts and which departures from the paper matter (book chapter 3).

On the full MovieLens-1M (default), on the Taobao slice (``--dataset taobao``: every behaviour with
its type, the default sampled negatives; chapter 5's diagnosis of DIEN there) or on the DIEN-only
planted log (``--dataset synthetic-dien``, whose record chapter 3 shows next to the runs it
executes). The same script runs DSIN's ablation
on the DSIN-only planted log (``--dataset synthetic-dsin --configs base din dsin dsin[no-be] ...``,
recorded as ``dsin-ablation-synthetic-dsin``; chapter 4).

Every configuration trains on the same split with the same budget: until convergence (early
stopping on the validation split held out from the end of each user's training samples,
patience 2, at most 30 epochs, best weights restored), then the test split is scored once.
Each run is one process with one torch thread; ``--jobs`` runs that many at a time. The runs
are saved with their provenance (:mod:`seqlib.records`) after each one finishes, so an
interrupted command keeps what it finished and ``--resume`` skips it.

Usage:
    python benchmarks/dien_ablation.py [--dataset ml-1m] [--configs base dien ...] [--seeds 0 1 2] [--jobs 2]
        [--max-epochs 30] [--patience 2] [--batch-size 512] [--out DIR] [--resume]
    python benchmarks/dien_ablation.py --tiny --out DIR    # seconds, synthetic data (for tests)
    python benchmarks/dien_ablation.py --dataset taobao --configs base 'base[mean]' din 'din[softmax]'
        --name din-pooling-taobao                          # sum or normalised pooling (chapter 5)
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from seqlib.data.samples import SampleSet, build_samples
from seqlib.data.synthetic import make_synthetic
from seqlib.evaluation import format_table, load_samples, summarize
from seqlib.models import create_for
from seqlib.models.registry import SESSION_SHAPE
from seqlib.records import RESULTS_DIR, check_record_name, load_record, save_record
from seqlib.train import evaluate, fit

NAME = "{family}-ablation-{dataset}"
TINY_NAME = "dien-ablation-tiny"
# The ML-1M variant the lead chose on validation AUC (notes/DECISIONS.md): liked-only histories.
DATA = {"dataset": "ml-1m", "history": "positive", "feedback": None}
# The Taobao slice as every chapter reads it: every behaviour, its type as a feature.
TAOBAO = {"dataset": "taobao", "history": "all", "feedback": "behavior"}

# label -> (registered model, constructor options). "dien" is the paper's printed form (bilinear
# attention with a softmax, AUGRU with the printed gate u~ = a u, inner-product auxiliary scorer,
# alpha = 1, the auxiliary loss averaged over valid pairs and moving the item vectors it scores;
# DIEN(form="paper", aux_moves_items=True)); each "dien[...]" label names its departures from it.
# "dien[released]" is seqlib's default, DIEN(form="released"): the authors' released code but for
# two named departures (no target * pooled in the tower; the auxiliary loss does not move the item
# vectors it scores); "dien[released,product]" restores the first, "dien[released,moving-items]"
# the second and "dien[as-released]" both; "dien[as-released,dice]" also takes the released tower's
# Dice, leaving only the differences the model's docstring lists; the other "dien[released,...]"
# labels name their departures from the default.
PAPER = {"form": "paper", "aux_moves_items": True}
RELEASED = {"form": "released"}
CONFIGS: dict[str, tuple[str, dict[str, Any]]] = {
    "base": ("base", {}),
    "base[mean]": ("base", {"pooling": "mean"}),  # the history's mean, not its sum
    "din": ("din", {}),
    "din[softmax]": ("din", {"normalize": "softmax"}),  # departs from the paper: weights sum to 1
    "dien": ("dien", PAPER),
    "dien[gru]": ("dien", {**PAPER, "gru_type": "gru"}),
    "dien[agru]": ("dien", {**PAPER, "gru_type": "agru"}),
    "dien[aigru]": ("dien", {**PAPER, "gru_type": "aigru"}),
    "dien[no-aux]": ("dien", {**PAPER, "aux_weight": 0.0}),
    "dien[aux-paper-scale]": ("dien", {**PAPER, "aux_scale": "paper"}),
    "dien[tf-keep]": ("dien", {**PAPER, "gate": "tf-keep"}),
    "dien[sigmoid-att]": ("dien", {**PAPER, "attention_norm": "sigmoid"}),
    "dien[mlp-att]": ("dien", {**PAPER, "attention": "mlp"}),
    "dien[mlp-att,tf-keep,mlp-aux]": ("dien", {**PAPER, "attention": "mlp", "gate": "tf-keep", "aux_scorer": "mlp"}),
    "dien[released]": ("dien", RELEASED),
    "dien[as-released]": ("dien", {**RELEASED, "target_product": True, "aux_moves_items": True}),
    "dien[released,gru]": ("dien", {**RELEASED, "gru_type": "gru"}),
    "dien[released,agru]": ("dien", {**RELEASED, "gru_type": "agru"}),
    "dien[released,aigru]": ("dien", {**RELEASED, "gru_type": "aigru"}),
    "dien[released,no-aux]": ("dien", {**RELEASED, "aux_weight": 0.0}),
    "dien[released,moving-items]": ("dien", {**RELEASED, "aux_moves_items": True}),
    "dien[released,product]": ("dien", {**RELEASED, "target_product": True}),  # the tower's term only
    "dien[as-released,dice]": ("dien", {**RELEASED, "target_product": True, "aux_moves_items": True,
                                        "tower_activation": "dice"}),
    "dsin": ("dsin", {}),
    "dsin[no-be]": ("dsin", {"bias_encoding": False}),
    "dsin[no-lstm]": ("dsin", {"interacting": False}),
    "dsin[no-be,no-lstm]": ("dsin", {"bias_encoding": False, "interacting": False}),
    # sessions of up to 10 or 20 behaviours, whatever the data set's default (the released code's
    # T is 10): the samples are built with the same session shape (see run_one)
    "dsin[sessions-10]": ("dsin", {"session_len": 10}),
    "dsin[sessions-20]": ("dsin", {"session_len": 20}),
}
DEFAULT_CONFIGS = [label for label in CONFIGS if not label.startswith("dsin")]
# The planted DSIN ablation: every DSIN part on or off, at the data set's own session shape.
DSIN_CONFIGS = ["base", "din", *[label for label in CONFIGS if label.startswith("dsin") and "sessions-" not in label]]


def tiny_samples(**shape: int) -> tuple[SampleSet, SampleSet]:
    """A small planted log: an end-to-end run takes seconds (``shape``: DSIN's session shape)."""
    return build_samples(make_synthetic(n_users=120, seed=0).log, max_len=8, history="positive", seed=0, **shape)


def run_one(label: str, seed: int, settings: dict[str, Any]) -> dict[str, Any]:
    """Train and test one configuration with one seed (in a worker process, one thread).

    Args:
        label: a key of :data:`CONFIGS`.
        seed: seeds the initialisation, the sample order and the negatives.
        settings: the command's settings (data, budget, batch size, learning rate, dim).

    Returns:
        One run of the record: ``dataset, model, seed, auc, gauc, valid_users, logloss, epochs,
        epochs_run, stopped, best_valid_auc, seconds, options``.
    """
    torch.set_num_threads(1)
    data = settings["data"]
    name, options = CONFIGS[label]
    shape = {key: options[key] for key in SESSION_SHAPE if key in options}  # options that shape the samples too
    if data["dataset"] == "synthetic-tiny":
        train, test = tiny_samples(**shape)
    else:
        train, test = load_samples(data["dataset"], history=data["history"], feedback=data["feedback"], **shape)
    torch.manual_seed(seed)
    model = create_for(name, train, dim=settings["dim"], **options)
    budget = settings["budget"]
    start = time.perf_counter()
    history = fit(
        model, train, max_epochs=budget["max_epochs"], patience=budget["patience"], valid_frac=budget["valid_frac"],
        batch_size=settings["batch_size"], lr=settings["lr"], seed=seed, progress=False,
    )
    seconds = time.perf_counter() - start
    return {
        "dataset": data["dataset"], "model": label, "seed": seed, **evaluate(model, test),
        "epochs": history.attrs["best_epoch"], "epochs_run": history.attrs["epochs_run"],
        "stopped": history.attrs["stopped"], "best_valid_auc": float(history["valid_auc"].max()),
        "seconds": round(seconds, 1), "options": options,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="ml-1m", choices=["ml-1m", "taobao", "synthetic-dien", "synthetic-dsin"],
                        help="all of MovieLens-1M (liked-only histories), the Taobao slice, or a planted log")
    parser.add_argument("--configs", nargs="+", default=None, choices=list(CONFIGS), metavar="CONFIG",
                        help=f"configurations (default: all): {', '.join(CONFIGS)}")
    parser.add_argument("--seeds", nargs="+", type=int, default=None, help="seeds (default: 0 1 2)")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time (one process and one thread each)")
    parser.add_argument("--max-epochs", type=int, default=30)
    parser.add_argument("--patience", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--out", type=Path, default=None, help=f"folder of the record (default: {RESULTS_DIR})")
    parser.add_argument("--resume", action="store_true", help="keep the runs already in the record and skip them")
    parser.add_argument("--redo", nargs="+", default=[], choices=list(CONFIGS), metavar="CONFIG",
                        help="with --resume: drop the recorded runs of these configurations and run them again "
                             "(e.g. after a change to that model)")
    parser.add_argument("--tiny", action="store_true",
                        help="a seconds-long end-to-end run on a small planted log (needs --out)")
    parser.add_argument("--name", default=None,
                        help="the record's name (default: dien-ablation-DATASET, dsin-ablation-synthetic-dsin)")
    args = parser.parse_args(argv)
    if args.name is not None:
        try:
            check_record_name(args.name, "--name")
        except ValueError as error:
            parser.error(str(error))
    if args.tiny and args.out is None:
        parser.error("--tiny writes a throw-away record: give its folder with --out")
    if args.jobs < 1:
        parser.error(f"--jobs must be >= 1, got {args.jobs}")
    if args.redo and not args.resume:
        parser.error("--redo only makes sense with --resume")
    return args


def main(argv: list[str] | None = None) -> None:
    """Run the missing (configuration, seed) pairs, saving the record after each one."""
    args = parse_args(argv)
    start = time.perf_counter()
    family = "dsin" if args.dataset == "synthetic-dsin" else "dien"
    name = args.name or (TINY_NAME if args.tiny else NAME.format(family=family, dataset=args.dataset))
    folder = args.out if args.out is not None else RESULTS_DIR
    defaults = DSIN_CONFIGS if args.dataset == "synthetic-dsin" else DEFAULT_CONFIGS
    configs = args.configs or (["base", "dien"] if args.tiny else defaults)
    seeds = args.seeds or ([0] if args.tiny else [0, 1, 2])
    settings = {
        "data": {"dataset": "synthetic-tiny", "history": "positive", "feedback": None} if args.tiny
        else TAOBAO if args.dataset == "taobao" else {**DATA, "dataset": args.dataset},
        "budget": {"epochs": None, "max_epochs": 2 if args.tiny else args.max_epochs,
                   "patience": 1 if args.tiny else args.patience, "valid_frac": 0.1},
        "batch_size": args.batch_size, "lr": args.lr, "dim": 8,
        "configs": {label: {"model": CONFIGS[label][0], "options": CONFIGS[label][1]} for label in configs},
    }
    runs: list[dict[str, Any]] = []
    earlier_seconds = 0.0
    previous_command = ""
    if args.resume and (folder / f"{name}.json").is_file():
        previous, meta = load_record(name, folder)
        shared = ("data", "budget", "batch_size", "lr", "dim")
        changed = [k for k in shared if meta["settings"].get(k) != settings[k]]
        if changed:
            raise SystemExit(f"--resume: the recorded runs used other {changed} ({[meta['settings'].get(k) for k in changed]}); "
                             "rerun without --resume or with the same settings")
        runs = [run for run in previous.to_dict("records") if run["model"] not in args.redo]
        earlier_seconds = float(meta["wall_seconds"])
        previous_command = meta["command"]
        settings["configs"] = {**meta["settings"]["configs"], **settings["configs"]}
    done = {(r["model"], r["seed"]) for r in runs}
    todo = [(label, seed) for seed in seeds for label in configs if (label, seed) not in done]
    command = "python " + " ".join(shlex.quote(a) for a in ["benchmarks/dien_ablation.py", *sys.argv[1:]])
    if previous_command:  # the record names every command that added runs to it, in order
        command = f"{previous_command}; {command}"
    print(f"{len(todo)} run(s) to do, {len(done)} already recorded; {args.jobs} at a time", flush=True)
    with ProcessPoolExecutor(max_workers=args.jobs, mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(run_one, label, seed, settings) for label, seed in todo]
        for future in as_completed(futures):
            run = future.result()
            runs.append(run)
            print(f"{run['model']} seed {run['seed']}: auc {run['auc']:.4f} gauc {run['gauc']:.4f}, "
                  f"kept epoch {run['epochs']} of {run['epochs_run']}, {run['seconds']:.0f} s", flush=True)
            save_record(folder / f"{name}.json", name, command, runs, settings, threads=1,
                        wall_seconds=earlier_seconds + time.perf_counter() - start)
    table = summarize(pd.DataFrame(runs))
    print(format_table(table))
    print("seconds per run (mean):", ", ".join(f"{m} {s:.0f}" for m, s in zip(table["model"], table["seconds"])))


if __name__ == "__main__":
    main()
