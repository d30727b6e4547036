"""Command line: ``python -m seqlib compare din dien dsin --dataset ml-1m --seeds 3``."""

from __future__ import annotations

import argparse
import sys

import torch

from seqlib.evaluation import DATASETS, compare_models
from seqlib.models import available


def build_parser() -> argparse.ArgumentParser:
    """The ``seqlib`` argument parser (one sub-command: ``compare``)."""
    parser = argparse.ArgumentParser(prog="python -m seqlib", description="seqlib: user-behaviour sequence models")
    sub = parser.add_subparsers(dest="command", required=True)
    compare = sub.add_parser(
        "compare",
        help="train models on one data set with the same budget and print AUC/GAUC",
        description="Train each named model on the same chronological split with the same budget "
        "and print test AUC, GAUC (impression-weighted) and the number of valid GAUC users.",
    )
    compare.add_argument("models", nargs="+", metavar="MODEL", help=f"model names: {', '.join(available())}")
    compare.add_argument("--dataset", default="synthetic", help=f"data set: {', '.join(DATASETS)} (default: synthetic)")
    compare.add_argument("--seeds", type=int, default=1, help="number of seeds 0..N-1; mean ± std over them (default: 1)")
    compare.add_argument("--epochs", type=int, default=2, help="passes over the training set (default: 2)")
    compare.add_argument("--batch-size", type=int, default=512, help="samples per step (default: 512)")
    compare.add_argument("--lr", type=float, default=3e-3, help="Adam learning rate (default: 0.003)")
    compare.add_argument("--dim", type=int, default=8, help="embedding size per field (default: 8)")
    compare.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    compare.add_argument("--progress", action="store_true", help="show training progress bars")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    unknown = [m for m in args.models if m.lower() not in available()]
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}; known models: {', '.join(available())}")
    if args.dataset not in DATASETS:
        parser.error(f"unknown data set {args.dataset!r}; known data sets: {', '.join(DATASETS)}")
    if args.seeds < 1 or args.epochs < 1:
        parser.error("--seeds and --epochs must be >= 1")
    if args.threads:
        torch.set_num_threads(args.threads)
    _, table = compare_models(
        args.models, dataset=args.dataset, seeds=range(args.seeds), epochs=args.epochs,
        batch_size=args.batch_size, lr=args.lr, dim=args.dim, progress=args.progress,
    )
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
