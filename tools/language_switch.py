"""Sphinx extension: a link at the top of every page to the same page in the other language.

The English edition is built into ``_build/html`` and the Chinese one into ``_build/html/zh_CN``
(``tools/i18n.py build``), with the same page names, so the link is a relative path: from
``book/02_din.html`` to ``zh_CN/book/02_din.html`` and back. The link sits before the theme's
header buttons (download, Colab, full screen), as a button labelled with the other language's name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.config import Config

# The folder of the Chinese edition inside the English one, and each edition's link label.
ZH_FOLDER = "zh_CN"
TEMPLATES = Path(__file__).parent / "templates"


def other_edition(language: str | None, pagename: str) -> dict[str, str]:
    """Where the same page lives in the other edition, and how to label the link.

    Args:
        language: this build's ``language`` setting ("en" or None for English, "zh_CN" for Chinese).
        pagename: the page, e.g. ``"book/02_din"``.

    Returns:
        ``{"href", "label", "lang", "title"}`` for the link.
    """
    up = "../" * pagename.count("/")
    if language == ZH_FOLDER:
        return {"href": f"{up}../{pagename}.html", "label": "English", "lang": "en",
                "title": "Read this page in English"}
    return {"href": f"{up}{ZH_FOLDER}/{pagename}.html", "label": "中文", "lang": "zh-CN",
            "title": "阅读本页的中文版"}


def configure(app: Sphinx, config: Config) -> None:
    """``config-inited``: add the template folder and put the link before the header buttons."""
    config.templates_path.append(str(TEMPLATES))
    options = config.html_theme_options
    options.setdefault("article_header_end", ["language-switch", "article-header-buttons"])


def add_link(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any],
             doctree: object) -> None:
    """``html-page-context``: give the template the link for this page."""
    context["seqbook_other_edition"] = other_edition(app.config.language, pagename)


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the extension."""
    app.connect("config-inited", configure)
    app.connect("html-page-context", add_link)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
