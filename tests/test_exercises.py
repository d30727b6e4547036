"""Exercises: each stub fails its checker, each (collapsed) solution passes it.

Exercise cells are tagged ``exercise-stub`` (also ``raises-exception``) and
``exercise-solution`` (also ``hide-input``); a pair defines the same top-level names, one of
which is registered in ``seqlib.exercises.CHECKERS``. Cells are self-contained, so each runs in
a fresh namespace here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

from seqlib.exercises import CHECKERS, run_checks

BOOK = Path(__file__).resolve().parents[1] / "book"


def defined_names(source: str) -> set[str]:
    """Top-level function and class names a cell defines.

    Args:
        source: the cell's Python source.

    Returns:
        The names.
    """
    tree = ast.parse(source)
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return {node.name for node in tree.body if isinstance(node, kinds)}


def exercise_pairs() -> list[tuple[str, str, nbformat.NotebookNode, nbformat.NotebookNode]]:
    """Every (notebook, exercise name, stub cell, solution cell) in the book.

    Returns:
        One entry per stub; solutions are matched to stubs by the names they define.
    """
    pairs = []
    for path in sorted(BOOK.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        stubs = [c for c in nb.cells if "exercise-stub" in c.metadata.get("tags", [])]
        solutions = [c for c in nb.cells if "exercise-solution" in c.metadata.get("tags", [])]
        assert len(stubs) == len(solutions), f"{path.name}: {len(stubs)} stubs but {len(solutions)} solutions"
        by_names = {frozenset(defined_names(c.source)): c for c in solutions}
        for stub in stubs:
            names = frozenset(defined_names(stub.source))
            assert names in by_names, f"{path.name}: no solution defines the same names as the stub {sorted(names)}"
            checked = sorted(names & CHECKERS.keys())
            assert len(checked) == 1, f"{path.name}: stub {sorted(names)} should define one checked name, got {checked}"
            pairs.append((path.name, checked[0], stub, by_names[names]))
    return pairs


PAIRS = exercise_pairs()


def _run_cell(source: str, expect_not_implemented: bool) -> dict[str, object]:
    namespace: dict[str, object] = {"__name__": "__exercise__"}
    try:
        exec(compile(source, "<exercise cell>", "exec"), namespace)  # noqa: S102 - the book's own cells
    except NotImplementedError:
        if not expect_not_implemented:
            raise
    return namespace


@pytest.mark.parametrize(("notebook", "name", "stub", "solution"), PAIRS, ids=[f"{p[0]}::{p[1]}" for p in PAIRS])
def test_stub_fails_and_solution_passes(notebook: str, name: str, stub: object, solution: object) -> None:
    assert "raises-exception" in stub.metadata.get("tags", []), f"{notebook}: stub {name} needs raises-exception"
    assert "hide-input" in solution.metadata.get("tags", []), f"{notebook}: solution {name} needs hide-input"
    checker = CHECKERS[name]
    stub_ns = _run_cell(stub.source, expect_not_implemented=True)
    assert checker(stub_ns[name], verbose=False) is False, f"{notebook}: the stub of {name} passes its checker"
    solution_ns = _run_cell(solution.source, expect_not_implemented=False)
    assert checker(solution_ns[name], verbose=False) is True, f"{notebook}: the solution of {name} fails its checker"


def test_every_checker_has_an_exercise() -> None:
    used = {name for _, name, _, _ in PAIRS}
    assert set(CHECKERS) <= used, f"checkers with no exercise in the book: {sorted(set(CHECKERS) - used)}"


@pytest.mark.parametrize("name", sorted(CHECKERS))
def test_checker_rejects_unimplemented_candidate(name: str) -> None:
    def not_implemented(*args: object, **kwargs: object) -> object:
        raise NotImplementedError

    assert CHECKERS[name](not_implemented, verbose=False) is False


def test_run_checks_reports_first_failure(capsys: pytest.CaptureFixture[str]) -> None:
    calls = []

    def fails() -> None:
        calls.append("fails")
        raise AssertionError("weights should sum to 1")

    assert run_checks([("ok", lambda: None), ("sums", fails), ("never", lambda: calls.append("never"))]) is False
    assert calls == ["fails"]
    assert "✗ check 'sums' failed: weights should sum to 1" in capsys.readouterr().out
    assert run_checks([("ok", lambda: None)], verbose=True) is True
    assert "✓ all 1 checks passed" in capsys.readouterr().out
    assert run_checks([("boom", lambda: 1 / 0)], verbose=False) is False
    assert capsys.readouterr().out == ""
