"""Shared fixtures: the built book, a local HTTP server for it, and headless Chromium.

The book is built once per test session with the exact command from the README
(``jupyter-book build . -W -n --keep-going``; ``_config.yml`` forces execution of every
chapter). Set ``SEQLIB_REUSE_BUILD=1`` to reuse an existing ``_build/html`` while iterating on
the tests; the build log saved next to it is still checked for warnings.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BUILD_DIR = ROOT / "_build"
HTML_DIR = BUILD_DIR / "html"
BUILD_LOG = BUILD_DIR / "seqbook-build.log"
BUILD_COMMAND = ["jupyter-book", "build", ".", "-W", "-n", "--keep-going"]
# Sphinx reports problems as "WARNING: ..." (or "path:line: WARNING: ..."). Kernel log lines such
# as "[IPKernelApp] WARNING | Kernel is running over TCP" come from the executing kernel's own
# logger, not from the book, so the check looks for the Sphinx form only.
SPHINX_WARNING = re.compile(r"\bWARNING:|\bERROR:|\bCRITICAL:")
CHROMIUM = "/usr/bin/chromium"
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


def _log_tail(log: str, lines: int = 60) -> str:
    """The last ``lines`` lines of a build log plus every warning line in it.

    Args:
        log: the full log.
        lines: how many trailing lines to keep.

    Returns:
        Text to put in a failure message.
    """
    warnings = [line for line in log.splitlines() if SPHINX_WARNING.search(line)]
    tail = "\n".join(log.splitlines()[-lines:])
    return "warnings:\n" + "\n".join(warnings[:50]) + "\n\nlog tail:\n" + tail


def _run_build() -> tuple[int, str]:
    """Run the README's build command in the project root and save its log.

    Returns:
        The exit code and the combined stdout/stderr.
    """
    env = dict(os.environ, MPLBACKEND=os.environ.get("MPLBACKEND", "Agg"))
    proc = subprocess.run(
        BUILD_COMMAND,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    BUILD_DIR.mkdir(exist_ok=True)
    BUILD_LOG.write_text(f"exit code: {proc.returncode}\n{proc.stdout}", encoding="utf-8")
    return proc.returncode, proc.stdout


@pytest.fixture(scope="session")
def built_book() -> Path:
    """Build the book once (or reuse it with ``SEQLIB_REUSE_BUILD=1``) and check the log.

    Returns:
        The ``_build/html`` folder.
    """
    reuse = os.environ.get("SEQLIB_REUSE_BUILD") == "1" and (HTML_DIR / "index.html").is_file()
    if reuse:
        log = BUILD_LOG.read_text(encoding="utf-8") if BUILD_LOG.is_file() else "exit code: 0\n"
        code = int(log.split("\n", 1)[0].removeprefix("exit code: ") or 0)
    else:
        code, log = _run_build()
    if code != 0:
        pytest.fail(f"`{' '.join(BUILD_COMMAND)}` exited with {code}\n{_log_tail(log)}", pytrace=False)
    if SPHINX_WARNING.search(log):
        pytest.fail(f"the book build logged warnings\n{_log_tail(log)}", pytrace=False)
    return HTML_DIR


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files without logging every request to stderr."""

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        """Drop the access log line."""


@pytest.fixture(scope="session")
def book_server(built_book: Path) -> Iterator[str]:
    """Serve the built book on 127.0.0.1 at a free port, in a background thread.

    Args:
        built_book: the ``_build/html`` folder.

    Yields:
        The base URL, e.g. ``http://127.0.0.1:41234``.
    """
    handler = functools.partial(_QuietHandler, directory=str(built_book))
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
    """Headless Debian Chromium driven by Playwright (never ``playwright install``).

    Yields:
        A ``playwright.sync_api.Browser``.
    """
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing; install it with `apt-get install -y chromium`", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()

