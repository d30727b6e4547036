"""How much of a lead the in-history shortcut of Taobao's old negatives can fake (book chapter 1).

Taobao UserBehavior has no impressions, so every behaviour is a positive and each gets one
sampled negative. The old rule (``negatives="popularity-unseen"``) never drew an item the user
had touched before, so "the candidate is already in the history" meant "positive"; the default
rule (``negatives="popularity"``) draws a negative from the history as often as the positives
occur there (:func:`seqlib.data.build_samples`, :func:`seqlib.data.samples.in_history_rates`).
This script trains base, DIN, DIEN and DSIN on the Taobao slice under both rules, with the
chapters' budget (:func:`seqlib.evaluation.compare_models` defaults: early stopping on the
validation split, patience 2, at most 30 epochs), the four models of a (rule, seed) on
``--workers`` processes with one torch thread each (a run's result does not depend on the
worker). It saves the record ``taobao-shortcut`` (:mod:`seqlib.records`; its settings hold each
rule's in-history rates per split and label) after every (rule, seed), so an interrupted command
keeps what it finished and ``--resume`` goes on from there.

Usage:
    SEQLIB_DATA_DIR=... python benchmarks/shortcut.py [--seeds 0 1 2] [--models base din dien dsin]
        [--rules popularity popularity-unseen] [--workers 2] [--out DIR] [--resume]
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from seqlib.data.samples import in_history_rates
from seqlib.evaluation import compare_models, format_table, load_samples, summarize
from seqlib.records import RESULTS_DIR, load_record, save_record

NAME = "taobao-shortcut"
RULES = ("popularity", "popularity-unseen")
MODELS = ("base", "din", "dien", "dsin")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--rules", nargs="+", default=list(RULES), choices=RULES,
                        help="negative rules: popularity (the default, no shortcut), popularity-unseen (the old one)")
    parser.add_argument("--workers", type=int, default=2, help="runs at a time, one torch thread each (default 2)")
    parser.add_argument("--out", type=Path, default=None, help=f"folder of the record (default: {RESULTS_DIR})")
    parser.add_argument("--resume", action="store_true", help="keep the runs already in the record and skip them")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Run the missing (rule, seed) groups, saving the record after each one."""
    args = parse_args(argv)
    torch.set_num_threads(1)
    start = time.perf_counter()
    folder = args.out if args.out is not None else RESULTS_DIR
    settings: dict[str, Any] = {"dataset": "taobao", "rules": list(args.rules), "budget": "compare_models defaults "
                                "(early stopping: patience 2, at most 30 epochs, batch 512, lr 3e-3, dim 8)",
                                "sample_seed": 0, "workers": args.workers}
    # How often the candidate is already in the history, per rule, split and label (the shortcut).
    settings["in_history_rates"] = {
        rule: in_history_rates(dict(zip(("train", "test"), load_samples("taobao", negatives=rule))))
        [["positives", "negatives"]].round(4).to_dict("index")
        for rule in args.rules
    }
    runs: list[dict[str, Any]] = []
    earlier, command = 0.0, ""
    if args.resume and (folder / f"{NAME}.json").is_file():
        previous, meta = load_record(NAME, folder)
        runs, earlier, command = previous.to_dict("records"), float(meta["wall_seconds"]), meta["command"] + "; "
    command += "python " + " ".join(shlex.quote(a) for a in ["benchmarks/shortcut.py", *sys.argv[1:]])
    done = {(r["negatives"], r["model"], r["seed"]) for r in runs}
    for seed in args.seeds:
        for rule in args.rules:
            models = [m for m in args.models if (rule, m, seed) not in done]
            if not models:
                continue
            results, _ = compare_models(models, seeds=[seed], data=load_samples("taobao", negatives=rule),
                                        workers=args.workers)
            for run in results.attrs["runs"].to_dict("records"):
                runs.append({"dataset": "taobao", "negatives": rule, **run})
            save_record(folder / f"{NAME}.json", NAME, command, runs, settings, threads=1,
                        wall_seconds=earlier + time.perf_counter() - start)
    frame = pd.DataFrame(runs)
    for rule, part in frame.groupby("negatives", sort=False):
        print(f"negatives={rule}")
        print(format_table(summarize(part.drop(columns="negatives"))))


if __name__ == "__main__":
    main()
