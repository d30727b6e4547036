"""AUC and GAUC (DIN paper Eq. 10; book chapter 1, "How we score a model")."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score


def _as_checked_arrays(*arrays: np.ndarray) -> list[np.ndarray]:
    out = [np.asarray(a).reshape(-1) for a in arrays]
    if len({len(a) for a in out}) != 1:
        raise ValueError(f"inputs have mismatched lengths {[len(a) for a in out]}")
    if len(out[0]) == 0:
        raise ValueError("inputs are empty")
    return out


def _check_labels_scores(y: np.ndarray, p: np.ndarray) -> None:
    y_f, p_f = y.astype(np.float64), p.astype(np.float64)
    if np.isnan(y_f).any():
        raise ValueError("labels contain NaN")
    if not np.isin(y_f, (0.0, 1.0)).all():
        raise ValueError("labels must be 0 or 1")
    if not np.isfinite(p_f).all():
        raise ValueError("scores contain NaN or infinite values")


def auc(y: np.ndarray, p: np.ndarray) -> float:
    """Area under the ROC curve over all samples (scikit-learn's ``roc_auc_score``).

    Args:
        y: 0/1 labels.  # [N]
        p: scores, higher = more likely a click.  # [N]

    Raises:
        ValueError: mismatched lengths, NaN, or a single class.
    """
    y, p = _as_checked_arrays(y, p)
    _check_labels_scores(y, p)
    if len(np.unique(y)) < 2:
        raise ValueError("AUC is undefined when all labels are one class")
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
    """
    user, y, p = _as_checked_arrays(user, y, p)
    _check_labels_scores(y, p)
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
    """
    if auc_base == 0.5:
        raise ValueError("RelaImpr is undefined for a base AUC of exactly 0.5")
    return ((auc_model - 0.5) / (auc_base - 0.5) - 1.0) * 100.0
