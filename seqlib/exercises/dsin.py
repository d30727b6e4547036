"""Checkers for chapter 4 (DSIN): the 30-minute rule, the bias encoding, the masked session pooling.

The same checks run in ``tests/test_dsin.py`` against seqlib's own implementation.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from seqlib.exercises._check import assert_tensor_close, check_cases

Case = tuple[str, Callable[[Callable[..., object]], None]]




def _same_ids(actual: object, expected: list[int], what: str) -> None:
    got = np.asarray(actual)
    assert got.shape == (len(expected),), f"{what}: expected {len(expected)} session ids, got shape {got.shape}"
    assert got.tolist() == expected, f"{what}: expected {expected}, got {got.tolist()}"


# ---------------------------------------------------------------- the 30-minute rule
def split_cases() -> list[Case]:
    """Checks for ``split_sessions(timestamps, gap=1800) -> session index per event``."""

    def boundary(fn: Callable[..., object]) -> None:
        ts = np.array([0, 1800, 3601, 3602, 10000])
        _same_ids(fn(ts, gap=1800), [0, 0, 1, 1, 2],
                  "a gap of exactly 1800 s stays in the session, 1801 s starts a new one")

    def other_gap(fn: Callable[..., object]) -> None:
        ts = np.array([0, 60, 61, 200, 200])
        _same_ids(fn(ts, gap=60), [0, 0, 0, 1, 1], "gap=60: only the 139 s gap breaks (equal times stay together)")

    def single_and_empty(fn: Callable[..., object]) -> None:
        _same_ids(fn(np.array([5.0]), gap=1800), [0], "one event is one session, numbered 0")
        _same_ids(fn(np.array([], dtype=float), gap=1800), [], "no events give no sessions")

    return [("exact boundary", boundary), ("another threshold", other_gap), ("one and zero events", single_and_empty)]


def check_split_sessions(fn: Callable[..., object], verbose: bool = True) -> bool:
    """Check a student's ``split_sessions(timestamps, gap=1800)``.

    Args:
        fn: the candidate implementation.
        verbose: print the result.

    Returns:
        True when all checks pass.
    """
    return check_cases(split_cases(), fn, verbose)


# ---------------------------------------------------------------- bias encoding
def bias_cases() -> list[Case]:
    """Checks for ``bias_encoding(w_k, w_t, w_c) -> [K, T, d]`` (``wK[k] + wT[t] + wC[c]``)."""
    w_k, w_t, w_c = torch.tensor([1.0, 2.0]), torch.tensor([10.0, 20.0, 30.0]), torch.tensor([100.0, 200.0])

    def shape(fn: Callable[..., object]) -> None:
        out = fn(w_k, w_t, w_c)
        assert isinstance(out, torch.Tensor) and out.shape == (2, 3, 2), (
            f"K=2 sessions, T=3 positions, d=2 units: expected shape (2, 3, 2), got {getattr(out, 'shape', out)}"
        )

    def hand_value(fn: Callable[..., object]) -> None:
        expected = torch.tensor([[[111.0, 211.0], [121.0, 221.0], [131.0, 231.0]],
                                 [[112.0, 212.0], [122.0, 222.0], [132.0, 232.0]]])
        assert_tensor_close(fn(w_k, w_t, w_c), expected, "BE[k, t, c] = wK[k] + wT[t] + wC[c]")

    def gradient(fn: Callable[..., object]) -> None:
        params = [w.clone().requires_grad_() for w in (w_k, w_t, w_c)]
        fn(*params).sum().backward()
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
        assert_tensor_close(torch.cat(grads), torch.tensor([6.0, 6.0, 4.0, 4.0, 4.0, 6.0, 6.0]),
                            "gradients of sum(BE): each wK[k] is used T*d=6 times, wT[t] K*d=4 times, wC[c] K*T=6 times")

    return [("shape", shape), ("hand-computed values", hand_value), ("gradients reach all three", gradient)]


def check_bias_encoding(fn: Callable[..., object], verbose: bool = True) -> bool:
    """Check a student's ``bias_encoding(w_k, w_t, w_c)``.

    Args:
        fn: the candidate implementation.
        verbose: print the result.

    Returns:
        True when all checks pass.
    """
    return check_cases(bias_cases(), fn, verbose)


# ---------------------------------------------------------------- masked session pooling
def pooling_example() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One sample, K = 3 sessions of T = 3 positions, width 2: lengths 2, 1 and 0.

    Returns:
        ``(x, mask, expected)``.  # [1, 3, 3, 2], [1, 3, 3], [1, 3, 2]
    """
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0], [50.0, 50.0]],
                       [[-1.0, 5.0], [60.0, 60.0], [70.0, 70.0]],
                       [[80.0, 80.0], [90.0, 90.0], [99.0, 99.0]]]])
    mask = torch.tensor([[[1.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]])
    expected = torch.tensor([[[2.0, 3.0], [-1.0, 5.0], [0.0, 0.0]]])
    return x, mask, expected


def pooling_cases() -> list[Case]:
    """Checks for ``session_pool(x, mask) -> [B, K, d]`` (mean over each session's valid positions)."""
    x, mask, expected = pooling_example()

    def hand_value(fn: Callable[..., object]) -> None:
        assert_tensor_close(fn(x, mask), expected, "mean over valid positions only (session 1: mean of 2 rows; session 2: 1 row)")

    def ignores_padding(fn: Callable[..., object]) -> None:
        noisy = x.clone()
        noisy[mask == 0] = -7.0
        assert_tensor_close(fn(noisy, mask), expected, "values at padded positions must not change the session vector")

    def empty_session(fn: Callable[..., object]) -> None:
        out = fn(x, torch.zeros_like(mask))
        assert_tensor_close(out, torch.zeros(1, 3, 2), "empty sessions must give zero vectors (not NaN from 0/0)")

    return [("hand-computed value", hand_value), ("padding is ignored", ignores_padding),
            ("empty sessions", empty_session)]


def check_session_pool(fn: Callable[..., object], verbose: bool = True) -> bool:
    """Check a student's ``session_pool(x, mask)``.

    Args:
        fn: the candidate implementation.
        verbose: print the result.

    Returns:
        True when all checks pass.
    """
    return check_cases(pooling_cases(), fn, verbose)


CHECKERS = {
    "split_sessions": check_split_sessions,
    "bias_encoding": check_bias_encoding,
    "session_pool": check_session_pool,
}
