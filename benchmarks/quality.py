"""Test AUC/GAUC of every registered model on each standard data set (BENCHMARKS.md, Quality).

Same split, epochs and embedding size for every model; mean ± std over seeds.

Usage: python benchmarks/quality.py [--datasets synthetic ml-1m taobao] [--models base din]
       [--seeds 3] [--epochs 2]
"""

from __future__ import annotations

import argparse
import time

from seqlib.evaluation import compare_models
from seqlib.models import available


def main() -> None:
    """Print one compare_models table per data set, with the wall time."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", nargs="+", default=["synthetic", "ml-1m", "taobao"])
    parser.add_argument("--models", nargs="+", default=available())
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    for dataset in args.datasets:
        start = time.perf_counter()
        results, table = compare_models(args.models, dataset=dataset, seeds=range(args.seeds), epochs=args.epochs)
        print(f"\n== {dataset}: {args.seeds} seed(s), {args.epochs} epoch(s), {time.perf_counter() - start:.0f} s ==")
        print(table)
        print("training seconds per run:", ", ".join(f"{m} {s:.1f}" for m, s in zip(results.model, results.seconds)))


if __name__ == "__main__":
    main()
