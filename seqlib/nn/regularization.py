"""Mini-batch aware L2 regularisation (DIN section 4.1; book chapter 2), and how to measure it.

Plain L2 on an embedding table touches every row at every step, although a mini-batch uses only
a few of them: slow for large vocabularies, and it shrinks the rows of items that were not even
seen. The paper's approximation penalises only the rows present in the mini-batch, each scaled by
``1 / n_j`` (``n_j`` = the number of training samples containing id ``j``), so that over one epoch
every row is penalised about ``lambda * ||w_j||^2`` in total, and rare ids relatively more per
occurrence than frequent ones.

That accounting is SGD's (the paper's update, Eq. 7, is an SGD step): a step on ``lambda *
||w||^2`` multiplies the row by ``1 - 2 * lr * lambda``. Adam divides every step by a running
scale of the row's own gradients, so a row whose only gradient is the penalty moves by about
``lr`` per coordinate and step whatever ``lambda`` is (:func:`penalty_only_norms`). The
measuring tools here therefore train with plain SGD (:func:`sgd_curves`).
"""

from __future__ import annotations

import math
from typing import Literal, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from seqlib.checks import check_float, check_int, non_negative_float, positive_int
from seqlib.data.samples import SampleSet
from seqlib.train import evaluate, fit, make_optimizer


def mba_penalty(weight: torch.Tensor, ids: torch.Tensor, counts: torch.Tensor, lam: float) -> torch.Tensor:
    """``lambda * sum_{j in batch} ||w_j||^2 / n_j`` over the distinct non-padding ids of a batch.

    Args:
        weight: the embedding table.  # [V, d]
        ids: every id the mini-batch uses (targets and behaviours), any shape; 0 is padding.  # [*]
        counts: ``n_j``, training samples containing each id (e.g. ``SampleSet.item_counts()``);
            ids never seen in training count as 1.  # [V]
        lam: the regularisation strength ``lambda``.

    Returns:
        The penalty (a scalar).
    """
    if counts.shape != weight.shape[:1]:
        raise ValueError(f"counts has shape {tuple(counts.shape)}, expected ({weight.shape[0]},) (one per row)")
    present = torch.unique(ids)  # [M]: each row once per mini-batch
    present = present[present > 0]
    rows = weight[present]  # [M, d]
    return lam * (rows.square().sum(dim=-1) / counts[present].clamp(min=1.0)).sum()


def l2_penalty(weight: torch.Tensor, lam: float) -> torch.Tensor:
    """Plain L2 on the whole table: ``lambda * sum_j ||w_j||^2`` (padding row included, it is 0).

    Args:
        weight: the embedding table.  # [V, d]
        lam: the regularisation strength.

    Returns:
        The penalty (a scalar).
    """
    return lam * weight.square().sum()


def matched_l2_lambda(mba_lambda: float, n_batches: int) -> float:
    """The plain-L2 ``lambda`` that shrinks a rare row as much per SGD epoch as the MBA penalty.

    Under SGD a row in a batch is multiplied by ``1 - 2 * lr * lambda / n_j`` by the MBA penalty;
    a row in ``n_j`` batches per epoch (a rare id, each sample in its own batch) ends the epoch
    multiplied by ``(1 - 2 lr lambda / n_j)^{n_j} ~ exp(-2 lr lambda)``. Plain L2 multiplies every
    row by ``1 - 2 lr lambda_L2`` at each of the ``n_batches`` steps, ``~ exp(-2 lr lambda_L2
    n_batches)`` per epoch. Equal for ``lambda_L2 = lambda / n_batches``. A frequent id sits in
    fewer batches than samples (several of its samples share a batch, and the penalty counts it
    once), so the MBA penalty shrinks it less than this plain L2 does.

    Args:
        mba_lambda: the mini-batch aware penalty's ``lambda``.
        n_batches: SGD steps per epoch.

    Returns:
        ``mba_lambda / n_batches``.

    Raises:
        ValueError: a negative or non-finite ``mba_lambda``, or ``n_batches`` < 1.
    """
    return non_negative_float("mba_lambda", mba_lambda) / positive_int("n_batches", n_batches)


