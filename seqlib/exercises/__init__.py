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

from seqlib.exercises._check import run_checks
from seqlib.exercises._predict import Prediction, judge


def _collect_checkers() -> dict[str, Callable[..., bool]]:
    """Import every public submodule and merge their ``CHECKERS`` dicts.

    Returns:
        Exercise name -> checker.

    Raises:
        ValueError: two modules register the same name.
    """
    checkers: dict[str, Callable[..., bool]] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for name, checker in getattr(module, "CHECKERS", {}).items():
            if name in checkers:
                raise ValueError(f"exercise {name!r} is registered twice (again in {module.__name__})")
            checkers[name] = checker
    return checkers


CHECKERS: dict[str, Callable[..., bool]] = _collect_checkers()


def _collect_predictions() -> dict[str, Prediction]:
    """Merge the chapter modules' ``PREDICTIONS`` dicts (keys are unique across the book).

    Returns:
        Question key -> :class:`Prediction`.

    Raises:
        ValueError: two modules use the same key.
    """
    predictions: dict[str, Prediction] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for key, prediction in getattr(module, "PREDICTIONS", {}).items():
            if key in predictions:
                raise ValueError(f"prediction {key!r} is registered twice (again in {module.__name__})")
            predictions[key] = prediction
    return predictions


PREDICTIONS: dict[str, Prediction] = _collect_predictions()


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
