"""Training and evaluation loops shared by every model (book chapter 1, "Training").

``fit`` trains until the validation AUC stops improving (early stopping on a validation split
taken from the end of each user's training samples, best weights restored), or for a fixed
number of epochs when ``epochs`` is given. Either way it refuses a run that diverged, and it
tells a bad run from a result (:func:`bad_run_symptom`): a training loss that rises over the
epochs, or a kept model no better than chance on validation, raises :class:`BadRun` (or warns
with ``on_bad_run="warn"``).
"""

from __future__ import annotations

import copy
import math
import sys
import time
import warnings
from typing import Literal

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm import tqdm

from seqlib.checks import check_float, check_seed, positive_int
from seqlib.data.samples import SampleSet, split_validation
from seqlib.metrics import auc, gauc

Optimizer = Literal["adam", "adamw", "sgd"]
OnBadRun = Literal["raise", "warn"]
# A batch loss this many times the first batch's loss means the run diverged (a step size far
# too large); the first-epoch loss of a sane run never comes near it.
_DIVERGED_FACTOR = 100.0
# Samples per forward pass when scoring: on one CPU thread 4,096 puts DIN's and DIEN's attention
# activations out of cache (1.7 to 2.6 times slower per sample than 1,024).
EVAL_BATCH_SIZE = 1024


# A bad run (see bad_run_symptom): an epoch's mean training loss this much above the lowest of the
# epochs before it (relative and absolute; a healthy run's epoch means fall or wobble by a few %),
_LOSS_RISE, _LOSS_RISE_ABS = 0.10, 0.02
# or a kept model whose validation AUC is within this many null standard errors of 0.5.
_CHANCE_Z = 2.0


class TrainingDiverged(FloatingPointError):
    """Training produced a non-finite or exploding loss, or predictions that collapsed."""


class BadRun(TrainingDiverged):
    """Training ran to the end but went bad: the training loss rose over the epochs, or the kept
    model is no better than chance (see :func:`bad_run_symptom`)."""


class BadRunWarning(UserWarning):
    """The warning ``fit(..., on_bad_run="warn")`` gives instead of raising :class:`BadRun`."""


def chance_margin(n_pos: int, n_neg: int) -> float:
    """How far above 0.5 an AUC must lie to be better than chance on ``n_pos`` + ``n_neg`` samples.

    ``_CHANCE_Z`` standard errors of the AUC of a scorer that knows nothing (Hanley & McNeil
    1982, at AUC = 0.5): ``se = sqrt((n_pos + n_neg + 1) / (12 n_pos n_neg))``.

    Args:
        n_pos: positive samples.
        n_neg: negative samples.

    Returns:
        The margin (e.g. 0.036 for 500 + 500 samples, 0.011 for 5,000 + 5,000).
    """
    if n_pos < 1 or n_neg < 1:
        return math.inf
    return _CHANCE_Z * math.sqrt((n_pos + n_neg + 1) / (12.0 * n_pos * n_neg))


