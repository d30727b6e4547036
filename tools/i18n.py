"""The Chinese edition: message catalogs, the Chinese notebooks and the second build.

The English sources (``book/*.ipynb``, ``book/*.md``) are the only copy of the book. Their prose is
split into messages (paragraphs, headings, list items, table cells, captions) by Sphinx's gettext
builder; ``locale/zh_CN/LC_MESSAGES/book/<page>.po`` holds the Chinese for each message. From the
English sources and the catalogs this tool writes

* ``locale/zh_CN/book/<chapter>.ipynb``: the chapters with Chinese prose and the same code cells,
  without outputs, which the Colab button of a Chinese page opens; and
* the Chinese edition of the book, ``_build/html/zh_CN``: the English build's executed notebooks
  (``_build/jupyter_execute``) with their prose translated, built without executing anything, so
  both editions show the same outputs and the same glued numbers.

Commands (run from the repository root)::

    python tools/i18n.py update      # merge the English messages into the catalogs: a new message
                                     # arrives empty, a changed one is marked fuzzy; after the
                                     # English build, also the figures' words (figures.po)
    python tools/i18n.py check       # every message translated, none fuzzy, markup kept
    python tools/i18n.py notebooks   # rewrite locale/zh_CN/book/*.ipynb (--check: only compare)
    python tools/i18n.py build       # the Chinese edition, after the English build (make book)

A changed English sentence never leaves a stale Chinese one behind: its old translation no longer
matches any message, so ``update`` marks it fuzzy, ``check`` and the tests fail, and
``notebooks``/``build`` refuse to run until it is translated again.
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import nbformat
import yaml
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from seqlib.nbsetup import png_title

ROOT = Path(__file__).resolve().parents[1]
LANGUAGE = "zh_CN"
LOCALE = ROOT / "locale" / LANGUAGE
CATALOGS = LOCALE / "LC_MESSAGES" / "book"
NOTEBOOKS = LOCALE / "book"
# The few words that live in _config.yml and _toc.yml rather than in a page: English -> Chinese.
SITE_TEXT = LOCALE / "site.yml"
ZH_SOURCE = ROOT / "_build" / "zh_source"
ZH_OUTPUT = ROOT / "_build" / "zh_output"
EXECUTED = ROOT / "_build" / "jupyter_execute" / "book"
HTML = ROOT / "_build" / "html"
# What the Colab set-up cell of a Chinese notebook adds: seqlib's messages (exercise checkers,
# widget labels) in Chinese.
LANGUAGE_LINE = f'import os\nos.environ["SEQLIB_LANG"] = "{LANGUAGE}"\n'


HEADER = ("# The Chinese (zh_CN) prose of seqbook's page {page}: one message per paragraph, heading,\n"
          "# list item or table cell. Update with `python tools/i18n.py update`; see README.md.")


class TranslationError(RuntimeError):
    """A catalog is missing, incomplete or does not fit the English source."""


# ---------------------------------------------------------------------------------------------
# Catalogs


def pages(root: Path = ROOT) -> list[Path]:
    """The book's source pages in table-of-contents order.

    Args:
        root: the repository root.

    Returns:
        Paths of ``book/<page>.md`` or ``book/<page>.ipynb``.
    """
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    names = [toc["root"]] + [ch["file"] for part in toc["parts"] for ch in part["chapters"]]
    found = []
    for name in names:
        candidates = [root / f"{name}{suffix}" for suffix in (".ipynb", ".md")]
        found.append(next(p for p in candidates if p.is_file()))
    return found


def toc_captions(root: Path = ROOT) -> list[str]:
    """The part captions of ``_toc.yml`` (messages of the root page's catalog)."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    return [part["caption"] for part in toc["parts"]]


def extract(out: Path, root: Path = ROOT) -> dict[str, Catalog]:
    """Split the English pages into messages with Sphinx's gettext builder (nothing is executed).

    Args:
        out: a folder for the ``.pot`` templates.
        root: the repository root.

    Returns:
        ``{page name: template catalog}``, e.g. ``{"02_din": Catalog}``.
    """
    command = [
        sys.executable, "-c",
        "import sys; from jupyter_book.sphinx import build_sphinx; "
        "sys.exit(build_sphinx(sys.argv[1], sys.argv[2], builder='gettext', really_quiet=True, "
        "noconfig=True, path_config=sys.argv[3], confoverrides={'nb_execution_mode': 'off', "
        "'gettext_compact': False, 'gettext_location': False, 'gettext_uuid': False, "
        "'latex_individualpages': False, 'external_toc_path': '_toc.yml'}))",
        str(root), str(out), str(root / "_config.yml"),
    ]
    done = subprocess.run(command, cwd=root, capture_output=True, text=True)
    if done.returncode != 0:
        raise TranslationError(f"the gettext build failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    templates = {}
    for page in pages(root):
        pot = out / "book" / f"{page.stem}.pot"
        if not pot.is_file():
            raise TranslationError(f"the gettext build wrote no {pot.relative_to(out)} for {page.name}")
        with pot.open("rb") as handle:
            templates[page.stem] = read_po(handle)
    return templates


# The catalog of the words inside the figures: image descriptions (alt text, from each PNG's Title
# field, which seqlib.nbsetup writes from the figure's titles and axis labels) and the titles and
# parameter names of the kernel-free figure viewers. They exist once the English build has run.
FIGURES = "figures"
VIEWER = re.compile(r'<div class="seqlib-viewer"[^>]*? data-title="([^"]*)" data-param="([^"]*)"')


def figure_texts(executed: Path = EXECUTED) -> list[str]:
    """The words of the executed chapters' figures, in page order, without repeats.

    Args:
        executed: the English build's executed notebooks.

    Returns:
        PNG titles (the images' alt text), then viewer titles and parameter names.

    Raises:
        TranslationError: the English build has not run.
    """
    found: dict[str, None] = {}
    for page in pages():
        if page.suffix != ".ipynb":
            continue
        path = executed / page.name
        if not path.is_file():
            raise TranslationError(f"{path.relative_to(ROOT)} is missing: build the English edition first "
                                   f"(make book)")
        for cell in nbformat.read(path, as_version=4).cells:
            for output in cell.get("outputs", []):
                data = output.get("data", {})
                if "image/png" in data and (title := png_title(base64.b64decode(data["image/png"]))):
                    found[title] = None
                for title, param in VIEWER.findall(data.get("text/html", "")):
                    found[html.unescape(title)] = None
                    found[html.unescape(param)] = None
    return list(found)


def figure_template(texts: list[str]) -> Catalog:
    """A template catalog of figure words (see :func:`figure_texts`)."""
    template = Catalog()
    for text in texts:
        template.add(text)
    return template


def catalog_path(name: str) -> Path:
    """Where the Chinese catalog of page ``name`` lives."""
    return CATALOGS / f"{name}.po"


def read_catalog(name: str) -> Catalog:
    """The Chinese catalog of page ``name`` (e.g. ``"02_din"``).

    Raises:
        TranslationError: the catalog does not exist (run ``update``).
    """
    path = catalog_path(name)
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in CATALOGS.glob("*.po")))
        raise TranslationError(f"{path.relative_to(ROOT)} is missing: the catalogs are {known}; a new page "
                               f"gets one from `python tools/i18n.py update`")
    with path.open("rb") as handle:
        return read_po(handle, locale=LANGUAGE)


