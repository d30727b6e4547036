"""Exercises: each stub fails its checker, each (hidden) solution passes it.

An exercise is a stub cell tagged ``exercise-stub`` (also ``raises-exception``) that defines the
name a student implements (registered in ``seqlib.exercises.CHECKERS``) and runs its checker,
followed directly by a solution cell tagged ``exercise-solution`` that defines ``<name>_solution``
instead, so running it never overwrites the student's work, and checks that. How the solution
is hidden (Colab form, JupyterLab, the book) is checked in ``test_notebooks_clean.py``. Cells
are self-contained, so each runs in a fresh namespace here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

from seqlib.exercises import CHECKERS, run_checks

BOOK = Path(__file__).resolve().parents[1] / "book"
SOLUTION_SUFFIX = "_solution"


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
        One entry per stub, paired with the cell right after it.
    """
    pairs = []
    for path in sorted(BOOK.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        n_solutions = sum("exercise-solution" in c.metadata.get("tags", []) for c in nb.cells)
        n_stubs = 0
        for index, stub in enumerate(nb.cells):
            if "exercise-stub" not in stub.metadata.get("tags", []):
                continue
            n_stubs += 1
            names = defined_names(stub.source)
            checked = sorted(names & CHECKERS.keys())
            assert len(checked) == 1, f"{path.name}: stub {sorted(names)} should define one checked name, got {checked}"
            solution = nb.cells[index + 1] if index + 1 < len(nb.cells) else None
            assert solution is not None and "exercise-solution" in solution.metadata.get("tags", []), (
                f"{path.name}: the stub of {checked[0]} (cell {index}) is not followed by its solution cell"
            )
            pairs.append((path.name, checked[0], stub, solution))
        assert n_stubs == n_solutions, f"{path.name}: {n_stubs} stubs but {n_solutions} solutions"
    return pairs


PAIRS = exercise_pairs()
IDS = [f"{p[0]}::{p[1]}" for p in PAIRS]


def _run_cell(source: str, expect_not_implemented: bool) -> dict[str, object]:
    namespace: dict[str, object] = {"__name__": "__exercise__"}
    try:
        exec(compile(source, "<exercise cell>", "exec"), namespace)  # noqa: S102 - the book's own cells
    except NotImplementedError:
        if not expect_not_implemented:
            raise
    return namespace


@pytest.mark.parametrize(("notebook", "name", "stub", "solution"), PAIRS, ids=IDS)
def test_solution_defines_its_own_name(notebook: str, name: str, stub: object, solution: object) -> None:
    stub_names, solution_names = defined_names(stub.source), defined_names(solution.source)
    assert not stub_names & solution_names, (
        f"{notebook}: the solution of {name} redefines {sorted(stub_names & solution_names)}, "
        "overwriting the student's code when it runs"
    )
    assert solution_names == {n + SOLUTION_SUFFIX for n in stub_names}, (
        f"{notebook}: the solution of {name} should define {sorted(n + SOLUTION_SUFFIX for n in stub_names)}, "
        f"defines {sorted(solution_names)}"
    )
    checker = CHECKERS[name].__name__
    assert f"{checker}({name})" in stub.source, f"{notebook}: the stub does not call {checker}({name})"
    assert f"{checker}({name}{SOLUTION_SUFFIX})" in solution.source, (
        f"{notebook}: the solution does not call {checker}({name}{SOLUTION_SUFFIX})"
    )


@pytest.mark.parametrize(("notebook", "name", "stub", "solution"), PAIRS, ids=IDS)
def test_stub_fails_and_solution_passes(notebook: str, name: str, stub: object, solution: object) -> None:
    assert "raises-exception" in stub.metadata.get("tags", []), f"{notebook}: stub {name} needs raises-exception"
    checker = CHECKERS[name]
    stub_ns = _run_cell(stub.source, expect_not_implemented=True)
    assert checker(stub_ns[name], verbose=False) is False, f"{notebook}: the stub of {name} passes its checker"
    solution_ns = _run_cell(solution.source, expect_not_implemented=False)
    assert checker(solution_ns[name + SOLUTION_SUFFIX], verbose=False) is True, (
        f"{notebook}: the solution of {name} fails its checker"
    )


def test_every_chapter_has_checked_exercises() -> None:
    chapters = {path.name for path in BOOK.glob("*.ipynb")}
    with_exercises = {notebook for notebook, _, _, _ in PAIRS}
    assert chapters == with_exercises, f"chapters without a checked exercise: {sorted(chapters - with_exercises)}"


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
