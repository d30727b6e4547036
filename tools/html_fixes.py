"""Sphinx extension: page-level fixes for Jupyter Book 1's HTML, so pages load without script errors.

* Figures: myst-nb gives an output image its file path as alt text. ``seqlib.nbsetup`` writes
  each figure's description (titles, axis labels) into the PNG's Title field; here that Title
  becomes the alt text, and an image without one is called "Figure N of <page title>". The
  Chinese edition's build passes the Chinese for each description (``seqbook_figure_text``).
* Scripts: sphinx-thebe 0.3 adds its inline configuration script (``const THEBE_JS_URL = ...``) to the page
twice, and the second copy throws ``Identifier 'THEBE_JS_URL' has already been declared`` on
every page. This extension drops exact duplicates from each page's script list. (The other
console error, pydata-sphinx-theme's ``Got invalid theme mode``, came from an empty
``default_mode``; ``_config.yml`` sets ``html_context.default_mode``.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx

from seqlib.nbsetup import png_title


def _script_key(script: object) -> tuple[str, tuple[tuple[str, str], ...]]:
    """What makes two script entries the same: the file name or inline body, and the attributes."""
    attributes = getattr(script, "attributes", None)
    if attributes is None:  # a plain string: a file name
        return str(script), ()
    # The same inline script may be registered once with filename None and once with "".
    filename = getattr(script, "filename", None) or ""
    return filename, tuple(sorted((str(k), str(v)) for k, v in attributes.items()))


def drop_duplicate_scripts(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any],
                           doctree: object) -> None:
    """``html-page-context``: keep the first of identical script entries.

    Args:
        app: the Sphinx application.
        pagename: the page being written.
        templatename: its template.
        context: the template context, whose ``script_files`` is edited in place.
        doctree: the page's doctree (unused).
    """
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    unique = []
    for script in scripts:
        key = _script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


# An image without a description, by the build's language (English for any other).
FALLBACK = {"en": "Figure {number} of {page}", "zh_CN": "{page}的第 {number} 张图"}


def describe_images(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """``doctree-resolved``: replace alt texts that are file paths by what the figure shows.

    Args:
        app: the Sphinx application.
        doctree: the page's resolved doctree.
        docname: the page, e.g. ``book/02_din``.
    """
    title_node = next(iter(doctree.findall(nodes.title)), None)
    page = title_node.astext() if title_node is not None else docname
    folder = Path(app.srcdir, docname).parent
    for number, image in enumerate(doctree.findall(nodes.image), start=1):
        uri = str(image.get("uri", ""))
        alt = str(image.get("alt", "")).strip()
        if alt and alt != uri and "/" not in alt and not alt.endswith(".png"):
            continue  # a real description already
        candidates = [Path(app.srcdir, uri), folder / uri]
        title = next((t for path in candidates if path.is_file() and (t := png_title(path))), "")
        # The Chinese edition (tools/i18n.py) passes the translations of the figures' words.
        fallback = FALLBACK.get(app.config.language, FALLBACK["en"]).format(number=number, page=page)
        image["alt"] = app.config.seqbook_figure_text.get(title, title) if title else fallback


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the extension.

    Args:
        app: the Sphinx application.

    Returns:
        Extension metadata.
    """
    app.add_config_value("seqbook_figure_text", {}, "html", types=[dict])
    app.connect("html-page-context", drop_duplicate_scripts, priority=900)
    app.connect("doctree-resolved", describe_images)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
