"""Command line: ``python -m seqlib compare din dien dsin --dataset ml-1m --seeds 3``.

Bad values are usage errors (exit status 2, a one-line message, no traceback); so are the
library's own refusals (a missing data file, a failed download, a diverged run, a run that went
bad: its training loss rose or it is no better than chance): they are shown as
``python -m seqlib: error: ...`` with exit status 2. With ``--on-bad-run warn`` a bad run is
kept instead, marked in the table with its symptom under it.
"""

from __future__ import annotations

import argparse
import math
import sys

import torch

from seqlib.data.movielens import DownloadError
from seqlib.evaluation import DATASETS, compare_models
from seqlib.models import available
from seqlib.train import BadRun


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (``0``, ``-3`` and ``2.5`` are usage errors)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0 (``0``, ``-1``, ``nan`` and ``inf`` are usage errors)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text!r}")
    return value


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
    compare.add_argument("--seeds", type=positive_int, default=1, help="number of seeds 0..N-1; mean ± std over them (default: 1)")
    compare.add_argument("--epochs", type=positive_int, default=2, help="passes over the training set (default: 2)")
    compare.add_argument("--batch-size", type=positive_int, default=512, help="samples per step (default: 512)")
    compare.add_argument("--lr", type=positive_float, default=3e-3, help="Adam learning rate (default: 0.003)")
    compare.add_argument("--dim", type=positive_int, default=8, help="embedding size per field (default: 8)")
    compare.add_argument("--threads", type=positive_int, default=None, help="torch CPU threads (default: torch's choice)")
    compare.add_argument("--progress", action="store_true", help="show training progress bars")
    compare.add_argument(
        "--on-bad-run", choices=("raise", "warn"), default="raise",
        help="a run whose training loss rose or that is no better than chance: stop with an error (raise, "
        "the default) or print the table with the run marked (warn)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0, or 2 after a usage or data error)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    unknown = [m for m in args.models if m.lower() not in available()]
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}; known models: {', '.join(available())}")
    if args.dataset not in DATASETS:
        parser.error(f"unknown data set {args.dataset!r}; known data sets: {', '.join(DATASETS)}")
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        _, table = compare_models(
            args.models, dataset=args.dataset, seeds=range(args.seeds), epochs=args.epochs,
            batch_size=args.batch_size, lr=args.lr, dim=args.dim, progress=args.progress,
            on_bad_run=args.on_bad_run,
        )
    except BadRun as exc:
        parser.exit(2, f"{parser.prog}: error: {exc} On the command line: a smaller --lr, or --on-bad-run warn "
                       "to print the table with the run marked.\n")
    except (ValueError, OSError, DownloadError, FloatingPointError) as exc:  # the library's refusals
        parser.exit(2, f"{parser.prog}: error: {exc}\n")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
