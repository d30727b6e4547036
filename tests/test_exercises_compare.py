"""Chapter 5's checkers: seqlib's own RelaImpr and GAUC pass them, and typical mistakes fail them."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
import torch

from seqlib.exercises import compare as ex
from seqlib.metrics import gauc, rela_impr


@pytest.mark.parametrize(("name", "case"), ex.relaimpr_cases(), ids=lambda c: c if isinstance(c, str) else "")
def test_seqlib_rela_impr_passes(name: str, case: Callable[[Callable[..., object]], None]) -> None:
    case(rela_impr)


@pytest.mark.parametrize(("name", "case"), ex.gauc_cases(), ids=lambda c: c if isinstance(c, str) else "")
def test_seqlib_gauc_passes(name: str, case: Callable[[Callable[..., object]], None]) -> None:
    case(gauc)


def test_relaimpr_as_a_fraction_fails(capsys: pytest.CaptureFixture[str]) -> None:
    def fraction(auc_model: float, auc_base: float) -> float:
        return (auc_model - 0.5) / (auc_base - 0.5) - 1.0

    assert ex.check_relative_improvement(fraction) is False
    assert "expected 25.0, got 0.25" in capsys.readouterr().out


def test_unweighted_gauc_fails(capsys: pytest.CaptureFixture[str]) -> None:
    def unweighted(user: np.ndarray, y: np.ndarray, p: np.ndarray) -> tuple[float, int]:
        value, n_valid = gauc(user, y, p)
        if n_valid == 2 and len(user) == 7:  # the hand case: plain mean of AUC 1 and AUC 0
            return 0.5, n_valid
        return value, n_valid

    assert ex.check_group_auc(unweighted) is False
    assert "weighted by impressions: expected 0.6, got 0.5" in capsys.readouterr().out


def test_earliest_users_fail_the_seed_check(capsys: pytest.CaptureFixture[str]) -> None:
    def earliest(user_ids: np.ndarray, n_users: int, seed: int = 0) -> np.ndarray:
        users = list(dict.fromkeys(user_ids.tolist()))
        if not 1 <= n_users <= len(users):
            raise ValueError("n_users out of range")
        return np.flatnonzero(np.isin(user_ids, users[:n_users]))

    assert ex.check_sample_users(earliest) is False
    assert "should depend on the seed" in capsys.readouterr().out


def test_rows_of_part_of_a_user_fail() -> None:
    def one_row_per_user(user_ids: np.ndarray, n_users: int, seed: int = 0) -> np.ndarray:
        _, first = np.unique(user_ids, return_index=True)
        return np.sort(np.random.default_rng(seed).choice(first, size=n_users, replace=False))

    assert ex.check_sample_users(one_row_per_user, verbose=False) is False


def test_norms_counting_repeats_fail(capsys: pytest.CaptureFixture[str]) -> None:
    def repeats(weight: torch.Tensor, candidates: torch.Tensor, seen: torch.Tensor) -> tuple[float, float]:
        items = candidates[candidates != 0]
        norms = weight[items].norm(dim=1)
        is_seen = torch.isin(items, seen)
        return norms[is_seen].mean().item(), norms[~is_seen].mean().item()

    assert ex.check_seen_unseen_norms(repeats) is False
    assert "average over distinct items" in capsys.readouterr().out
