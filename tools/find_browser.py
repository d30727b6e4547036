"""Find the Chromium (or Chrome) the browser tests drive, or say exactly what is missing.

``python tools/find_browser.py`` prints the browser's path (exit 0) or what to install (exit 1);
``--install`` first installs Debian's ``chromium`` with apt-get when none is found and this runs
as root (``make test`` does this). ``SEQLIB_CHROMIUM`` names a browser explicitly.

The Chinese edition needs a font with Chinese characters (the browser tests check that they render
as glyphs, not boxes); ``--install`` also installs Debian's ``fonts-wqy-microhei`` when fontconfig
knows no font for Chinese.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ENV = "SEQLIB_CHROMIUM"
NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
PLACES = (
    "/usr/bin/chromium",
    "/usr/lib/chromium/chromium",
    "/usr/bin/chromium-browser",
    "/snap/bin/chromium",
    "/usr/bin/google-chrome",
    "/opt/google/chrome/chrome",
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
)
HOW_TO_INSTALL = (
    "Debian/Ubuntu: `apt-get update && apt-get install -y chromium` (as root), or install Google Chrome; "
    f"or set {ENV}=/path/to/chromium"
)


def find_browser() -> Path | None:
    """The browser to use: ``$SEQLIB_CHROMIUM``, else the first of :data:`NAMES` on PATH, else
    the first of :data:`PLACES` that exists.

    Returns:
        Its path, or ``None`` when there is none.

    Raises:
        FileNotFoundError: ``$SEQLIB_CHROMIUM`` is set but names no executable file.
    """
    named = os.environ.get(ENV, "").strip()
    if named:
        path = Path(shutil.which(named) or named)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise FileNotFoundError(f"{ENV}={named} is not an executable file; unset it or point it at chromium")
        return path
    for name in NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
    for place in PLACES:
        if os.path.isfile(place) and os.access(place, os.X_OK):
            return Path(place)
    return None


def missing_message() -> str:
    """What to do when :func:`find_browser` finds nothing.

    Returns:
        One line naming what was looked for and how to install it.
    """
    return f"no Chromium or Chrome found (looked for {', '.join(NAMES)} on PATH and in {', '.join(PLACES[:4])}, ...): {HOW_TO_INSTALL}"


CJK_FONT_PACKAGE = "fonts-wqy-microhei"


def has_chinese_font() -> bool | None:
    """Whether fontconfig knows a font covering Chinese (``None``: no fontconfig to ask)."""
    if shutil.which("fc-list") is None:
        return None
    listed = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False)
    return bool(listed.stdout.strip())


def apt_install(package: str, remedy: str) -> None:
    """Install a Debian package with apt-get (index first), when this runs as root.

    Args:
        package: the package name.
        remedy: what the reader can do instead, ending every error message.

    Raises:
        RuntimeError: not root, no apt-get, or apt-get failed.
    """
    if shutil.which("apt-get") is None:
        raise RuntimeError(remedy)
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        raise RuntimeError(f"{remedy} (not root, so `make test` cannot install it itself)")
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "--no-install-recommends", package]):
        print("+", " ".join(command), flush=True)
        if subprocess.run(command, check=False, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive")).returncode:
            raise RuntimeError(f"`{' '.join(command)}` failed; {remedy}")


def install_chromium() -> None:
    """Install Debian's ``chromium`` with apt-get (index first), when this runs as root.

    Raises:
        RuntimeError: not root, no apt-get, or apt-get failed.
    """
    apt_install("chromium", missing_message())


def main(argv: list[str] | None = None) -> int:
    """Print the browser's path, installing Chromium first with ``--install`` when none is found.

    Args:
        argv: command-line arguments (default ``sys.argv[1:]``).

    Returns:
        0 when a browser is there, 1 otherwise (with the reason on stderr).
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--install", action="store_true", help="apt-get install chromium when none is found")
    args = parser.parse_args(argv)
    try:
        browser = find_browser()
        if browser is None and args.install:
            install_chromium()
            browser = find_browser()
        if args.install and has_chinese_font() is False:
            apt_install(CJK_FONT_PACKAGE, f"no font for Chinese (`fc-list :lang=zh` lists none): install "
                                          f"{CJK_FONT_PACKAGE} (Debian) or any CJK font")
    except (FileNotFoundError, RuntimeError) as error:
        print(error, file=sys.stderr)
        return 1
    if browser is None:
        print(missing_message(), file=sys.stderr)
        return 1
    print(browser)
    return 0


if __name__ == "__main__":
    sys.exit(main())
