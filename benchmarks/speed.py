"""Training speed of every registered model at one reference shape (below).

Reference shape: batch 512, history length 50 (DIN, DIEN), 5 sessions x 10 behaviours (DSIN),
embedding size 8 per field, default model options (attention MLP 80-40, GRU hidden = item
vector size, tower 200-80), Adam, CPU. Vocabulary sizes are MovieLens-1M's (6,040 users,
3,706 items, 18 genres). Each model runs in a fresh subprocess so that peak memory (max RSS)
is its own; the printed speed is the median over several timed runs.

A second table measures each model on real sample sets (``--datasets``, default all of
MovieLens-1M and the planted synthetic log, as ``load_samples`` builds them) three ways:

* **step**: forward, backward and Adam step on batches of the data gathered beforehand (the
  reference table's figure, on the data's real shapes);
* **loop**: the training loop of one ``fit`` epoch (batch building, the fresh auxiliary negatives
  of a model that reads them, step), from ``fit``'s own per-epoch ``seconds``;
* **end to end**: the wall time of ``fit(model, train, max_epochs=1)`` as ``compare_models``
  calls it (the validation split, one epoch, validation AUC/GAUC, the early-stopping copy of the
  weights, ``after_fit`` and the collapse check), in training samples per second.

Usage: python benchmarks/speed.py [--models din dien] [--threads 1 2] [--steps 20] [--repeats 5]
           [--datasets ml-1m synthetic] [--epoch-repeats 3]
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import statistics
import subprocess
import sys
import time

import torch

from seqlib.data.batch import Batch
from seqlib.data.samples import Vocab, split_validation
from seqlib.evaluation import load_samples
from seqlib.models import available, create, create_for
from seqlib.train import fit

SHAPE = {"batch": 512, "max_len": 50, "n_sessions": 5, "session_len": 10, "dim": 8}
VOCAB = {"n_users": 6041, "n_items": 3707, "n_cates": 19}


def reference_vocab() -> Vocab:
    """A vocabulary of MovieLens-1M's size with a random item -> category map."""
    g = torch.Generator().manual_seed(0)
    item_cate = torch.randint(1, VOCAB["n_cates"], (VOCAB["n_items"],), generator=g).numpy()
    item_cate[0] = 0
    ids = {k: torch.arange(v).numpy() for k, v in VOCAB.items()}
    return Vocab(user_ids=ids["n_users"], item_ids=ids["n_items"], cate_ids=ids["n_cates"], item_cate=item_cate)


def reference_batch(vocab: Vocab, seed: int = 0) -> Batch:
    """A random batch at the reference shape with realistic padding (lengths 1..L)."""
    g = torch.Generator().manual_seed(seed)
    b, length, k, t = SHAPE["batch"], SHAPE["max_len"], SHAPE["n_sessions"], SHAPE["session_len"]
    item_cate = torch.from_numpy(vocab.item_cate)

    def items(*shape: int) -> torch.Tensor:
        return torch.randint(1, vocab.n_items, shape, generator=g)

    hist_len = torch.randint(1, length + 1, (b,), generator=g)
    pad = torch.arange(length) >= hist_len[:, None]
    hist_item = items(b, length).masked_fill(pad, 0)
    neg_item = items(b, length).masked_fill(pad, 0)
    n_sess = torch.randint(1, k + 1, (b,), generator=g)
    sess_len = torch.randint(1, t + 1, (b, k), generator=g) * (torch.arange(k) < n_sess[:, None])
    sess_item = items(b, k, t).masked_fill(torch.arange(t) >= sess_len[..., None], 0)
    item = items(b)
    return Batch(
        user=torch.randint(1, vocab.n_users, (b,), generator=g), item=item, cate=item_cate[item],
        time=torch.zeros(b, dtype=torch.long), hist_item=hist_item, hist_cate=item_cate[hist_item],
        hist_time=torch.zeros(b, length, dtype=torch.long), hist_len=hist_len, neg_item=neg_item,
        neg_cate=item_cate[neg_item], sess_item=sess_item, sess_cate=item_cate[sess_item],
        sess_len=sess_len, n_sess=n_sess, label=torch.randint(0, 2, (b,), generator=g).float(),
    )


