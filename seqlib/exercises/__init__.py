"""Checkers for the book's exercises, collected from this package's modules.

Each module (``din.py``, ``dien.py``, ...) defines ``CHECKERS: dict[str, Callable]`` mapping
the name a student implements (a function or class name) to a checker
``checker(candidate, verbose=True) -> bool`` that runs the same checks as the unit tests and
prints either a pass or the first failing check as a hint (see :func:`run_checks`).
A new module is picked up automatically; nothing here needs editing.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

from seqlib.exercises._check import run_checks


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

__all__ = ["CHECKERS", "run_checks"]
