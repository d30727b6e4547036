"""Checkers for the book's exercises, collected from this package's modules.

Each module (``din.py``, ``dien.py``, ...) defines ``CHECKERS: dict[str, Callable]`` mapping
the name a student implements (a function or class name) to a checker
``checker(candidate, verbose=True) -> bool`` that runs the same checks as the unit tests and
prints either a pass or the first failing check as a hint (see :func:`run_checks`).
A module may also define ``PREDICTIONS: dict[str, Prediction]``, the multiple-choice
"predict, then run" questions that :func:`check_prediction` judges.
A new module is picked up automatically; nothing here needs editing.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

from seqlib.exercises._check import run_checks
from seqlib.exercises._predict import Prediction, judge


def _collect(attribute: str, kind: str) -> dict[str, Any]:
    """Merge one dict attribute (``CHECKERS`` or ``PREDICTIONS``) of every chapter module.

    Args:
        attribute: the module-level dict to merge.
        kind: what its keys name, for the error message (``"exercise"``, ``"prediction"``).

    Returns:
        Key -> value, over all chapter modules (those not starting with ``_``).

    Raises:
        ValueError: two modules use the same key.
    """
    merged: dict[str, Any] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for key, value in getattr(module, attribute, {}).items():
            if key in merged:
                raise ValueError(f"{kind} {key!r} is registered twice (again in {module.__name__})")
            merged[key] = value
    return merged


CHECKERS: dict[str, Callable[..., bool]] = _collect("CHECKERS", "exercise")
PREDICTIONS: dict[str, Prediction] = _collect("PREDICTIONS", "prediction")


def check_prediction(key: str, answer: object, verbose: bool = True) -> bool:
    """Check a "predict, then run" answer: ``check_prediction("softmax-intensity", "b")``.

    Args:
        key: the question's key (named in the chapter's cell).
        answer: the letter the student chose, or None while unanswered.
        verbose: print the verdict and the explanation.

    Returns:
        True when the answer is the one the chapter's runs support.

    Raises:
        ValueError: unknown key (the message lists the known ones).
    """
    if key not in PREDICTIONS:
        raise ValueError(f"unknown question {key!r}; known questions: {', '.join(sorted(PREDICTIONS))}")
    return judge(PREDICTIONS[key], answer, verbose)


__all__ = ["CHECKERS", "PREDICTIONS", "check_prediction", "run_checks"]