def save_catalog(catalog: Catalog, path: Path) -> None:
    """Write a catalog unwrapped and without source locations, so a diff shows whole messages."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        write_po(handle, catalog, width=0, no_location=True, ignore_obsolete=True, include_previous=True)


def update(templates: dict[str, Catalog]) -> dict[str, Counter]:
    """Merge fresh templates into the catalogs: new messages empty, changed ones fuzzy.

    Args:
        templates: from :func:`extract`.

    Returns:
        ``{page: Counter(translated=..., fuzzy=..., untranslated=...)}`` after the merge.
    """
    summary = {}
    for name, template in templates.items():
        path = catalog_path(name)
        catalog = read_catalog(name) if path.is_file() else Catalog(locale=LANGUAGE, project="seqbook", fuzzy=False)
        created = catalog.creation_date
        catalog.update(template, update_header_comment=False)
        catalog.creation_date = created  # a date that changed on every update would be noise
        catalog.header_comment = HEADER.format(page=name)
        save_catalog(catalog, path)
        summary[name] = status(catalog)
    return summary


def status(catalog: Catalog) -> Counter:
    """How many messages of a catalog are translated, fuzzy or empty."""
    counts: Counter = Counter(translated=0, fuzzy=0, untranslated=0)
    for message in catalog:
        if not message.id:
            continue
        if message.fuzzy:
            counts["fuzzy"] += 1
        elif not message.string:
            counts["untranslated"] += 1
        else:
            counts["translated"] += 1
    return counts


# Markup a translation must carry over unchanged: roles ({glue:text}`key`, {cite:p}`key`, {doc}`page`),
# inline code, inline math and link targets. A role's explicit title (``{doc}`title <target>` ``) may
# be translated; its target may not.
ROLE = re.compile(r"\{[\w:.-]+\}`([^`]*)`")
CODE = re.compile(r"``.+?``|`[^`]+`")
MATH = re.compile(r"\$\$.+?\$\$|(?<!\\)\$[^$]+?(?<!\\)\$")
LINK = re.compile(r"\]\(([^)\s]+)\)")


def markup(text: str) -> Counter:
    """The untranslatable pieces of a message, as a multiset.

    Args:
        text: a message in MyST Markdown.

    Returns:
        Counter of role, inline-code, math and link-target strings.
    """
    pieces: Counter = Counter()

    def role(match: re.Match) -> str:
        body = match.group(1)
        titled = re.fullmatch(r"(?s).*<([^<>]+)>", body)
        head = match.group(0)[: match.group(0).index("`")]
        pieces[f"{head}`{titled.group(1) if titled else body}`"] += 1
        return " "

    rest = ROLE.sub(role, text)
    for pattern in (CODE, MATH):
        pieces.update(m.group(0) for m in pattern.finditer(rest))
        rest = pattern.sub(" ", rest)
    pieces.update(f"]({m.group(1)})" for m in LINK.finditer(rest))
    return pieces


def problems(name: str, catalog: Catalog, template: Catalog | None = None) -> list[str]:
    """What is wrong with a catalog: stale, untranslated, fuzzy, or markup not carried over.

    Args:
        name: the page, for the messages.
        catalog: its Chinese catalog.
        template: a fresh extraction of the page; when given, every one of its messages must be
            in the catalog.

    Returns:
        One line per problem (empty when the catalog is complete).
    """
    found = []
    if template is not None:
        missing = [m.id for m in template if m.id and m.id not in catalog]
        found += [f"{name}: not in the catalog (run update): {short(m)}" for m in missing]
    for message in catalog:
        if not message.id:
            continue
        if message.fuzzy:
            found.append(f"{name}: fuzzy (the English changed): {short(message.id)}")
        elif not message.string:
            found.append(f"{name}: untranslated: {short(message.id)}")
        else:
            lost = markup(message.id) - markup(message.string)
            added = markup(message.string) - markup(message.id)
            if lost or added:
                found.append(f"{name}: markup differs (lost {sorted(lost)}, added {sorted(added)}): "
                             f"{short(message.id)}")
    return found


def short(text: str, width: int = 90) -> str:
    """A message cut to one readable line."""
    return text if len(text) <= width else text[: width - 3] + "..."


# ---------------------------------------------------------------------------------------------
# Applying a catalog to Markdown

# What may come before a message on its first line: blockquote and list markers, a heading's #s,
# a directive's name (its title is a message).
PREFIX = r"(?:[ \t]*(?:>[ \t]?|[-*+][ \t]+|\d+[.)][ \t]+|#{1,6}[ \t]+|(?:`{3,}|:{3,})\{[\w-]+\}[ \t]+))*"
# Between two words of a message: spaces, or a line break with the next line's indentation or
# blockquote markers.
GAP = r"(?:[ \t]*\n[ \t]*(?:>[ \t]?)*[ \t]*|[ \t]+)"


def _patterns(message: str) -> list[re.Pattern]:
    """Regexes matching ``message`` as a whole block, and as a whole table cell, of Markdown."""
    body = GAP.join(re.escape(word) for word in message.split())
    return [
        re.compile(rf"^(?P<prefix>{PREFIX})(?P<body>{body})(?P<end>[ \t]*)$", re.MULTILINE),
        re.compile(rf"(?P<prefix>(?<=\|)[ \t]*)(?P<body>{body})(?P<end>[ \t]*)(?=\|)"),
    ]


def translate_blocks(sources: list[str], catalog: Catalog, where: str,
                     elsewhere: Iterable[str] = ()) -> list[str]:
    """Replace every message of ``catalog`` in Markdown ``sources`` by its translation.

    Messages are matched as whole blocks (a paragraph, heading, list item, quote, directive title
    or table cell), wherever the English source breaks its lines; the longest first, so a short
    message never replaces part of a longer one.

    Args:
        sources: the Markdown texts (a page, or a notebook's Markdown cells).
        catalog: the page's Chinese catalog.
        where: the page, for error messages.
        elsewhere: messages that may be absent from the sources (the root page's catalog also holds
            the table of contents' part captions).

    Returns:
        The translated texts, in order.

    Raises:
        TranslationError: a message is untranslated or fuzzy, or is not found in the source (the
            catalog is older than the page: run ``update``).
    """
    bad = problems(where, catalog)
    if bad:
        raise TranslationError("the catalog is not complete; `python tools/i18n.py check` lists:\n"
                               + "\n".join(bad[:20]))
    texts = list(sources)
    messages = sorted((m for m in catalog if m.id), key=lambda m: len(m.id), reverse=True)
    for message in messages:
        hits = 0
        for pattern in _patterns(message.id):
            for i, text in enumerate(texts):
                texts[i], n = pattern.subn(
                    lambda m, s=message.string.strip(): f"{m.group('prefix')}{s}{m.group('end')}", text)
                hits += n
        if not hits and message.id not in elsewhere:
            raise TranslationError(f"{where}: message not found in the source (run "
                                   f"`python tools/i18n.py update`): {short(message.id)}")
    return texts


def translate_page(page: Path, catalog: Catalog) -> str | nbformat.NotebookNode:
    """A page of the book with its prose translated.

    Args:
        page: ``book/<page>.md`` or a notebook (source or executed).
        catalog: the page's Chinese catalog.

    Returns:
        The translated Markdown text, or the notebook with translated Markdown cells (code cells
        and outputs untouched).
    """
    captions = toc_captions()
    if page.suffix == ".md":
        return translate_blocks([page.read_text()], catalog, page.stem, captions)[0]
    nb = nbformat.read(page, as_version=4)
    cells = [cell for cell in nb.cells if cell.cell_type == "markdown"]
    for cell, text in zip(cells, translate_blocks([c.source for c in cells], catalog, page.stem, captions)):
        cell.source = text
    prompts = site_text()["prompts"]
    for cell in nb.cells:
        labels = cell.metadata.get("mystnb", {})
        for key in ("code_prompt_show", "code_prompt_hide"):
            if key in labels:
                labels[key] = _zh(labels[key], prompts)
    nb.metadata["language"] = LANGUAGE
    return nb


def colab_notebook(page: Path) -> nbformat.NotebookNode:
    """The Chinese notebook the Colab button of a Chinese page opens: translated, no outputs.

    The Colab set-up cell (the first code cell, written by ``seqlib.nbsetup``) also sets
    ``SEQLIB_LANG``, so the exercise checkers and widgets speak Chinese.
    """
    nb = translate_page(page, read_catalog(page.stem))
    setup = next(cell for cell in nb.cells if cell.cell_type == "code")
    setup.source = LANGUAGE_LINE + setup.source
    return nb


def write_notebooks(check: bool = False) -> list[Path]:
    """Write ``locale/zh_CN/book/<chapter>.ipynb`` for every chapter notebook.

    Args:
        check: only compare; write nothing.

    Returns:
        The notebooks that were (or, with ``check``, would be) rewritten.
    """
    changed = []
    for page in pages():
        if page.suffix != ".ipynb":
            continue
        text = nbformat.writes(colab_notebook(page), version=4) + "\n"
        target = NOTEBOOKS / page.name
        if not target.is_file() or target.read_text() != text:
            changed.append(target)
            if not check:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text)
    return changed


# ---------------------------------------------------------------------------------------------
# The Chinese build


def site_text() -> dict[str, dict[str, str]]:
    """English -> Chinese for the words outside the pages' prose.

    Returns:
        ``{"config": {...}, "prompts": {...}}``: the title and author of ``_config.yml``, and the
        labels of folded code cells.
    """
    return yaml.safe_load(SITE_TEXT.read_text())


def _zh(text: str, table: dict[str, str]) -> str:
    if text not in table:
        raise TranslationError(f"{SITE_TEXT.relative_to(ROOT)} has no Chinese for {text!r}; add it")
    return table[text]


def figure_table() -> dict[str, str]:
    """English -> Chinese for every figure word of the English build (see :func:`figure_texts`).

    Raises:
        TranslationError: the figures catalog is incomplete, or a figure has words it lacks.
    """
    catalog = read_catalog(FIGURES)
    bad = problems(FIGURES, catalog, figure_template(figure_texts()))
    if bad:
        raise TranslationError("the figures' words are not all translated (run `python tools/i18n.py update` "
                               "after the English build, then translate):\n" + "\n".join(bad[:20]))
    return {m.id: m.string for m in catalog if m.id}


def translate_viewers(nb: nbformat.NotebookNode, table: dict[str, str]) -> None:
    """Put the Chinese titles and parameter names into the kernel-free viewers' HTML (in place).

    Args:
        nb: an executed notebook.
        table: from :func:`figure_table`.
    """
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            text = output.get("data", {}).get("text/html")
            if not text or "seqlib-viewer" not in text:
                continue
            text = "".join(text) if isinstance(text, list) else text
            for title, param in VIEWER.findall(text):
                zh_title = html.escape(table[html.unescape(title)])
                zh_param = html.escape(table[html.unescape(param)])
                for old, new in [(f'data-title="{title}"', f'data-title="{zh_title}"'),
                                 (f'data-param="{param}"', f'data-param="{zh_param}"'),
                                 (f'font-weight:bold">{title}</div>', f'font-weight:bold">{zh_title}</div>'),
                                 (f"<span>{param} = ", f"<span>{zh_param} = "),
                                 (f'aria-label="{param}"', f'aria-label="{zh_param}"'),
                                 (f'alt="{title}: {param} = ', f'alt="{zh_title}: {zh_param} = ')]:
                    if old not in text:
                        raise TranslationError(f"the viewer {html.unescape(title)!r} no longer has {old!r}: "
                                               f"seqlib.viz.viewer changed; update translate_viewers")
                    text = text.replace(old, new)
            output["data"]["text/html"] = text


def drop_merged_streams(nb: nbformat.NotebookNode) -> None:
    """Undo the half of myst-nb's stream merging that its executed notebooks keep.

    With ``nb_merge_streams`` (``_config.yml``), myst-nb appends every later ``stdout``/``stderr``
    output of a cell to the first one, in place, and the notebook it saves keeps the later ones
    too; built again, their text would show twice. Each cell keeps the first output per stream.

    Args:
        nb: an executed notebook from ``_build/jupyter_execute``, edited in place.
    """
    for cell in nb.cells:
        seen: set[str] = set()
        kept = []
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                if output.name in seen:
                    continue
                seen.add(output.name)
            kept.append(output)
        if "outputs" in cell:
            cell.outputs = kept


def glue_cell(executed: Path) -> nbformat.NotebookNode:
    """A hidden, empty code cell that carries an executed notebook's glued values.

    myst-nb moves the values that ``glue`` recorded out of the executed notebook into
    ``<name>.glue.json`` beside it; a build that does not execute finds them only in outputs.

    Args:
        executed: ``_build/jupyter_execute/book/<name>.ipynb``.

    Returns:
        A code cell tagged ``remove-cell`` whose outputs are the glue records.
    """
    path = executed.with_name(f"{executed.stem}.glue.json")
    records = json.loads(path.read_text()) if path.is_file() else {}
    cell = nbformat.v4.new_code_cell("", metadata={"tags": ["remove-cell"]})
    cell.id = "seqbook-glue"
    for output in records.values():
        prefix = output["metadata"]["scrapbook"].get("mime_prefix", "")
        output["data"] = {prefix + mime: value for mime, value in output["data"].items()}
        cell.outputs.append(nbformat.from_dict(output))
    return cell


def stage() -> Path:
    """Write the Chinese edition's sources into ``_build/zh_source``.

    The pages are the English build's executed notebooks with their prose translated; the
    configuration is ``_config.yml`` with the language, the title and the Colab path changed and
    execution switched off.

    Returns:
        The staged folder.

    Raises:
        TranslationError: the English build has not run, or a catalog is incomplete.
    """
    table = site_text()
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    merged = config["sphinx"]["config"].get("nb_merge_streams", False)
    figures = figure_table()
    if ZH_SOURCE.exists():
        shutil.rmtree(ZH_SOURCE)
    (ZH_SOURCE / "book").mkdir(parents=True)
    for page in pages():
        source = page
        if page.suffix == ".ipynb":
            source = EXECUTED / page.name
            if not source.is_file():
                raise TranslationError(f"{source.relative_to(ROOT)} is missing: build the English "
                                       f"edition first (make book)")
        translated = translate_page(source, read_catalog(page.stem))
        target = ZH_SOURCE / "book" / page.name
        if isinstance(translated, str):
            target.write_text(translated)
        else:
            if merged:
                drop_merged_streams(translated)
            translate_viewers(translated, figures)
            translated.cells.append(glue_cell(source))
            nbformat.write(translated, target)
    shutil.copy(ROOT / "book" / "references.bib", ZH_SOURCE / "book" / "references.bib")
    shutil.copytree(ROOT / "_static", ZH_SOURCE / "_static")

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    root_catalog = read_catalog(pages()[0].stem)
    for part in toc["parts"]:
        part["caption"] = root_catalog[part["caption"]].string
    (ZH_SOURCE / "_toc.yml").write_text(yaml.safe_dump(toc, allow_unicode=True, sort_keys=False))

    config["title"] = _zh(config["title"], table["config"])
    config["author"] = _zh(config["author"], table["config"])
    config["execute"]["execute_notebooks"] = "off"
    config["repository"]["path_to_book"] = str(LOCALE.relative_to(ROOT))
    config["sphinx"]["local_extensions"] = {
        name: str(ROOT / path) for name, path in config["sphinx"]["local_extensions"].items()}
    config["sphinx"]["config"]["language"] = LANGUAGE
    # tools/html_fixes.py translates the images' descriptions (alt text) through this table.
    config["sphinx"]["config"]["seqbook_figure_text"] = figures
    (ZH_SOURCE / "_config.yml").write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False))
    return ZH_SOURCE


def build(strict: bool = True) -> Path:
    """Build the Chinese edition into ``_build/html/zh_CN`` (nothing is executed).

    Args:
        strict: treat warnings as errors, as the English build does.

    Returns:
        The Chinese edition's HTML folder.

    Raises:
        TranslationError: the build failed; its log is in the message.
    """
    source = stage()
    if ZH_OUTPUT.exists():
        shutil.rmtree(ZH_OUTPUT)
    command = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(source),
               "--path-output", str(ZH_OUTPUT), "--keep-going"]
    if strict:
        command += ["-W", "-n"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    log = done.stdout + done.stderr
    (ROOT / "_build").mkdir(exist_ok=True)
    (ROOT / "_build" / "zh-build.log").write_text(log)
    if done.returncode != 0:
        raise TranslationError(f"the Chinese build failed (log: _build/zh-build.log):\n{log[-4000:]}")
    target = HTML / LANGUAGE
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(ZH_OUTPUT / "_build" / "html", target)
    return target


# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """``python tools/i18n.py update|check|notebooks|build``; see the module docstring."""
    parser = argparse.ArgumentParser(prog="python tools/i18n.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["update", "check", "notebooks", "build", "dump", "load"])
    parser.add_argument("--check", action="store_true", help="notebooks: only compare, write nothing")
    parser.add_argument("--page", help="check/dump/load: one page's catalog, e.g. 02_din")
    parser.add_argument("--file", type=Path, help="dump/load: a JSON list of {id, string, fuzzy}; set "
                                                  "fuzzy to false once a changed message is re-translated")
    parser.add_argument("--prune", action="store_true",
                        help="update: drop figure words the last English build did not draw (build with "
                             "the optional Taobao file first)")
    args = parser.parse_args(argv)
    try:
        if args.command in ("dump", "load"):
            if not args.page or not args.file:
                parser.error(f"{args.command} needs --page and --file")
            catalog = read_catalog(args.page)
            if args.command == "dump":
                entries = [{"id": m.id, "string": m.string, "fuzzy": m.fuzzy} for m in catalog if m.id]
                args.file.write_text(json.dumps(entries, ensure_ascii=False, indent=1) + "\n")
            else:
                try:
                    entries = json.loads(args.file.read_text())
                    pairs = [(entry["id"], entry["string"], bool(entry.get("fuzzy", False))) for entry in entries]
                except (OSError, ValueError, TypeError, KeyError) as error:
                    raise TranslationError(f"--file {args.file}: not a JSON list of {{id, string, fuzzy}} as "
                                           f"`dump` writes ({type(error).__name__}: {error})") from error
                for message_id, string, fuzzy in pairs:
                    if message_id not in catalog:
                        raise TranslationError(f"{args.page}: no such message: {short(message_id)}")
                    message = catalog[message_id]
                    message.string = string
                    # A fuzzy entry stays fuzzy until its JSON says "fuzzy": false (reviewed).
                    if fuzzy:
                        message.flags.add("fuzzy")
                    else:
                        message.flags.discard("fuzzy")
                save_catalog(catalog, catalog_path(args.page))
            print(f"{args.page}: {dict(status(catalog))}")
        elif args.command == "check" and args.page:
            found = problems(args.page, read_catalog(args.page))
            print("\n".join(found) if found else f"{args.page}: complete")
            return 1 if found else 0
        elif args.command == "update":
            with tempfile.TemporaryDirectory() as out:
                templates = extract(Path(out))
            try:
                texts = figure_texts()
            except TranslationError as error:
                print(f"{FIGURES}: not updated ({error})")
            else:
                # A build without the optional Taobao file draws fewer figures: their words stay
                # in the catalog unless --prune says the build has every figure.
                kept = [] if args.prune or not catalog_path(FIGURES).is_file() else [
                    m.id for m in read_catalog(FIGURES) if m.id]
                templates[FIGURES] = figure_template(texts + [t for t in kept if t not in texts])
            summary = update(templates)
            for name, counts in summary.items():
                print(f"{name}: {counts['translated']} translated, {counts['fuzzy']} fuzzy, "
                      f"{counts['untranslated']} untranslated")
        elif args.command == "check":
            with tempfile.TemporaryDirectory() as out:
                templates = extract(Path(out))
            try:
                templates[FIGURES] = figure_template(figure_texts())
            except TranslationError as error:
                print(f"{FIGURES}: only its own entries checked ({error})")
                found = problems(FIGURES, read_catalog(FIGURES))
            else:
                found = []
            found += [line for name, template in templates.items()
                      for line in problems(name, read_catalog(name), template)]
            print("\n".join(found) if found else f"all {len(templates)} catalogs complete")
            return 1 if found else 0
        elif args.command == "notebooks":
            changed = write_notebooks(check=args.check)
            verb = "differ" if args.check else "rewritten"
            print(f"{len(changed)} notebook(s) {verb}: " + ", ".join(p.name for p in changed))
            return 1 if args.check and changed else 0
        else:
            print(f"The Chinese edition is at file://{build() / 'index.html'}")
    except TranslationError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