def full_batches(data: SampleSet, batch_size: int, seed: int = 0) -> SampleSet:
    """``data`` less ``len(data) % batch_size`` samples drawn at random, so no batch is short.

    Under SGD a loss averaged over a short last batch (say 4 samples of 32) takes a step 8 times
    larger per sample than the others, just before each end-of-epoch evaluation: the per-epoch
    curves then jump with the sample order. Dropping the remainder once removes that.

    Args:
        data: the training samples.
        batch_size: samples per SGD step.
        seed: seeds which samples are dropped.

    Returns:
        A subset of ``data`` whose size is a multiple of ``batch_size`` (the samples keep their
        order).

    Raises:
        ValueError: ``batch_size`` < 1 or larger than ``data``.
    """
    batch_size = positive_int("batch_size", batch_size)
    if batch_size > len(data):
        raise ValueError(f"batch_size={batch_size} is larger than the {len(data)} samples; lower batch_size")
    keep = len(data) // batch_size * batch_size
    chosen = torch.randperm(len(data), generator=torch.Generator().manual_seed(check_int("seed", seed, minimum=0)))
    return data.subset(chosen[:keep].sort().values)


def frequency_buckets(counts: torch.Tensor, edges: Sequence[int]) -> dict[str, torch.Tensor]:
    """Masks of the ids whose training count ``n_j`` falls in each bucket ``[edges[k], edges[k+1])``.

    Args:
        counts: ``n_j`` per id (``train.item_counts()``).  # [V]
        edges: increasing bucket starts, e.g. ``(1, 6, 51)``; the last bucket is open-ended. Ids
            with ``n_j`` below ``edges[0]`` (unseen ids, padding) are in no bucket.

    Returns:
        ``{"n=1-5": mask, "n=6-50": mask, "n>=51": mask}`` (bool masks over the ids).  # [V] each

    Raises:
        ValueError: ``edges`` empty, not increasing, or not positive integers.
    """
    edges = [check_int("edges", e, minimum=1) for e in edges]
    if not edges or any(b <= a for a, b in zip(edges, edges[1:])):
        raise ValueError(f"edges must be increasing positive integers, e.g. (1, 6, 51), got {edges}")
    buckets = {}
    for lo, hi in zip(edges, [*edges[1:], None]):
        name = f"n>={lo}" if hi is None else (f"n={lo}" if hi == lo + 1 else f"n={lo}-{hi - 1}")
        buckets[name] = (counts >= lo) & (counts < hi) if hi is not None else counts >= lo
    return buckets


@torch.no_grad()
def norms_by_frequency(weight: torch.Tensor, buckets: dict[str, torch.Tensor]) -> dict[str, float]:
    """Mean row norm ``||w_j||`` of an embedding table over each frequency bucket.

    Args:
        weight: the embedding table.  # [V, d]
        buckets: id masks from :func:`frequency_buckets`.  # [V] each

    Returns:
        ``{bucket name: mean norm}`` (NaN for an empty bucket).
    """
    norms = weight.detach().norm(dim=1)  # [V]
    return {name: float(norms[mask].mean()) if bool(mask.any()) else math.nan for name, mask in buckets.items()}


