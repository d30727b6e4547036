"""Argument checks shared by the library: a bad value gets an error naming the argument, the
value and what to pass instead.

Integers are Python ``int`` or numpy integers (``np.int64(5)`` is accepted); ``bool`` is not an
integer here, nor is a float, even an integral one (``8.0``): a float where a count belongs is
usually a computation gone wrong, so it is refused with the integer to pass instead. Reals are
``int``, ``float`` or numpy numbers (not ``bool``) and must be finite. Every check raises
``ValueError`` (also for a value of the wrong type), so callers need only one ``except``.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Sequence

import numpy as np


def _describe(value: Any) -> str:
    """``repr`` of a value with its type, e.g. ``8.0 (float)`` or ``4.0 (float64)``."""
    shown = value.item() if isinstance(value, np.generic) else value
    return f"{shown!r} ({type(value).__name__})"


def check_int(name: str, value: Any, minimum: int | None = 1, maximum: int | None = None) -> int:
    """``value`` as a Python int, after checking it is an integer in ``[minimum, maximum]``.

    Args:
        name: the argument's name, for the message.
        value: what the caller passed.
        minimum: smallest allowed value (``None``: no lower bound).
        maximum: largest allowed value (``None``: no upper bound).

    Returns:
        ``int(value)``.

    Raises:
        ValueError: not an integer (a bool, a float, a string, None, ...) or out of range.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        hint = f"; pass {int(value)}" if isinstance(value, float) and value.is_integer() else ""
        raise ValueError(f"{name} must be an integer, got {_describe(value)}{hint}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return value


def positive_int(name: str, value: Any) -> int:
    """``check_int(name, value, minimum=1)``: a count or a size such as ``dim`` or ``batch_size``."""
    return check_int(name, value, minimum=1)


def check_float(
    name: str,
    value: Any,
    minimum: float | None = None,
    maximum: float | None = None,
    strict_minimum: bool = False,
) -> float:
    """``value`` as a Python float, after checking it is a finite real number in range.

    Args:
        name: the argument's name, for the message.
        value: what the caller passed.
        minimum: lower bound (``None``: none).
        maximum: upper bound, inclusive (``None``: none).
        strict_minimum: require ``value > minimum`` instead of ``>=``.

    Returns:
        ``float(value)``.

    Raises:
        ValueError: not a real number (a bool, a string, None, ...), NaN or infinite, or out of
            range.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.number)):
        raise ValueError(f"{name} must be a real number, got {_describe(value)}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value}")
    if minimum is not None and (value <= minimum if strict_minimum else value < minimum):
        raise ValueError(f"{name} must be {'>' if strict_minimum else '>='} {minimum:g}, got {value:g}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be <= {maximum:g}, got {value:g}")
    return value


def non_negative_float(name: str, value: Any) -> float:
    """``check_float(name, value, minimum=0)``: a weight or strength such as ``reg_lambda``."""
    return check_float(name, value, minimum=0.0)


def positive_sizes(name: str, values: Any) -> tuple[int, ...]:
    """Layer sizes such as ``tower=(200, 80)``: a sequence of positive integers (may be empty).

    Args:
        name: the argument's name, for the message.
        values: what the caller passed.

    Returns:
        The sizes as a tuple of ints.

    Raises:
        ValueError: not a sequence (a single int or a string is refused too), or an entry that
            is not a positive integer (the message names its position).
    """
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        raise ValueError(f"{name} must be a sequence of layer sizes such as (200, 80), got {_describe(values)}")
    return tuple(check_int(f"{name}[{i}]", v) for i, v in enumerate(values))



#: The largest seed torch accepts (``torch.manual_seed`` takes an unsigned 64-bit integer).
MAX_SEED = 2**64 - 1


def check_seed(name: str, value: Any) -> int:
    """A random seed: an integer from 0 to ``MAX_SEED`` (``2**64 - 1``, torch's limit).

    Args:
        name: the argument's name, for the message.
        value: what the caller passed.

    Returns:
        ``int(value)``.

    Raises:
        ValueError: not an integer, negative, or too large for torch (the message gives the
            limit and a way to fold a large number into it).
    """
    value = check_int(name, value, minimum=0)
    if value > MAX_SEED:
        raise ValueError(
            f"{name} must be <= 2**64 - 1 (torch's largest seed), got {value}; "
            f"pass a smaller seed, e.g. {name} % 2**64 = {value % 2**64}"
        )
    return value
