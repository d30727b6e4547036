"""What seqlib prints to a reader, in English or in Simplified Chinese (the book's Chinese edition).

The exercise checkers' hints and the live widgets' labels go through :func:`tr`: the English text
is the template (``str.format`` fields such as ``{n}``, never an f-string, so that the literal can
be extracted), and with the language set to ``zh_CN`` it is looked up in the catalog
``seqlib/locale/zh_CN/LC_MESSAGES/seqlib.po`` (read with the standard library: Colab installs
seqlib without its dependencies). A message the catalog lacks (or marks fuzzy) prints in English.

The language is what :func:`set_language` chose, else the environment variable ``SEQLIB_LANG``
(read at every call, so a notebook may set it before or after importing seqlib), else English::

    import os
    os.environ["SEQLIB_LANG"] = "zh_CN"   # the first code cell of a Chinese notebook

Texts that are defined before they are printed (the "predict, then run" questions) are marked
with :func:`N_` where they are written and translated with :func:`tr` when printed.

``tests/test_i18n_seqlib.py`` checks that every marked literal has a translation with the same
fields and that the catalog holds nothing the code no longer uses: after adding or changing a
message, add (or edit) its ``msgid``/``msgstr`` pair in the catalog; the test names what is missing.
"""

from __future__ import annotations

import ast
import functools
import os
from pathlib import Path

ENGLISH = "en"
CHINESE = "zh_CN"
LANGUAGES = (ENGLISH, CHINESE)
# Accepted spellings -> the language they name.
ALIASES = {"en": ENGLISH, "zh_CN": CHINESE, "zh": CHINESE, "zh-CN": CHINESE, "zh_cn": CHINESE}
ENVIRONMENT = "SEQLIB_LANG"
CATALOG = Path(__file__).resolve().parent / "locale" / CHINESE / "LC_MESSAGES" / "seqlib.po"

_chosen: str | None = None  # set by set_language; None: the environment decides


def _normalise(value: object, name: str) -> str:
    """The language an accepted spelling names.

    Args:
        value: the spelling, e.g. ``"zh"``.
        name: where it came from, for the error message (an argument or a variable).

    Returns:
        ``"en"`` or ``"zh_CN"``.

    Raises:
        ValueError: not an accepted spelling; the message names ``name``, the value and the
            accepted values.
    """
    if isinstance(value, str) and value in ALIASES:
        return ALIASES[value]
    raise ValueError(f"{name} must be one of {', '.join(repr(a) for a in ALIASES)}, got {value!r}")


def language() -> str:
    """The language seqlib prints in.

    Returns:
        ``"en"`` or ``"zh_CN"``: what :func:`set_language` chose, else ``SEQLIB_LANG`` (an
        empty value counts as unset), else ``"en"``.

    Raises:
        ValueError: ``SEQLIB_LANG`` holds a value that names no language.
    """
    if _chosen is not None:
        return _chosen
    value = os.environ.get(ENVIRONMENT, "")
    return _normalise(value, f"the environment variable {ENVIRONMENT}") if value else ENGLISH


def set_language(lang: str | None) -> None:
    """Choose the language seqlib prints in, whatever ``SEQLIB_LANG`` says.

    Args:
        lang: ``"en"``, ``"zh_CN"`` (or ``"zh"``, ``"zh-CN"``, ``"zh_cn"``); None goes back to
            ``SEQLIB_LANG`` and the English default.

    Raises:
        ValueError: ``lang`` names no language.
    """
    global _chosen
    _chosen = None if lang is None else _normalise(lang, "lang")


def read_po(text: str) -> dict[str, str]:
    """The translated entries of a gettext PO file (the subset seqlib's catalog uses).

    Colab installs seqlib with ``pip install --no-deps``, so the checkers cannot rely on a PO
    library being there; the catalog is plain PO: entries separated by blank lines, ``#``
    comments (``#, fuzzy`` marks a stale entry; ``#~`` an obsolete one), ``msgid``/``msgstr``
    with C-style escapes, long strings continued on ``"..."`` lines.
    ``tests/test_i18n_seqlib.py`` checks this reader against Babel's on the real catalog.

    Args:
        text: the file's content.

    Returns:
        English -> Chinese for every entry with a non-empty translation that is not fuzzy (the
        header, whose msgid is empty, left out).

    Raises:
        ValueError: a line that is none of the above; the message names its number.
    """
    entries: dict[str, str] = {}
    number = 0
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        current = None
        fuzzy = False
        for line in block.splitlines():
            number += 1
            line = line.strip()
            if line.startswith("#"):
                fuzzy |= line.startswith("#,") and "fuzzy" in line[2:].replace(",", " ").split()
            elif line.startswith(("msgid ", "msgstr ")):
                current, _, quoted = line.partition(" ")
                fields[current] = ast.literal_eval(quoted)
            elif line.startswith('"') and current is not None:
                fields[current] += ast.literal_eval(line)
            elif line:
                raise ValueError(f"{CATALOG.name}: line {number} is not PO syntax: {line!r}")
        number += 1  # the blank line between entries
        if fields.get("msgid") and fields.get("msgstr") and not fuzzy:
            entries[fields["msgid"]] = fields["msgstr"]
    return entries


@functools.lru_cache(maxsize=1)
def catalog() -> dict[str, str]:
    """The Chinese catalog, read once: English template -> Chinese template.

    Returns:
        The translated entries; an empty or fuzzy translation is left out (its English is used).
    """
    return read_po(CATALOG.read_text(encoding="utf-8"))


def tr(message: str, /, **fields: object) -> str:
    """``message`` in the current language, with its fields filled in.

    Args:
        message: the English template, a literal with ``str.format`` fields (``{n}``,
            ``{gap:.3g}``; a literal brace is doubled). Positional only, so that a field may be
            called ``message``.
        **fields: the values of its fields.

    Returns:
        The Chinese template when the language is ``zh_CN`` and the catalog translates
        ``message`` (else the English one), formatted with ``fields``.
    """
    template = catalog().get(message, message) if language() == CHINESE else message
    return template.format(**fields)


def N_(message: str) -> str:
    """Mark a text for the catalog where it is defined; :func:`tr` translates it when printed
    (gettext's name for a marker that translates nothing).

    Args:
        message: the English text.

    Returns:
        ``message`` unchanged.
    """
    return message


__all__ = ["CATALOG", "LANGUAGES", "N_", "catalog", "language", "read_po", "set_language", "tr"]
