"""The book builds with `-W -n --keep-going` (warnings fail it) and every toc page exists."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def toc_files() -> list[str]:
    """Every file named in ``_toc.yml`` (root first), without suffix.

    Returns:
        Paths like ``book/intro`` and ``book/02_din``.
    """
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


def test_toc_lists_intro_five_chapters_and_the_glossary() -> None:
    files = toc_files()
    assert files[0] == "book/intro"
    assert files[-1] == "book/glossary"
    assert len(files) == 7, files
    for name in files:
        sources = [ROOT / f"{name}{suffix}" for suffix in (".md", ".ipynb")]
        assert any(path.is_file() for path in sources), f"{name} has no .md or .ipynb source"


def test_build_succeeds_without_warnings(built_book: Path) -> None:
    # The fixture fails with the log tail on a non-zero exit code or any Sphinx warning.
    assert (built_book / "index.html").is_file()


def test_every_toc_page_has_html(built_book: Path) -> None:
    missing = [name for name in toc_files() if not (built_book / f"{name}.html").is_file()]
    assert not missing, f"toc pages without HTML: {missing}"