def sgd_curves(
    model: nn.Module,
    train: SampleSet,
    valid: SampleSet,
    test: SampleSet,
    epochs: int,
    lr: float,
    batch_size: int = 32,
    seed: int = 0,
    buckets: dict[str, torch.Tensor] | None = None,
    train_probe: int | None = None,
) -> pd.DataFrame:
    """Train with plain SGD for ``epochs`` passes and measure the model after every pass.

    Each pass is one :func:`~seqlib.train.fit` epoch (``optimizer="sgd"``, a fresh sample order
    per pass). Plain SGD keeps no state between steps, so these passes are one continuous run;
    with Adam they would not be (its running averages would restart), which is why this helper
    offers no other optimiser. After each pass the model is scored, in eval mode, on the training
    samples themselves (or a fixed random ``train_probe`` of them, which is cheaper), the
    validation set and the test set; the training log loss is the data term only, without the
    penalty, so it compares with the others.

    Args:
        model: the model (e.g. ``DIN(..., regularization="mba", ...)``); trained in place.
        train: the samples trained on.
        valid: validation samples (choose settings and epochs on these).
        test: test samples (only reported).
        epochs: number of passes.
        lr: the SGD learning rate.
        batch_size: samples per step.
        seed: seeds the sample orders (pass ``k`` uses ``seed * 10_000 + k``).
        buckets: id masks from :func:`frequency_buckets`; the mean norm of the model's item
            rows (``model.embed.item``) in each is recorded as ``norm <name>``.
        train_probe: score the training log loss on this many training samples, drawn once
            with ``seed`` (None: on all of them).

    Returns:
        One row per pass: ``epoch``, ``train_loss`` (fit's running mean, penalty included),
        ``train_logloss``, ``valid_logloss``, ``valid_auc``, ``test_logloss``, ``test_auc``,
        ``test_gauc``, ``test_valid_users`` (users the GAUC rests on), ``seconds`` (training only) and
        the norm columns.

    Raises:
        ValueError: a bad argument (named), or what :func:`~seqlib.train.fit` raises.
    """
    epochs = positive_int("epochs", epochs)
    seed = check_int("seed", seed, minimum=0)
    lr = check_float("lr", lr, minimum=0.0, strict_minimum=True)
    probe = train
    if train_probe is not None and positive_int("train_probe", train_probe) < len(train):
        chosen = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))[:train_probe]
        probe = train.subset(chosen.sort().values)
    rows = []
    for epoch in range(1, epochs + 1):
        history = fit(model, train, epochs=1, batch_size=batch_size, lr=lr, optimizer="sgd",
                      seed=seed * 10_000 + epoch, progress=False)
        row = {"epoch": epoch, "train_loss": float(history.train_loss.iloc[0]),
               "seconds": float(history.seconds.iloc[0])}
        for name, data in (("train", probe), ("valid", valid), ("test", test)):
            scores = evaluate(model, data, name=name)
            row[f"{name}_logloss"] = scores["logloss"]
            if name != "train":
                row[f"{name}_auc"] = scores["auc"]
        row["test_gauc"] = scores["gauc"]
        row["test_valid_users"] = scores["valid_users"]
        if buckets:
            row.update({f"norm {k}": v for k, v in norms_by_frequency(model.embed.item.weight, buckets).items()})
        rows.append(row)
    return pd.DataFrame(rows)


PenaltyOptimizer = Literal["sgd", "adam", "adamw"]


def penalty_only_norms(
    optimizer: PenaltyOptimizer, lam: float, lr: float, steps: int, dim: int = 8, seed: int = 0
) -> np.ndarray:
    """``||w||`` of one embedding row over steps whose only gradient is an L2 term.

    The row starts like an item row of a ``seqlib`` model (``N(0, 0.05^2)`` entries) and gets no
    data gradient: a rare item absent from the batches while plain L2 keeps penalising it.
    ``"sgd"`` and ``"adam"`` minimise ``lambda * ||w||^2`` (:func:`l2_penalty`), the way DIN adds
    its penalty to the loss; ``"adamw"`` applies the same strength as decoupled weight decay
    (``weight_decay = 2 * lambda``, the factor SGD's step on the penalty would apply). Optimisers
    come from :func:`~seqlib.train.make_optimizer`, as in training.

    SGD multiplies the row by ``1 - 2 lr lambda`` per step, AdamW too; Adam moves each coordinate
    by about ``lr`` per step towards 0 whatever ``lambda`` is (its step is the gradient divided
    by the gradient's own running scale).

    Args:
        optimizer: ``"sgd"``, ``"adam"`` or ``"adamw"``.
        lam: the L2 strength ``lambda``.
        lr: learning rate.
        steps: number of steps.
        dim: the row's width.
        seed: seeds the starting row.

    Returns:
        The norm before the first step and after each step.  # [steps + 1]

    Raises:
        ValueError: an unknown optimiser or an argument out of range (named).
    """
    if optimizer not in ("sgd", "adam", "adamw"):
        raise ValueError(f"optimizer must be 'sgd', 'adam' or 'adamw', got {optimizer!r}")
    lam = non_negative_float("lam", lam)
    lr = check_float("lr", lr, minimum=0.0, strict_minimum=True)
    steps, dim = check_int("steps", steps, minimum=0), positive_int("dim", dim)
    row = nn.Embedding(1, dim)
    with torch.no_grad():
        row.weight.normal_(0.0, 0.05, generator=torch.Generator().manual_seed(check_int("seed", seed, minimum=0)))
    decoupled = optimizer == "adamw"
    opt = make_optimizer(row, optimizer, lr, weight_decay=2 * lam if decoupled else 0.0)
    norms = [float(row.weight.detach().norm())]
    for _ in range(steps):
        opt.zero_grad(set_to_none=False)
        loss = row.weight.sum() * 0.0 if decoupled else l2_penalty(row.weight, lam)  # AdamW: no gradient
        loss.backward()
        opt.step()
        norms.append(float(row.weight.detach().norm()))
    return np.array(norms)
