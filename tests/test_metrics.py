"""AUC, GAUC (DIN Eq. 10) and RelaImpr against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from seqlib.metrics import auc, gauc, rela_impr


def test_auc_hand_computed() -> None:
    # positives 0.8, 0.4 ; negatives 0.5, 0.1 -> pairs won: (0.8>0.5, 0.8>0.1, 0.4>0.1) = 3 of 4
    assert auc(np.array([1, 1, 0, 0]), np.array([0.8, 0.4, 0.5, 0.1])) == pytest.approx(0.75)


def test_gauc_is_impression_weighted_and_skips_one_class_users() -> None:
    user = np.array([1, 1, 1, 1, 2, 2, 3, 3, 3])
    y = np.array([1, 1, 0, 0, 1, 0, 1, 1, 1])
    p = np.array([0.8, 0.4, 0.5, 0.1, 0.2, 0.9, 0.3, 0.2, 0.1])
    # user 1: AUC 0.75 on 4 impressions; user 2: AUC 0 on 2; user 3: one class -> skipped
    value, n_valid = gauc(user, y, p)
    assert n_valid == 2
    assert value == pytest.approx((4 * 0.75 + 2 * 0.0) / 6)


def test_gauc_counts_ties_as_half() -> None:
    value, n_valid = gauc(np.array([1, 1]), np.array([1, 0]), np.array([0.5, 0.5]))
    assert (value, n_valid) == (pytest.approx(0.5), 1)


def test_gauc_without_valid_users() -> None:
    value, n_valid = gauc(np.array([1, 2]), np.array([1, 0]), np.array([0.3, 0.4]))
    assert np.isnan(value) and n_valid == 0


def test_gauc_matches_sklearn_per_user() -> None:
    rng = np.random.default_rng(0)
    user = rng.integers(0, 20, 500)
    y = rng.integers(0, 2, 500)
    p = rng.random(500).round(2)  # with ties
    expected_num, expected_den = 0.0, 0
    for u in np.unique(user):
        m = user == u
        if len(np.unique(y[m])) == 2:
            expected_num += m.sum() * auc(y[m], p[m])
            expected_den += m.sum()
    assert gauc(user, y, p)[0] == pytest.approx(expected_num / expected_den)


@pytest.mark.parametrize(
    "args, message",
    [((np.array([1, 0]), np.array([0.1])), "mismatched lengths"),
     ((np.array([1, np.nan]), np.array([0.1, 0.2])), "NaN"),
     ((np.array([1, 1]), np.array([0.1, 0.2])), "one class"),
     ((np.array([1, 0]), np.array([0.1, np.nan])), "NaN")],
)
def test_auc_bad_input(args: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        auc(*args)


def test_gauc_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="mismatched lengths"):
        gauc(np.array([1, 2, 3]), np.array([1, 0]), np.array([0.2, 0.1]))


def test_rela_impr() -> None:
    assert rela_impr(0.7, 0.6) == pytest.approx(100.0)
    with pytest.raises(ValueError):
        rela_impr(0.7, 0.5)
