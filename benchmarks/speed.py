"""Training speed of every registered model at the reference shape of BENCHMARKS.md.

Reference shape: batch 512, history length 50 (DIN, DIEN), 5 sessions x 10 behaviours (DSIN),
embedding size 8 per field, default model options (attention MLP 80-40, GRU hidden = item
vector size, tower 200-80), Adam, CPU. Vocabulary sizes are MovieLens-1M's (6,040 users,
3,706 items, 18 genres). Each model runs in a fresh subprocess so that peak memory (max RSS)
is its own; the printed speed is the median over several timed runs.

Usage: python benchmarks/speed.py [--models din dien] [--threads 1 2] [--steps 20] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

import torch

from seqlib.data.batch import Batch
from seqlib.data.samples import Vocab
from seqlib.models import available, create

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


def main() -> None:
    """Print a table of samples/s and peak memory for each model and thread count."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=available(), help="registered model names")
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2], help="torch thread counts")
    parser.add_argument("--steps", type=int, default=20, help="training steps per timed run")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs; the median is reported")
    parser.add_argument("--child", nargs=2, metavar=("MODEL", "THREADS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child[0], int(args.child[1]), args.steps, args.repeats)))
        return
    print(f"reference shape {SHAPE}, vocabulary {VOCAB}, torch {torch.__version__}")
    print(f"{'model':<6} {'threads':>7} {'samples/s (median)':>19} {'min':>8} {'max':>8} {'peak MB':>8}")
    for name in args.models:
        for threads in args.threads:
            out = subprocess.run(
                [sys.executable, __file__, "--child", name, str(threads), "--steps", str(args.steps),
                 "--repeats", str(args.repeats)],
                check=True, capture_output=True, text=True,
            ).stdout
            r = json.loads(out.strip().splitlines()[-1])
            print(f"{name:<6} {threads:>7} {r['samples_per_s']:>19,.0f} {r['min']:>8,.0f} {r['max']:>8,.0f} {r['peak_mb']:>8.0f}")


if __name__ == "__main__":
    main()