def bad_run_symptom(history: pd.DataFrame, lr: float, n_pos: int = 0, n_neg: int = 0) -> str | None:
    """What went wrong in a finished run, in words with the remedy, or None for a healthy run.

    Two symptoms:

    * **the training loss rose**: some epoch's mean training loss lies more than 10% (and more
      than 0.02) above the lowest mean of the epochs before it. Needs two epochs or more; a
      healthy run's epoch means fall, or wobble by a few per cent once converged.
    * **no better than chance**: the kept epoch's validation AUC (``history.attrs["best_epoch"]``,
      else the last epoch) is below ``0.5 + chance_margin(n_pos, n_neg)`` (needs ``valid_auc``).

    Args:
        history: ``fit``'s history (``epoch``, ``train_loss``, optionally ``valid_auc``).
        lr: the learning rate used, for the remedy.
        n_pos: positive validation samples.
        n_neg: negative validation samples.

    Returns:
        A message naming the symptom and the remedy, or None.
    """
    remedy = (f"Lower the learning rate (lr={lr:g}; fit's default is 3e-3), or pass on_bad_run='warn' "
              "to keep the run anyway.")
    losses = history["train_loss"].to_numpy(dtype=float) if len(history) else np.zeros(0)
    for e in range(1, len(losses)):
        low = int(np.argmin(losses[:e]))
        if losses[e] > losses[low] * (1 + _LOSS_RISE) and losses[e] - losses[low] > _LOSS_RISE_ABS:
            return (f"bad run: the training loss rose from {losses[low]:.4g} (epoch {low + 1}) to {losses[e]:.4g} "
                    f"(epoch {e + 1}), so the steps overshoot. {remedy}")
    if "valid_auc" in history and len(history):
        kept = int(history.attrs.get("best_epoch", len(history)))
        value = float(history["valid_auc"].iloc[kept - 1])
        margin = chance_margin(n_pos, n_neg)
        if value < 0.5 + margin:
            return (f"bad run: the kept model (epoch {kept}) has validation AUC {value:.4f} on {n_pos + n_neg} "
                    f"samples, no better than chance (better needs > {0.5 + margin:.4f}): it learned nothing. "
                    f"{remedy} If the learning rate is sane, train on more data or check the labels.")
    return None


def _summary(row: dict[str, float], epochs: int | None, n_batches: int) -> str:
    """One readable line per epoch, e.g. ``epoch 1/2: 137 batches in 0.7 s, train_loss 0.6856``."""
    of = f"/{epochs}" if epochs is not None else ""
    text = f"epoch {row['epoch']}{of}: {n_batches} batches in {row['seconds']:.1f} s, train_loss {row['train_loss']:.4f}"
    if "valid_auc" in row:
        text += f", valid_auc {row['valid_auc']:.4f}, valid_gauc {row['valid_gauc']:.4f}"
    return text


def check_compatible(model: nn.Module, data: SampleSet, name: str = "data") -> None:
    """Refuse a sample set built with another vocabulary than the model's.

    Args:
        model: a model built by ``create(name, vocab)`` (it remembers the vocabulary's fingerprint).
        data: the samples to train on or score.
        name: what to call ``data`` in the message.

    Raises:
        ValueError: the vocabularies differ (the ids would index the wrong embedding rows).
    """
    expected = getattr(model, "vocab_fingerprint", None)
    if expected is not None and expected != data.vocab.fingerprint:
        raise ValueError(
            f"{name} was built with another vocabulary than the model (fingerprint {data.vocab.fingerprint}, "
            f"model {expected}): its ids would index the wrong embedding rows. Score samples from the same "
            "build_samples call whose vocab built the model."
        )


def _check_two_classes(data: SampleSet, name: str) -> None:
    """Raise before any training when AUC is undefined on ``data`` (empty, or one class only)."""
    if len(data) == 0:
        raise ValueError(f"the {name} set is empty")
    labels = data.frame["label"].to_numpy()
    if labels.min() == labels.max():
        raise ValueError(
            f"the {name} set has only label {labels[0]:g} ({len(labels)} samples): AUC is undefined. "
            "Use more data or another split."
        )


@torch.no_grad()
def predict(model: nn.Module, data: SampleSet, batch_size: int = EVAL_BATCH_SIZE, device: str | torch.device = "cpu") -> np.ndarray:
    """Click probabilities for every sample, in the set's order, with the model in eval mode.

    Args:
        model: a model with ``forward(batch) -> logits``.
        data: the samples to score (built with the model's vocabulary).
        batch_size: samples per forward pass (default :data:`EVAL_BATCH_SIZE`).
        device: where to run the model.

    Returns:
        Probabilities.  # [N]

    Raises:
        ValueError: ``data`` comes from another vocabulary than the model.
    """
    check_compatible(model, data)
    was_training = model.training
    model.eval()
    try:
        out = [torch.sigmoid(model(batch.to(device))).cpu() for batch in data.batches(batch_size, deferred=True)]
    finally:
        model.train(was_training)
    return torch.cat(out).numpy() if out else np.zeros(0, dtype=np.float32)


