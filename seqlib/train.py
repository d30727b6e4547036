"""Training and evaluation loops shared by every model (book chapter 1, "Training")."""

from __future__ import annotations

import copy
import sys
import time

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm import tqdm

from seqlib.data.samples import SampleSet
from seqlib.metrics import auc, gauc


def _summary(row: dict[str, float], epochs: int, n_batches: int) -> str:
    """One readable line per epoch, e.g. ``epoch 1/2: 137 batches in 0.7 s, train_loss 0.6856``."""
    text = f"epoch {row['epoch']}/{epochs}: {n_batches} batches in {row['seconds']:.1f} s, train_loss {row['train_loss']:.4f}"
    if "valid_auc" in row:
        text += f", valid_auc {row['valid_auc']:.4f}, valid_gauc {row['valid_gauc']:.4f}"
    return text


@torch.no_grad()
def predict(model: nn.Module, data: SampleSet, batch_size: int = 4096, device: str | torch.device = "cpu") -> np.ndarray:
    """Click probabilities for every sample, in the set's order, with the model in eval mode.

    Args:
        model: a model with ``forward(batch) -> logits``.
        data: the samples to score.
        batch_size: samples per forward pass.
        device: where to run the model.

    Returns:
        Probabilities.  # [N]
    """
    was_training = model.training
    model.eval()
    out = [torch.sigmoid(model(batch.to(device))).cpu() for batch in data.batches(batch_size)]
    model.train(was_training)
    return torch.cat(out).numpy()


def evaluate(model: nn.Module, data: SampleSet, batch_size: int = 4096, device: str | torch.device = "cpu") -> dict[str, float]:
    """AUC, GAUC, valid users and log loss of ``model`` on ``data``.

    Returns:
        ``{"auc", "gauc", "valid_users", "logloss"}``.
    """
    p = predict(model, data, batch_size, device)
    y = data.frame["label"].to_numpy()
    g, n_valid = gauc(data.frame["user_id"].to_numpy(), y, p)
    eps = 1e-7
    logloss = float(-np.mean(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps)))
    return {"auc": auc(y, p), "gauc": g, "valid_users": n_valid, "logloss": logloss}


def fit(
    model: nn.Module,
    train: SampleSet,
    valid: SampleSet | None = None,
    epochs: int = 2,
    batch_size: int = 512,
    lr: float = 3e-3,
    weight_decay: float = 0.0,
    seed: int = 0,
    patience: int | None = None,
    progress: bool = True,
    device: str | torch.device = "cpu",
) -> pd.DataFrame:
    """Train ``model`` with Adam on ``model.loss(batch)``; deterministic on CPU under ``seed``.

    Each epoch visits the training samples once in a seeded random order. With ``valid``, the
    validation AUC/GAUC is computed after each epoch; with ``patience`` as well, training stops
    after that many epochs without a better validation AUC and the best weights are restored.

    Args:
        model: a model exposing ``loss(batch) -> scalar``.
        train: training samples.
        valid: optional validation samples.
        epochs: passes over the training set.
        batch_size: samples per step.
        lr: Adam learning rate.
        weight_decay: Adam's L2 penalty on all parameters (plain L2; DIN's mini-batch aware
            regulariser is a model option instead).
        seed: seeds the sample order and any randomness inside the model.
        patience: early-stopping patience in epochs (needs ``valid``).
        progress: show a live text progress bar (plain tqdm on stdout, never a widget) and print
            one summary line per epoch, which is what the rendered book keeps.
        device: where to train.

    Returns:
        One row per epoch: ``epoch, train_loss, seconds`` and, with ``valid``,
        ``valid_auc, valid_gauc, valid_users``.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    if patience is not None and valid is None:
        raise ValueError("patience needs a validation set")
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    n_batches = (len(train) + batch_size - 1) // batch_size
    rows: list[dict[str, float]] = []
    best_auc, best_state, stale = -np.inf, None, 0
    for epoch in range(1, epochs + 1):
        model.train()
        start, total, count = time.perf_counter(), 0.0, 0
        # A live bar that clears itself, then one summary line: the rendered book (which keeps
        # every bar refresh as a separate line) shows only the summary.
        bar = tqdm(
            total=n_batches, desc=f"epoch {epoch}/{epochs}", file=sys.stdout, disable=not progress,
            mininterval=5.0, delay=1.0, ncols=80, leave=False,
        )
        for batch in train.batches(batch_size, shuffle=True, generator=generator):
            batch = batch.to(device)
            loss = model.loss(batch)
            if not torch.isfinite(loss):
                bar.close()
                raise FloatingPointError(f"training loss became {loss.item()} in epoch {epoch}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
            count += len(batch)
            bar.update(1)
        row = {"epoch": epoch, "train_loss": total / count, "seconds": time.perf_counter() - start}
        if valid is not None:
            scores = evaluate(model, valid, device=device)
            row.update(valid_auc=scores["auc"], valid_gauc=scores["gauc"], valid_users=scores["valid_users"])
        bar.close()
        if progress:
            print(_summary(row, epochs, n_batches), flush=True)
        rows.append(row)
        if patience is not None:
            if row["valid_auc"] > best_auc:
                best_auc, best_state, stale = row["valid_auc"], copy.deepcopy(model.state_dict()), 0
            else:
                stale += 1
                if stale >= patience:
                    break
    if best_state is not None:
        model.load_state_dict(best_state)
    return pd.DataFrame(rows)
