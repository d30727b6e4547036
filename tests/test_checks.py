"""seqlib.checks: the shared argument checks name the argument, the value and what to pass."""

from __future__ import annotations

import numpy as np
import pytest

from seqlib.checks import check_float, check_int, non_negative_float, positive_int, positive_sizes


def test_check_int_accepts_python_and_numpy_integers() -> None:
    assert check_int("n", 3) == 3
    assert check_int("n", np.int64(3)) == 3 and type(check_int("n", np.int64(3))) is int
    assert check_int("n", np.uint8(0), minimum=0) == 0
    assert check_int("n", -5, minimum=None) == -5
    assert positive_int("n", 1) == 1


@pytest.mark.parametrize(
    "value, words",
    [
        (0, ["n must be >= 1, got 0"]),
        (-2, ["n must be >= 1, got -2"]),
        (2.5, ["n must be an integer, got 2.5 (float)"]),
        (8.0, ["got 8.0 (float); pass 8"]),
        (np.float64(4.0), ["got 4.0 (float64); pass 4"]),
        ("8", ["got '8' (str)"]),
        (True, ["got True (bool)"]),
        (np.bool_(True), ["got True (bool)"]),
        (None, ["got None (NoneType)"]),
        (11, ["n must be <= 10, got 11"]),
    ],
)
def test_check_int_refuses(value, words: list[str]) -> None:
    with pytest.raises(ValueError) as info:
        check_int("n", value, minimum=1, maximum=10)
    assert all(word in str(info.value) for word in words), str(info.value)


def test_check_float_accepts_reals() -> None:
    assert check_float("x", 1) == 1.0 and type(check_float("x", 1)) is float
    assert check_float("x", np.float32(0.5)) == 0.5
    assert check_float("x", 0.0, minimum=0.0) == 0.0
    assert non_negative_float("x", 0) == 0.0


@pytest.mark.parametrize(
    "kwargs, value, words",
    [
        ({}, float("nan"), ["x must be a finite number, got nan"]),
        ({}, float("inf"), ["x must be a finite number, got inf"]),
        ({}, "0.1", ["x must be a real number, got '0.1' (str)"]),
        ({}, True, ["got True (bool)"]),
        ({}, None, ["got None"]),
        ({}, 1j, ["got 1j (complex)"]),
        ({"minimum": 0.0}, -1e-9, ["x must be >= 0, got -1e-09"]),
        ({"minimum": 0.0, "strict_minimum": True}, 0.0, ["x must be > 0, got 0"]),
        ({"maximum": 1.0}, 1.5, ["x must be <= 1, got 1.5"]),
    ],
)
def test_check_float_refuses(kwargs: dict, value, words: list[str]) -> None:
    with pytest.raises(ValueError) as info:
        check_float("x", value, **kwargs)
    assert all(word in str(info.value) for word in words), str(info.value)


def test_positive_sizes() -> None:
    assert positive_sizes("tower", (200, np.int64(80))) == (200, 80)
    assert positive_sizes("tower", []) == ()
    for bad, words in [(200, "tower must be a sequence"), ("200", "got '200' (str)"), ((200, 0), "tower[1] must be >= 1, got 0"),
                       ((8.5,), "tower[0] must be an integer, got 8.5")]:
        with pytest.raises(ValueError) as info:
            positive_sizes("tower", bad)
        assert words in str(info.value), str(info.value)
