"""AUC and GAUC (DIN paper Eq. 10; book chapter 1, "How we score a model")."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import roc_auc_score

from seqlib.checks import check_float


def _as_checked_arrays(**arrays: Any) -> list[np.ndarray]:
    """The named inputs as one-dimensional numpy arrays of one length; ``ValueError`` otherwise.

    Lists, numpy arrays and torch tensors (detached, moved to the CPU) are accepted. Inputs of
    other shapes are refused rather than flattened: flattening ``[3, 4]`` labels against ``[4, 3]``
    scores would pair unrelated elements.
    """
    out = []
    for name, a in arrays.items():
        if isinstance(a, torch.Tensor):
            a = a.detach().cpu().numpy()
        a = np.asarray(a)
        if a.ndim != 1:
            raise ValueError(
                f"{name} must be one-dimensional (one value per sample), got shape {a.shape}; "
                f"flatten it yourself (e.g. {name}.reshape(-1)) only if its elements line up with the other inputs"
            )
        out.append(a)
    lengths = {name: len(a) for name, a in zip(arrays, out)}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"inputs have mismatched lengths {lengths}; pass one value per sample in each")
    if len(out[0]) == 0:
        raise ValueError("inputs are empty")
    return out


def _check_labels_scores(y: np.ndarray, p: np.ndarray) -> None:
    for name, a, what in (("y", y, "0/1 labels"), ("p", p, "scores")):
        if a.dtype.kind not in "biuf":
            raise ValueError(
                f"{name} must hold {what} as numbers (or booleans), got dtype {a.dtype} "
                f"(first value {a[:1].tolist()[0]!r}); convert it first, e.g. np.asarray({name}, dtype=float)"
            )
    y_f, p_f = y.astype(np.float64), p.astype(np.float64)
    if np.isnan(y_f).any():
        raise ValueError(f"labels y contain {int(np.isnan(y_f).sum())} NaN value(s)")
    if not np.isin(y_f, (0.0, 1.0)).all():
        raise ValueError(f"labels y must be 0 or 1, found {y_f[~np.isin(y_f, (0.0, 1.0))][0]:g}")
    if not np.isfinite(p_f).all():
        raise ValueError(f"scores p contain {int((~np.isfinite(p_f)).sum())} NaN or infinite value(s)")


def auc(y: np.ndarray, p: np.ndarray) -> float:
    """Area under the ROC curve over all samples (scikit-learn's ``roc_auc_score``).

    Args:
        y: 0/1 labels.  # [N]
        p: scores, higher = more likely a click.  # [N]

    Raises:
        ValueError: inputs that are not one-dimensional or of mismatched lengths, labels that
            are not 0/1 numbers, NaN or infinite scores, or a single class.
    """
    y, p = _as_checked_arrays(y=y, p=p)
    _check_labels_scores(y, p)
    if len(np.unique(y)) < 2:
        raise ValueError(f"AUC is undefined when all labels are one class (y holds only {y[:1].tolist()[0]!r})")
    return float(roc_auc_score(y, p))


def gauc(user: np.ndarray, y: np.ndarray, p: np.ndarray) -> tuple[float, int]:
    """Impression-weighted group AUC: ``sum_u n_u * AUC_u / sum_u n_u`` (DIN Eq. 10).

    ``n_u`` is the number of test impressions of user ``u``. Users whose labels are all one class
    have no AUC; they are skipped and not counted as valid.

    Args:
        user: user id of each sample.  # [N]
        y: 0/1 labels.  # [N]
        p: scores.  # [N]

    Returns:
        ``(gauc, n_valid_users)``; ``(nan, 0)`` when no user has both classes.

    Raises:
        ValueError: as :func:`auc`, and user ids with missing values (NaN/None), which would
            otherwise drop out of the grouping silently.
    """
    user, y, p = _as_checked_arrays(user=user, y=y, p=p)
    _check_labels_scores(y, p)
    n_missing = int(pd.isna(user).sum())
    if n_missing:
        raise ValueError(
            f"user has {n_missing} missing id(s) (NaN/None), e.g. at position {int(np.flatnonzero(pd.isna(user))[0])}; "
            "every sample needs its user id, or drop those samples from all three inputs"
        )
    frame = pd.DataFrame({"u": user, "y": y.astype(np.float64), "p": p.astype(np.float64)})
    # Per-user AUC by the rank-sum (Mann-Whitney) formula, ties averaged: vectorised over users.
    frame["rank"] = frame.groupby("u")["p"].rank(method="average")
    per_user = frame.groupby("u").agg(n=("y", "size"), pos=("y", "sum"))
    per_user["rank_pos"] = frame[frame["y"] == 1].groupby("u")["rank"].sum()
    per_user["neg"] = per_user["n"] - per_user["pos"]
    valid = per_user[(per_user["pos"] > 0) & (per_user["neg"] > 0)]
    if len(valid) == 0:
        return float("nan"), 0
    user_auc = (valid["rank_pos"] - valid["pos"] * (valid["pos"] + 1) / 2) / (valid["pos"] * valid["neg"])
    value = float((valid["n"] * user_auc).sum() / valid["n"].sum())
    return value, int(len(valid))


def rela_impr(auc_model: float, auc_base: float) -> float:
    """Relative improvement over a base model in percent (DIN section 6.4).

    ``RelaImpr = ((AUC_model - 0.5) / (AUC_base - 0.5) - 1) * 100``.

    Raises:
        ValueError: an AUC that is not a number in [0, 1], or ``auc_base`` of exactly 0.5.
    """
    auc_model = check_float("auc_model", auc_model, minimum=0.0, maximum=1.0)
    auc_base = check_float("auc_base", auc_base, minimum=0.0, maximum=1.0)
    if auc_base == 0.5:
        raise ValueError("RelaImpr is undefined for a base AUC of exactly 0.5")
    return ((auc_model - 0.5) / (auc_base - 0.5) - 1.0) * 100.0