def evaluate(
    model: nn.Module, data: SampleSet, batch_size: int = EVAL_BATCH_SIZE, device: str | torch.device = "cpu", name: str = "test"
) -> dict[str, float]:
    """AUC, GAUC, valid users and log loss of ``model`` on ``data``.

    Args:
        model: the model.
        data: the samples to score.
        batch_size: samples per forward pass.
        device: where to run the model.
        name: what to call ``data`` in error messages.

    Returns:
        ``{"auc", "gauc", "valid_users", "logloss"}``.

    Raises:
        ValueError: ``data`` is empty or has one class only.
    """
    return _evaluate(model, data, batch_size, device, name)[0]


def _evaluate(
    model: nn.Module, data: SampleSet, batch_size: int = EVAL_BATCH_SIZE, device: str | torch.device = "cpu", name: str = "test"
) -> tuple[dict[str, float], np.ndarray]:
    """:func:`evaluate`'s metrics and the probabilities they were computed from.  # [N]"""
    _check_two_classes(data, name)
    p = predict(model, data, batch_size, device)
    y = data.frame["label"].to_numpy()
    g, n_valid = gauc(data.frame["user_id"].to_numpy(), y, p)
    eps = 1e-7
    logloss = float(-np.mean(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps)))
    return {"auc": auc(y, p), "gauc": g, "valid_users": n_valid, "logloss": logloss}, p


def make_optimizer(
    model: nn.Module, name: Optimizer = "adam", lr: float = 3e-3, weight_decay: float = 0.0
) -> torch.optim.Optimizer:
    """The optimiser ``fit`` uses.

    ``"adam"``: Adam, whose ``weight_decay`` is an L2 term added to the gradient — and then
    divided by Adam's running gradient scale, so its strength is not ``weight_decay`` (book
    chapter 2); ``"adamw"``: decoupled weight decay; ``"sgd"``: plain SGD, where an L2 term acts
    at face value (the setting of DIN's Eq. 5).

    Args:
        model: the model whose parameters are trained.
        name: ``"adam"``, ``"adamw"`` or ``"sgd"``.
        lr: learning rate.
        weight_decay: L2 / decay strength on all parameters.

    Returns:
        The optimiser.
    """
    if name == "adam":
        return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr, weight_decay=weight_decay)
    raise ValueError(f"optimizer must be 'adam', 'adamw' or 'sgd', got {name!r}")


def _device(device: str | torch.device) -> torch.device:
    """``device`` as a torch device, or a ValueError naming it (e.g. ``"gpu"`` is not a torch name)."""
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device must be a torch device such as 'cpu' or 'cuda', got {device!r}") from exc