def measure(name: str, threads: int, steps: int, repeats: int) -> dict[str, float]:
    """Median training samples/s of one model (forward + backward + Adam step)."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    vocab = reference_vocab()
    batches = [reference_batch(vocab, seed) for seed in range(4)]
    model = create(name, vocab, dim=SHAPE["dim"])
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step(batch: Batch) -> None:
        loss = model.loss(batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for i in range(5):  # warm-up (allocator, lazy init, any compilation)
        step(batches[i % len(batches)])
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(steps):
            step(batches[i % len(batches)])
        rates.append(steps * SHAPE["batch"] / (time.perf_counter() - start))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"samples_per_s": statistics.median(rates), "min": min(rates), "max": max(rates), "peak_mb": peak_mb}


def measure_epoch(name: str, dataset: str, threads: int, steps: int, repeats: int) -> dict[str, float]:
    """Step-only, training-loop and end-to-end samples/s of one model on a real sample set.

    Args:
        name: a registered model.
        dataset: a ``load_samples`` name (its training split is used).
        threads: torch threads.
        steps: timed steps per step-only run (on batches of the data gathered beforehand).
        repeats: timed step-only runs and ``fit`` epochs; medians are reported.

    Returns:
        ``step``, ``loop`` and ``end_to_end`` samples/s (medians) and ``samples`` (training
        samples of one epoch, the validation split excluded).
    """
    torch.set_num_threads(threads)
    train, _ = load_samples(dataset)
    fit_part, _ = split_validation(train, 0.1)  # what fit trains on (it splits the same way)
    generator = torch.Generator().manual_seed(0)
    batches = list(itertools.islice(fit_part.batches(SHAPE["batch"], shuffle=True, generator=generator), 8))
    torch.manual_seed(0)
    model = create_for(name, train, dim=SHAPE["dim"])
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for i in range(5):  # warm-up
        loss = model.loss(batches[i % len(batches)])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    step_rates, loop_rates, e2e_rates = [], [], []
    for _ in range(repeats):
        start, seen = time.perf_counter(), 0
        for i in range(steps):
            batch = batches[i % len(batches)]
            loss = model.loss(batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            seen += len(batch)
        step_rates.append(seen / (time.perf_counter() - start))
    for repeat in range(repeats):
        torch.manual_seed(repeat)
        model = create_for(name, train, dim=SHAPE["dim"])
        start = time.perf_counter()
        history = fit(model, train, max_epochs=1, patience=1, seed=repeat, progress=False)
        e2e_rates.append(len(fit_part) / (time.perf_counter() - start))
        loop_rates.append(len(fit_part) / float(history["seconds"].iloc[0]))
    return {"step": statistics.median(step_rates), "loop": statistics.median(loop_rates),
            "end_to_end": statistics.median(e2e_rates), "samples": len(fit_part)}


def epoch_table(models: list[str], datasets: list[str], threads: list[int], steps: int, repeats: int) -> None:
    """Print step-only, loop and end-to-end samples/s per model, data set and thread count."""
    print(f"\nreal data: batch {SHAPE['batch']}, dim {SHAPE['dim']}; medians of {repeats} run(s)")
    print(f"{'model':<6} {'data':<10} {'threads':>7} {'step':>8} {'loop':>8} {'end to end':>10} {'e2e/step':>8}")
    for dataset in datasets:
        for name in models:
            for n in threads:
                out = subprocess.run(
                    [sys.executable, __file__, "--child-epoch", name, dataset, str(n), "--steps", str(steps),
                     "--epoch-repeats", str(repeats)],
                    check=True, capture_output=True, text=True,
                ).stdout
                r = json.loads(out.strip().splitlines()[-1])
                print(f"{name:<6} {dataset:<10} {n:>7} {r['step']:>8,.0f} {r['loop']:>8,.0f} {r['end_to_end']:>10,.0f} "
                      f"{r['end_to_end'] / r['step']:>8.0%}", flush=True)


def reference_table(models: list[str], threads: list[int], steps: int, repeats: int) -> None:
    """Print samples/s and peak memory at the reference shape per model and thread count."""
    print(f"reference shape {SHAPE}, vocabulary {VOCAB}, torch {torch.__version__}")
    print(f"{'model':<6} {'threads':>7} {'samples/s (median)':>19} {'min':>8} {'max':>8} {'peak MB':>8}")
    for name in models:
        for n in threads:
            out = subprocess.run(
                [sys.executable, __file__, "--child", name, str(n), "--steps", str(steps), "--repeats", str(repeats)],
                check=True, capture_output=True, text=True,
            ).stdout
            r = json.loads(out.strip().splitlines()[-1])
            print(f"{name:<6} {n:>7} {r['samples_per_s']:>19,.0f} {r['min']:>8,.0f} {r['max']:>8,.0f} {r['peak_mb']:>8.0f}",
                  flush=True)


def main() -> None:
    """Print a table of samples/s and peak memory for each model and thread count."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=available(), help="registered model names")
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2], help="torch thread counts")
    parser.add_argument("--steps", type=int, default=20, help="training steps per timed run")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs; the median is reported")
    parser.add_argument("--datasets", nargs="*", default=["ml-1m", "synthetic"],
                        help="load_samples names for the step/loop/end-to-end table (none: skip it)")
    parser.add_argument("--epoch-repeats", type=int, default=3, help="fit epochs per model and data set (median)")
    parser.add_argument("--no-reference", action="store_true", help="skip the reference-shape table")
    parser.add_argument("--child", nargs=2, metavar=("MODEL", "THREADS"), help=argparse.SUPPRESS)
    parser.add_argument("--child-epoch", nargs=3, metavar=("MODEL", "DATASET", "THREADS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child[0], int(args.child[1]), args.steps, args.repeats)))
        return
    if args.child_epoch:
        name, dataset, threads = args.child_epoch
        print(json.dumps(measure_epoch(name, dataset, int(threads), args.steps, args.epoch_repeats)))
        return
    if not args.no_reference:
        reference_table(args.models, args.threads, args.steps, args.repeats)
    if args.datasets:
        epoch_table(args.models, args.datasets, args.threads, args.steps, args.epoch_repeats)


if __name__ == "__main__":
    main()
