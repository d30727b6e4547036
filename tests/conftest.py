"""Shared fixtures: the built book, a local HTTP server for it, and headless Chromium.

The book is built once per test session with the exact command from the README
(``jupyter-book build . -W -n --keep-going``; ``_config.yml`` forces execution of every
chapter). Set ``SEQLIB_REUSE_BUILD=1`` to reuse an existing ``_build/html`` while iterating on
the tests; the build log saved next to it is still checked for warnings.

When the build fails, the first test that needs it reports why (the chapter, cell and cause
from ``tools/exec_report.py`` and the warning lines) and every later one says only that the
build failed, so the reason is printed once. The execution report (each chapter's slowest
cells) is printed at the end of the run.

Optional data: a test that needs the Taobao file carries ``@pytest.mark.requires_taobao`` (or
asks for the ``taobao_csv`` fixture, which gives the file's path). Without the file it is
skipped with a reason naming the path it looked for; with ``SEQLIB_REQUIRE_OPTIONAL_DATA=1``
(set by ``.ci/run``, whose machines have the file) it fails instead, so CI never skips them.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tooling import load_tool

ROOT = Path(__file__).resolve().parents[1]
BUILD_DIR = ROOT / "_build"
HTML_DIR = BUILD_DIR / "html"
BUILD_LOG = BUILD_DIR / "seqbook-build.log"
EXEC_REPORT = BUILD_DIR / "execution-report.txt"
BUILD_COMMAND = ["jupyter-book", "build", ".", "-W", "-n", "--keep-going"]
# Sphinx reports problems as "WARNING: ..." (or "path:line: WARNING: ..."). Kernel log lines such
# as "[IPKernelApp] WARNING | Kernel is running over TCP" come from the executing kernel's own
# logger, not from the book, so the check looks for the Sphinx form only.
SPHINX_WARNING = re.compile(r"\bWARNING:|\bERROR:|\bCRITICAL:")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


find_browser = load_tool("find_browser")

REQUIRE_OPTIONAL_DATA_ENV = "SEQLIB_REQUIRE_OPTIONAL_DATA"


def taobao_csv_or_skip() -> Path:
    """The Taobao file ``load_taobao()`` reads by default; skip the test when it is absent.

    The path is the loader's own default, ``$SEQLIB_DATA_DIR/taobao/UserBehavior.csv``. With
    ``SEQLIB_REQUIRE_OPTIONAL_DATA=1`` a missing file fails the test instead of skipping it.

    Returns:
        The file's path.
    """
    from seqlib.data.optional import TAOBAO_RELATIVE
    from seqlib.data.paths import DATA_DIR_ENV, env_data_dir

    folder = env_data_dir()
    if folder is not None and (folder / TAOBAO_RELATIVE).is_file():
        return folder / TAOBAO_RELATIVE
    where = (f"{folder / TAOBAO_RELATIVE}" if folder is not None
             else f"${DATA_DIR_ENV}/{TAOBAO_RELATIVE.as_posix()} ({DATA_DIR_ENV} is not set)")
    if os.environ.get(REQUIRE_OPTIONAL_DATA_ENV, "").strip() not in ("", "0"):
        pytest.fail(
            f"the optional Taobao file is missing: no {where}, and {REQUIRE_OPTIONAL_DATA_ENV}="
            f"{os.environ[REQUIRE_OPTIONAL_DATA_ENV]} (set by .ci/run) requires it. Put UserBehavior.csv there, "
            f"point {DATA_DIR_ENV} at a folder that has it, or unset {REQUIRE_OPTIONAL_DATA_ENV} to skip these tests.",
            pytrace=False,
        )
    pytest.skip(f"optional Taobao file not found: {where}")


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``requires_taobao`` marker."""
    config.addinivalue_line(
        "markers",
        "requires_taobao: needs $SEQLIB_DATA_DIR/taobao/UserBehavior.csv (skipped without it, failed without "
        f"it under {REQUIRE_OPTIONAL_DATA_ENV}=1)",
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip (or fail) a ``requires_taobao`` test before its fixtures run when the file is absent."""
    if item.get_closest_marker("requires_taobao") is not None:
        taobao_csv_or_skip()


@pytest.fixture(scope="session")
def taobao_csv() -> Path:
    """The Taobao file's path (looked up before any test changes ``SEQLIB_DATA_DIR``).

    Skips, or fails under ``SEQLIB_REQUIRE_OPTIONAL_DATA=1``, when the file is absent.
    """
    return taobao_csv_or_skip()


@dataclass
class BuildResult:
    """One run of the README's build command.

    Attributes:
        code: its exit code.
        log: its combined stdout and stderr.
        reported: whether a test has already shown why it failed.
    """

    code: int
    log: str
    reported: bool = False

    def problem(self) -> str | None:
        """Why the build counts as failed, or ``None`` when it succeeded without warnings."""
        if self.code != 0:
            return f"`{' '.join(BUILD_COMMAND)}` exited with {self.code}"
        if SPHINX_WARNING.search(self.log):
            return "the book build logged warnings"
        return None

    def explanation(self) -> str:
        """The execution report's failures and the distinct warning lines, for a newcomer.

        Returns:
            A few dozen lines at most, ending with where the full log is.
        """
        report = EXEC_REPORT.read_text(encoding="utf-8").splitlines() if EXEC_REPORT.is_file() else []
        failures = [
            f"  {report[i - 1].strip().split(':')[0]}: {line.strip()}"
            for i, line in enumerate(report)
            if i > 0 and line.strip().startswith("FAILED")
        ]
        warnings: list[str] = []
        for line in ANSI.sub("", self.log).splitlines():
            line = line.strip()
            if SPHINX_WARNING.search(line) and line not in warnings and "traceback saved in" not in line:
                warnings.append(line)
        parts = []
        if failures:
            parts.append("chapters that failed to execute:\n" + "\n".join(failures))
        if warnings:
            more = f"\n  ... and {len(warnings) - 20} more" if len(warnings) > 20 else ""
            parts.append("warnings:\n" + "\n".join(f"  {w[:400]}" for w in warnings[:20]) + more)
        if not parts:
            parts.append("log tail:\n" + "\n".join(ANSI.sub("", self.log).splitlines()[-15:]))
        parts.append(f"full log: {BUILD_LOG}; tracebacks: {HTML_DIR / 'reports'}")
        return "\n\n".join(parts)


# The build this pytest session used, if any (its execution report is printed at the end).
_SESSION_BUILDS: list[BuildResult] = []


def _run_build() -> BuildResult:
    """Run the README's build command from scratch in the project root and save its log.

    Returns:
        The exit code and the combined stdout/stderr.
    """
    env = dict(os.environ, MPLBACKEND=os.environ.get("MPLBACKEND", "Agg"))
    # A fresh build: Sphinx would skip unchanged chapters (not re-executing them against the
    # current seqlib, nor repeating their warnings).
    shutil.rmtree(BUILD_DIR, ignore_errors=True)
    # The jupyter-book next to this interpreter (pytest may run from a virtual environment that
    # is not on PATH, as under `make test`), else the one on PATH.
    local = Path(sys.executable).parent / BUILD_COMMAND[0]
    command = [str(local) if local.is_file() else BUILD_COMMAND[0], *BUILD_COMMAND[1:]]
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    try:
        proc = subprocess.run(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False
        )
    except OSError as error:  # e.g. jupyter-book is not installed
        BUILD_DIR.mkdir(exist_ok=True)
        return BuildResult(127, f"could not run {command[0]}: {error}; install requirements.txt (make setup)")
    BUILD_DIR.mkdir(exist_ok=True)
    BUILD_LOG.write_text(f"exit code: {proc.returncode}\n{proc.stdout}", encoding="utf-8")
    return BuildResult(proc.returncode, proc.stdout)


@pytest.fixture(scope="session")
def book_build() -> BuildResult:
    """Build the book once per session (or reuse it with ``SEQLIB_REUSE_BUILD=1``).

    Returns:
        The build's exit code and log; it never fails itself (see ``built_book``).
    """
    reuse = os.environ.get("SEQLIB_REUSE_BUILD") == "1" and (HTML_DIR / "index.html").is_file()
    if reuse:
        log = BUILD_LOG.read_text(encoding="utf-8") if BUILD_LOG.is_file() else "exit code: 0\n"
        result = BuildResult(int(log.split("\n", 1)[0].removeprefix("exit code: ") or 0), log)
    else:
        result = _run_build()
    _SESSION_BUILDS.append(result)
    return result


@pytest.fixture
def built_book(book_build: BuildResult) -> Path:
    """The ``_build/html`` folder of a build that succeeded without warnings.

    The first test to meet a failed build fails with the reason; later ones with one line.

    Returns:
        The ``_build/html`` folder.
    """
    problem = book_build.problem()
    if problem is not None:
        if book_build.reported:
            pytest.fail(f"{problem}; the first failing test above shows why (log: {BUILD_LOG})", pytrace=False)
        book_build.reported = True
        pytest.fail(f"{problem}\n\n{book_build.explanation()}", pytrace=False)
    return HTML_DIR


ZH_HTML_DIR = HTML_DIR / "zh_CN"
ZH_BUILD_COMMAND = ["tools/i18n.py", "build"]


@pytest.fixture(scope="session")
def zh_book_build(book_build: BuildResult) -> BuildResult:
    """Build the Chinese edition once per session, from the English build (``tools/i18n.py build``).

    With ``SEQLIB_REUSE_BUILD=1`` an existing ``_build/html/zh_CN`` is reused.

    Returns:
        The build's exit code and output; it never fails itself (see ``built_zh_book``).
    """
    if book_build.problem() is not None:
        return BuildResult(1, "the English build failed, and the Chinese edition is built from its executed notebooks")
    if os.environ.get("SEQLIB_REUSE_BUILD") == "1" and (ZH_HTML_DIR / "index.html").is_file():
        return BuildResult(0, "reused")
    proc = subprocess.run([sys.executable, *ZH_BUILD_COMMAND], cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, check=False)
    return BuildResult(proc.returncode, proc.stdout)


@pytest.fixture
def built_zh_book(built_book: Path, zh_book_build: BuildResult) -> Path:
    """The Chinese edition's ``_build/html/zh_CN``, built warning-free after the English one.

    Returns:
        The folder.
    """
    if zh_book_build.code != 0:
        pytest.fail(f"`python {' '.join(ZH_BUILD_COMMAND)}` exited with {zh_book_build.code}:\n"
                    f"{zh_book_build.log[-4000:]}", pytrace=False)
    return ZH_HTML_DIR


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the notebook execution report of this session's build (each chapter's slowest cells)."""
    if _SESSION_BUILDS and EXEC_REPORT.is_file():
        terminalreporter.write_sep("-", "notebook execution (tools/exec_report.py)")
        terminalreporter.write_line(EXEC_REPORT.read_text(encoding="utf-8").rstrip())


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files without logging every request to stderr."""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        """Drop the access log line."""


@pytest.fixture(scope="session")
def book_server(book_build: BuildResult) -> Iterator[str]:
    """Serve ``_build/html`` on 127.0.0.1 at a free port, in a background thread.

    Tests request ``built_book`` before this fixture, so a failed build is reported by that
    fixture (once) rather than here.

    Args:
        book_build: the session's build.

    Yields:
        The base URL, e.g. ``http://127.0.0.1:41234``.
    """
    handler = functools.partial(_QuietHandler, directory=str(HTML_DIR))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Headless Chromium (or Chrome) driven by Playwright (never ``playwright install``).

    The browser is found by ``tools/find_browser.py``: ``$SEQLIB_CHROMIUM``, else chromium,
    chromium-browser or google-chrome on PATH or in the usual places.

    Yields:
        A ``playwright.sync_api.Browser``.
    """
    executable = find_browser.find_browser()
    if executable is None:
        pytest.fail(find_browser.missing_message(), pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(executable), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