def fit(
    model: nn.Module,
    train: SampleSet,
    valid: SampleSet | None = None,
    epochs: int | None = None,
    max_epochs: int = 30,
    patience: int = 2,
    valid_frac: float = 0.1,
    batch_size: int = 512,
    lr: float = 3e-3,
    weight_decay: float = 0.0,
    optimizer: Optimizer = "adam",
    seed: int = 0,
    progress: bool = True,
    device: str | torch.device = "cpu",
    on_bad_run: OnBadRun = "raise",
) -> pd.DataFrame:
    """Train ``model`` on ``model.loss(batch)``; deterministic on CPU under ``seed``.

    Two budgets:

    * ``epochs=None`` (default): **until convergence**. After each epoch the validation AUC is
      computed; training stops after ``patience`` epochs without a better one (or at
      ``max_epochs``) and the best weights are restored. Without ``valid``, the chronologically
      last ``valid_frac`` of each user's training samples are held out as the validation set
      (:func:`~seqlib.data.samples.split_validation`) and the model trains on the rest; the test
      set is never looked at.
    * ``epochs=k``: exactly ``k`` passes, a fixed budget (``valid``, when given, is only
      reported).

    Each epoch visits the training samples once in a seeded random order, with freshly drawn
    auxiliary negatives for every batch.

    At the end, a model that has an ``after_fit(train)`` method gets it called (DIN uses it to
    pick the sign of its raw attention weights; the predictions do not change).

    A run that went bad is not returned as a result: a training loss that rises over the epochs
    (two epochs or more) or a kept model no better than chance on the validation set (see
    :func:`bad_run_symptom`) raises :class:`BadRun`, naming the symptom and the remedy; with
    ``on_bad_run="warn"`` it warns (:class:`BadRunWarning`) and returns the history with the
    message in ``attrs["bad_run"]`` (absent after a healthy run).

    Args:
        model: a model exposing ``loss(batch) -> scalar``.
        train: training samples.
        valid: validation samples (default: split off ``train`` when early stopping).
        epochs: None for early stopping, or a fixed number of passes.
        max_epochs: the most passes early stopping may take.
        patience: epochs without a better validation AUC before stopping.
        valid_frac: share of each user's training samples held out when ``valid`` is None.
        batch_size: samples per step.
        lr: learning rate.
        weight_decay: L2 / decay strength on all parameters (see :func:`make_optimizer`; DIN's
            mini-batch aware regulariser is a model option instead).
        optimizer: ``"adam"`` (default), ``"adamw"`` or ``"sgd"``.
        seed: seeds the sample order, the negatives and any randomness inside the model.
        progress: show a live text progress bar (plain tqdm on stdout, never a widget) and print
            one summary line per epoch, which is what the rendered book keeps.
        device: where to train.
        on_bad_run: ``"raise"`` (default) or ``"warn"``: what to do with a run that went bad.

    Returns:
        One row per epoch: ``epoch, train_loss, seconds`` and, with a validation set,
        ``valid_auc, valid_gauc, valid_users, valid_logloss``. ``attrs`` holds ``best_epoch`` (the epoch whose
        weights the model keeps), ``epochs_run``, ``stopped`` (``"patience"``,
        ``"max_epochs"`` or ``"budget"``) and, after a bad run with ``on_bad_run="warn"``,
        ``bad_run`` (the symptom).

    Raises:
        ValueError: a bad argument (named), an empty training set, a validation set with one
            class, or samples from another vocabulary than the model's.
        TrainingDiverged: the loss became non-finite or exploded, or the predictions collapsed to
            a constant (lower ``lr``).
        BadRun: the run went bad (a ``TrainingDiverged``; see above), unless ``on_bad_run="warn"``.
    """
    if not isinstance(model, nn.Module) or not hasattr(model, "loss"):
        raise TypeError(f"model must be a seqlib model (an nn.Module with a loss(batch) method), got {type(model).__name__}")
    for name, value in (("train", train), ("valid", valid)):
        if value is not None and not isinstance(value, SampleSet):
            raise TypeError(f"{name} must be a SampleSet (from build_samples or load_samples), got {type(value).__name__}")
    if epochs is not None:
        epochs = positive_int("epochs", epochs)
    max_epochs, patience = positive_int("max_epochs", max_epochs), positive_int("patience", patience)
    batch_size = positive_int("batch_size", batch_size)
    lr = check_float("lr", lr, minimum=0.0, strict_minimum=True)
    weight_decay = check_float("weight_decay", weight_decay, minimum=0.0)
    seed = check_seed("seed", seed)
    if on_bad_run not in ("raise", "warn"):
        raise ValueError(f"on_bad_run must be 'raise' or 'warn', got {on_bad_run!r}")
    device = _device(device)
    if len(train) == 0:
        raise ValueError("the training set is empty")
    check_compatible(model, train, "the training set")
    if epochs is None and valid is None:
        train, valid = split_validation(train, valid_frac)
    if valid is not None:
        check_compatible(model, valid, "the validation set")
        _check_two_classes(valid, "validation")
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    model.to(device)
    opt = make_optimizer(model, optimizer, lr, weight_decay)
    n_batches = (len(train) + batch_size - 1) // batch_size
    budget = epochs if epochs is not None else max_epochs
    rows: list[dict[str, float]] = []
    best_auc, best_state, best_epoch, stale = -np.inf, None, 0, 0
    kept_scores: np.ndarray | None = None  # validation probabilities of the model fit returns
    first_loss: float | None = None
    stopped = "budget" if epochs is not None else "max_epochs"
    for epoch in range(1, budget + 1):
        model.train()
        start, total, count = time.perf_counter(), 0.0, 0
        # A live bar that clears itself, then one summary line: the rendered book (which keeps
        # every bar refresh as a separate line) shows only the summary.
        bar = tqdm(
            total=n_batches, desc=f"epoch {epoch}", file=sys.stdout, disable=not progress,
            mininterval=2.0, delay=1.0, ncols=80, leave=False,
        )
        with bar:
            for batch in train.batches(batch_size, shuffle=True, generator=generator, deferred=True):
                batch = batch.to(device)
                loss = model.loss(batch)
                value = loss.item()
                first_loss = value if first_loss is None else first_loss
                if not math.isfinite(value) or value > _DIVERGED_FACTOR * max(first_loss, 1e-3):
                    raise TrainingDiverged(
                        f"training diverged in epoch {epoch}: batch loss {value:.4g} (first batch {first_loss:.4g}). "
                        f"Lower the learning rate (lr={lr})."
                    )
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                total += value * len(batch)
                count += len(batch)
                bar.update(1)
        row = {"epoch": epoch, "train_loss": total / count, "seconds": time.perf_counter() - start}
        if valid is not None:
            scores, probabilities = _evaluate(model, valid, device=device, name="validation")
            if epochs is not None:
                kept_scores = probabilities  # a fixed budget keeps the last epoch
            row.update(valid_auc=scores["auc"], valid_gauc=scores["gauc"], valid_users=scores["valid_users"],
                       valid_logloss=scores["logloss"])
        if progress:
            print(_summary(row, epochs, n_batches), flush=True)
        rows.append(row)
        if epochs is None:
            if row["valid_auc"] > best_auc:
                best_auc, best_epoch, stale = row["valid_auc"], epoch, 0
                best_state, kept_scores = copy.deepcopy(model.state_dict()), probabilities
            else:
                stale += 1
                if stale >= patience:
                    stopped = "patience"
                    break
    if best_state is not None:
        model.load_state_dict(best_state)
    else:
        best_epoch = len(rows)
    after_fit = getattr(model, "after_fit", None)  # e.g. DIN picks the sign of its raw weights
    if valid is not None:  # did training collapse? (the kept model's validation scores, read before after_fit)
        _check_not_collapsed(kept_scores if kept_scores is not None else predict(model, valid, device=device), lr)
    if after_fit is not None:
        after_fit(train)
    history = pd.DataFrame(rows)
    history.attrs.update(best_epoch=best_epoch, epochs_run=len(rows), stopped=stopped)
    if progress and epochs is None:
        print(f"stopped after {len(rows)} epochs ({stopped}); kept epoch {best_epoch}, valid_auc {best_auc:.4f}", flush=True)
    n_pos = int(valid.frame["label"].sum()) if valid is not None else 0
    symptom = bad_run_symptom(history, lr, n_pos, len(valid) - n_pos if valid is not None else 0)
    if symptom is not None:
        if on_bad_run == "raise":
            raise BadRun(symptom)
        warnings.warn(symptom, BadRunWarning, stacklevel=2)
        history.attrs["bad_run"] = symptom
    return history


def _check_not_collapsed(p: np.ndarray, lr: float) -> None:
    """Raise :class:`TrainingDiverged` when the model gave (nearly) every validation sample the
    same score ``p``.  # [N]"""
    if len(p) >= 100 and len(np.unique(np.round(p, 6))) <= 2:
        raise TrainingDiverged(
            f"the trained model's predictions collapsed to {len(np.unique(np.round(p, 6)))} distinct value(s) on "
            f"{len(p)} validation samples: training diverged. Lower the learning rate (lr={lr})."
        )
