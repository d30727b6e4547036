"""Sphinx extension: one execution report per build, with each chapter's slowest cells and failures.

Loaded by ``_config.yml`` (``sphinx.local_extensions``). myst-nb executes every chapter; it does
not record how long each cell took, and when a chapter fails it prints a long traceback in the
middle of the build log. This extension

* asks nbclient to record each cell's start and end (``record_timing``), so the executed
  notebooks in ``_build/jupyter_execute`` carry ``metadata.execution`` timestamps, and
* at the end of the build prints, once, a short report: per chapter the run time and the
  slowest cells, and for a chapter that failed the cell and the cause (for a timeout: the limit
  and where to raise it). The report is also written to ``_build/execution-report.txt``, which
  the test suite prints.

Only ``info`` lines are logged, so the report never turns into a build warning itself.
"""

from __future__ import annotations

import functools
from datetime import datetime
from pathlib import Path
from typing import Any

import nbformat
from sphinx.application import Sphinx
from sphinx.util import logging

REPORT_NAME = "execution-report.txt"
SLOWEST = 3
logger = logging.getLogger(__name__)


def _record_timing() -> None:
    """Make myst-nb's direct executor record per-cell timing (nbclient's ``record_timing``)."""
    from myst_nb.core.execute import direct

    original = getattr(direct, "single_nb_execution", None)
    if original is None:
        raise RuntimeError(
            "myst_nb.core.execute.direct.single_nb_execution is gone (a new myst-nb?): "
            "tools/exec_report.py needs updating to record cell timings"
        )
    if getattr(original, "_seqbook_timed", False):
        return

    @functools.wraps(original)
    def timed(*args: Any, **kwargs: Any) -> Any:
        kwargs["record_timing"] = True
        return original(*args, **kwargs)

    timed._seqbook_timed = True  # type: ignore[attr-defined]
    direct.single_nb_execution = timed


def _seconds(cell: nbformat.NotebookNode) -> float | None:
    """How long a code cell ran, from nbclient's timing metadata; ``None`` when it did not finish."""
    timing = cell.get("metadata", {}).get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not start or not end:
        return None
    parse = lambda stamp: datetime.fromisoformat(stamp.replace("Z", "+00:00"))  # noqa: E731
    return (parse(end) - parse(start)).total_seconds()


def _first_line(cell: nbformat.NotebookNode) -> str:
    """The first non-empty source line of a cell, shortened."""
    line = next((line.strip() for line in cell.source.splitlines() if line.strip()), "")
    return line if len(line) <= 70 else line[:67] + "..."


def _failure(nb: nbformat.NotebookNode, error: str | None, timeout: int) -> str:
    """Where and why an executed notebook stopped, in one line.

    The failing cell is the first one with an error output, or the first that started and never
    finished. On a timeout nbclient interrupts the kernel, so that cell shows a KeyboardInterrupt;
    the message then gives the limit and where to raise it.
    """
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        errors = [output for output in cell.get("outputs", []) if output.get("output_type") == "error"]
        timing = cell.get("metadata", {}).get("execution", {})
        unfinished = bool(timing.get("iopub.execute_input")) and not timing.get("shell.execute_reply")
        if not errors and not unfinished:
            continue
        where = f"FAILED at cell {index} (`{_first_line(cell)}`)"
        if error == "CellTimeoutError":
            return (
                f"{where}: it ran past the {timeout} s limit per cell. Make the cell faster, or raise "
                "`execute: timeout:` in _config.yml"
            )
        if errors:
            return f"{where}: {errors[0].get('ename')}: {str(errors[0].get('evalue', '')).strip()[:300]}"
        return f"{where}: {error or 'it did not finish'}"
    return f"FAILED: {error or 'unknown error'} (see the traceback in _build/html/reports/)"


def chapter_line(docname: str, nb: nbformat.NotebookNode, runtime: float | None, error: str | None,
                 timeout: int) -> str:
    """One chapter's line of the report: run time and slowest cells, or where it failed.

    Args:
        docname: e.g. ``book/02_din``.
        nb: the executed notebook (with nbclient's timing metadata).
        runtime: the chapter's execution time in seconds, when known.
        error: the executor's error class name, ``None`` when the chapter ran through.
        timeout: the per-cell limit in seconds.

    Returns:
        The line (two for a failure: the slowest cells, then the failure).
    """
    timed = [(seconds, index, cell) for index, cell in enumerate(nb.cells)
             if cell.cell_type == "code" and (seconds := _seconds(cell)) is not None]
    timed.sort(key=lambda item: item[0], reverse=True)
    slowest = ", ".join(f"cell {index} {seconds:.1f} s `{_first_line(cell)}`" for seconds, index, cell in timed[:SLOWEST])
    total = f"{runtime:.0f} s" if runtime is not None else "?"
    line = f"{docname}: {total}; slowest: {slowest or 'no timings'}"
    if error:
        line += f"\n    {_failure(nb, error, timeout)}"
    return line


def _report(app: Sphinx, exception: Exception | None) -> None:
    """``build-finished``: print the report once and save it next to the HTML."""
    from myst_nb.sphinx_ import NbMetadataCollector

    executed = Path(app.outdir).parent / "jupyter_execute"
    timeout = int(app.config["nb_execution_timeout"])
    lines = []
    for docname in sorted(app.env.found_docs):
        data = NbMetadataCollector.get_exec_data(app.env, docname)
        path = executed / f"{docname}.ipynb"
        if not data or not path.is_file():
            continue
        nb = nbformat.read(path, as_version=4)
        lines.append(chapter_line(docname, nb, data.get("runtime"), data.get("error"), timeout))
    if not lines:
        return
    header = f"Notebook execution report (limit {timeout} s per cell: `execute: timeout:` in _config.yml)"
    text = "\n".join([header, *(f"  {line}" for line in lines)])
    Path(app.outdir).parent.joinpath(REPORT_NAME).write_text(text + "\n", encoding="utf-8")
    logger.info("\n" + text)


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the extension.

    Args:
        app: the Sphinx application.

    Returns:
        Extension metadata.
    """
    _record_timing()
    app.connect("build-finished", _report)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
