"""Which MovieLens history? Base and DIN on all of ML-1M with three kinds of history, chosen by
validation AUC/GAUC (book chapter 1, "Three data sets").

* ``all``: every earlier rating is a behaviour (a liked and a disliked movie look the same);
* ``liked``: only earlier ratings of 4 or 5 (the user's liked movies);
* ``all+rating``: every earlier rating, with the rating as a behaviour feature.

Every rating is a sample in all three; each run trains until its validation AUC stops improving
(the validation split is the last 10% of each user's training samples; the test set is only
reported). Records ``seqlib/results/ml-1m-history.json``.

Usage: python benchmarks/ml_history.py [--seeds N] [--workers N] [--out FOLDER]
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

from seqlib.evaluation import compare_models, load_samples
from seqlib.records import RESULTS_DIR, save_record

VARIANTS = {
    "all": {"history": "all"},
    "liked": {"history": "positive"},
    "all+rating": {"history": "all", "feedback": "rating"},
}


def main(argv: list[str] | None = None) -> int:
    """Run base and DIN on each history variant and record the runs."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--dataset", default="ml-1m", help="ml-1m (default) or ml-100k for a quick check")
    parser.add_argument("--out", default=None, help=f"folder for the record (default {RESULTS_DIR})")
    args = parser.parse_args(argv)
    start, runs = time.perf_counter(), []
    for label, overrides in VARIANTS.items():
        results, table = compare_models(["base", "din"], data=load_samples(args.dataset, **overrides),
                                        seeds=range(args.seeds), workers=args.workers)
        print(f"\n== history: {label}\n{table}", flush=True)
        runs += [{**run, "dataset": args.dataset, "history": label} for run in results.attrs["runs"].to_dict("records")]
    wall = time.perf_counter() - start
    command = "python benchmarks/ml_history.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    folder = Path(args.out) if args.out else RESULTS_DIR
    name = f"{args.dataset}-history"
    path = save_record(folder / f"{name}.json", name, command.strip(), runs,
                       {"variants": VARIANTS, "seeds": args.seeds, "workers": args.workers}, threads=1, wall_seconds=wall)
    print(f"recorded {path} in {wall / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
