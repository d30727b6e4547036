"""The Chinese edition: catalogs complete and current, notebooks in sync, both editions built and linked.

``tools/i18n.py`` splits the English pages into messages (Sphinx's gettext builder), keeps their
Chinese in ``locale/zh_CN/LC_MESSAGES/book/*.po``, writes the Chinese Colab notebooks and builds the
Chinese edition from the English build's executed notebooks.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from babel.messages.catalog import Catalog
from bs4 import BeautifulSoup

from seqlib.nbsetup import book_repository
from tooling import load_tool

ROOT = Path(__file__).resolve().parents[1]
CJK = re.compile(r"[\u3400-\u9fff]")


i18n = load_tool("i18n")
language_switch = load_tool("language_switch")


def catalog(*pairs: tuple[str, str], fuzzy: tuple[str, ...] = ()) -> Catalog:
    cat = Catalog(locale="zh_CN")
    for english, chinese in pairs:
        cat.add(english, chinese, flags=("fuzzy",) if english in fuzzy else ())
    return cat


# --- Applying a catalog to Markdown ----------------------------------------------------------------


def test_messages_are_replaced_whole_wherever_the_source_breaks_its_lines() -> None:
    source = (
        "## Local activation\n\n"
        "The unit scores each behaviour\nagainst the candidate.\n\n"
        "- **sum**: one vector for\n  every candidate;\n"
        "> A quoted sentence that\n> spans two lines.\n\n"
        "| term | Chinese |\n|---|---|\n| mask | 掩码 |\n"
    )
    cat = catalog(("Local activation", "局部激活"),
                  ("The unit scores each behaviour against the candidate.", "该单元为每个行为相对候选物品打分。"),
                  ("**sum**: one vector for every candidate;", "**求和**：所有候选物品共用一个向量；"),
                  ("A quoted sentence that spans two lines.", "一句跨两行的引文。"),
                  ("term", "术语"), ("Chinese", "中文"), ("mask", "mask"), ("掩码", "掩码"))
    out = i18n.translate_blocks([source], cat, "page")[0]
    assert out == (
        "## 局部激活\n\n"
        "该单元为每个行为相对候选物品打分。\n\n"
        "- **求和**：所有候选物品共用一个向量；\n"
        "> 一句跨两行的引文。\n\n"
        "| 术语 | 中文 |\n|---|---|\n| mask | 掩码 |\n"
    )


def test_a_short_message_never_replaces_part_of_a_longer_one() -> None:
    cat = catalog(("Dice", "Dice"), ("Dice moves the switch point.", "Dice 移动了开关点。"), ("Summary", "小结"))
    out = i18n.translate_blocks(["# Summary\n\nDice moves the switch point.\n\n## Dice\n"], cat, "page")[0]
    assert out == "# 小结\n\nDice 移动了开关点。\n\n## Dice\n"


def test_a_message_missing_from_the_source_is_an_error() -> None:
    cat = catalog(("A sentence the page no longer has.", "页面里已经没有的句子。"))
    with pytest.raises(i18n.TranslationError, match="not found in the source.*update"):
        i18n.translate_blocks(["Another sentence.\n"], cat, "page")


def test_untranslated_or_fuzzy_messages_stop_the_translation() -> None:
    with pytest.raises(i18n.TranslationError, match="untranslated: Two"):
        i18n.translate_blocks(["One.\n\nTwo.\n"], catalog(("One.", "一。"), ("Two.", "")), "page")
    with pytest.raises(i18n.TranslationError, match="fuzzy"):
        i18n.translate_blocks(["One.\n"], catalog(("One.", "一。"), fuzzy=("One.",)), "page")


def test_markup_must_survive_translation() -> None:
    english = "DIN reaches {glue:text}`din_auc` (see {doc}`02_din`, `fit(model)` and $a_t$, [paper](x.pdf))."
    good = "DIN 达到 {glue:text}`din_auc`（见 {doc}`第 2 章 <02_din>`、`fit(model)`、$a_t$ 与[论文](x.pdf)）。"
    assert i18n.markup(english) == i18n.markup(good)
    assert not i18n.problems("page", catalog((english, good)))
    dropped = "DIN 达到 0.75（见 {doc}`02_din`、`fit(model)`、$a_t$ 与[论文](x.pdf)）。"
    (problem,) = i18n.problems("page", catalog((english, dropped)))
    assert "markup differs" in problem and "din_auc" in problem


def test_a_changed_english_sentence_turns_fuzzy_not_stale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(i18n, "CATALOGS", tmp_path)
    old = Catalog(locale="zh_CN")
    old.add("The base model sums the history.", "基础模型对历史行为求和。")
    old.add("Unchanged sentence.", "不变的句子。")
    i18n.save_catalog(old, i18n.catalog_path("page"))
    template = Catalog()
    template.add("The base model sums the whole history.")
    template.add("Unchanged sentence.")
    template.add("A new sentence.")
    counts = i18n.update({"page": template})["page"]
    # A new sentence arrives empty, or fuzzy when gettext finds an old one close to it.
    assert counts["translated"] == 1 and counts["fuzzy"] + counts["untranslated"] == 2
    found = i18n.problems("page", i18n.read_catalog("page"), template)
    assert any("fuzzy" in line and "whole history" in line for line in found)
    assert any("A new sentence." in line for line in found)
    with pytest.raises(i18n.TranslationError):
        i18n.translate_blocks(["The base model sums the whole history.\n\nUnchanged sentence.\n\nA new sentence.\n"],
                              i18n.read_catalog("page"), "page")


# --- The book's catalogs and Chinese notebooks --------------------------------------------------


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Catalog]:
    """A fresh extraction of the English pages' messages."""
    return i18n.extract(tmp_path_factory.mktemp("gettext"))


def test_catalogs_are_complete_and_current(templates: dict[str, Catalog]) -> None:
    """0 untranslated and 0 fuzzy messages, every message of every page in its catalog, markup kept."""
    assert set(templates) == {page.stem for page in i18n.pages()}
    found = [line for name, template in templates.items()
             for line in i18n.problems(name, i18n.read_catalog(name), template)]
    assert not found, ("the Chinese catalogs are behind the English pages (run `python tools/i18n.py update`, "
                       "translate, then `python tools/i18n.py notebooks`):\n" + "\n".join(found[:30]))
    stale = [(name, m.id[:60]) for name, template in templates.items()
             for m in i18n.read_catalog(name) if m.id and m.id not in template]
    assert not stale, f"catalog entries the pages no longer have (run update): {stale[:10]}"


def test_chinese_notebooks_are_in_sync_with_the_catalogs() -> None:
    stale = i18n.write_notebooks(check=True)
    assert not stale, (f"{[p.name for p in stale]} differ from what the catalogs give: "
                       "run `python tools/i18n.py notebooks`")


@pytest.mark.parametrize("page", [p for p in i18n.pages() if p.suffix == ".ipynb"], ids=lambda p: p.stem)
def test_chinese_notebooks_share_every_code_cell(page: Path) -> None:
    english = nbformat.read(page, as_version=4)
    chinese = nbformat.read(i18n.NOTEBOOKS / page.name, as_version=4)
    assert [c.cell_type for c in chinese.cells] == [c.cell_type for c in english.cells]
    code = [(e.source, z.source) for e, z in zip(english.cells, chinese.cells) if e.cell_type == "code"]
    (setup_en, setup_zh), *rest = code
    assert setup_zh == i18n.LANGUAGE_LINE + setup_en, "the set-up cell only gains the language line"
    assert all(e == z for e, z in rest), "a code cell of the Chinese notebook differs from the English one"
    assert all(not c.get("outputs") for c in chinese.cells if c.cell_type == "code"), "outputs committed"
    prose = [z.source for e, z in zip(english.cells, chinese.cells) if e.cell_type == "markdown"]
    assert sum(bool(CJK.search(text)) for text in prose) >= 0.9 * len(prose)


def test_glossary_maps_the_seed_chapter_terms() -> None:
    glossary = (ROOT / "book" / "glossary.md").read_text()
    for term in ["局部激活单元", "兴趣抽取层", "辅助损失", "兴趣演化层", "兴趣漂移", "会话划分层", "会话兴趣提取层",
                 "会话兴趣交互层", "会话兴趣激活层"]:
        assert re.search(rf"^\| [^|]+ \| {term} \| \{{doc\}}`\w+`", glossary, re.MULTILINE), term


@pytest.mark.parametrize("language,page,expected", [
    ("en", "book/02_din", "../zh_CN/book/02_din.html"),
    (None, "search", "zh_CN/search.html"),
    ("zh_CN", "book/02_din", "../../book/02_din.html"),
    ("zh_CN", "genindex", "../genindex.html"),
])
def test_language_switch_targets(language: str | None, page: str, expected: str) -> None:
    assert language_switch.other_edition(language, page)["href"] == expected


# --- Both editions, built ---------------------------------------------------------------------------

PAGES = [p.stem for p in i18n.pages()]


def article(path: Path) -> BeautifulSoup:
    soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    return soup.select_one("article.bd-article")


def prose_blocks(root: BeautifulSoup) -> list[str]:
    """The text of each paragraph, heading, list item and table cell, without code, math, numbers
    or the bibliography's entries (authors and titles stay as published)."""
    for skip in root.select("div.cell_input, div.cell_output, pre, code, .math, span.pasted-text, "
                            "span.bibtex-citation, a.headerlink, div.citation-list"):
        skip.decompose()
    blocks = []
    for element in root.select("p, h1, h2, h3, h4, li, th, td, figcaption"):
        # A table cell counts with its row: the glossary's English-term column stays English.
        whole = element.find_parent("tr") or element
        text = " ".join(whole.get_text(" ").split())
        if text:
            blocks.append(text)
    return blocks


def test_chinese_edition_builds_warning_free(built_zh_book: Path) -> None:
    for name in PAGES:
        assert (built_zh_book / "book" / f"{name}.html").is_file(), name


@pytest.mark.parametrize("name", PAGES)
def test_no_untranslated_paragraph_in_the_chinese_edition(name: str, built_zh_book: Path) -> None:
    blocks = prose_blocks(article(built_zh_book / "book" / f"{name}.html"))
    english = [b for b in blocks if not CJK.search(b) and len(re.findall(r"[A-Za-z]{3,}", b)) >= 4]
    assert not english, f"{name}: English prose in the Chinese edition: {english[:5]}"
    assert sum(bool(CJK.search(b)) for b in blocks) >= 5


@pytest.mark.parametrize("name", PAGES)
def test_both_editions_show_the_same_numbers_and_outputs(name: str, built_book: Path, built_zh_book: Path) -> None:
    en, zh = (article(root / "book" / f"{name}.html") for root in (built_book, built_zh_book))
    pasted = [sorted(s.get_text() for s in doc.select("span.pasted-text")) for doc in (en, zh)]
    assert pasted[0] == pasted[1], f"{name}: glued numbers differ between the editions"
    for doc in (en, zh):  # the viewers' titles and parameter names are translated
        for viewer in doc.select("div.seqlib-viewer"):
            viewer.decompose()
    outputs = [[o.get_text() for o in doc.select("div.cell_output")] for doc in (en, zh)]
    assert outputs[0] == outputs[1], f"{name}: cell outputs differ between the editions"


def test_figure_words_are_translated(built_zh_book: Path) -> None:
    """Every image description (alt text) and viewer title of the Chinese edition is Chinese."""
    i18n.figure_table()  # raises when a figure of the English build has words the catalog lacks
    for name in PAGES:
        soup = article(built_zh_book / "book" / f"{name}.html")
        alts = [img.get("alt", "") for img in soup.select("img")]
        english = [alt for alt in alts if not CJK.search(alt)]
        assert not english, f"{name}: images described in English only: {english}"
        for viewer in soup.select("div.seqlib-viewer"):
            assert CJK.search(viewer["data-title"]) and CJK.search(viewer.select_one(".seqlib-viewer-title").get_text())


@pytest.mark.parametrize("name", PAGES)
def test_language_switch_leads_to_the_same_page(name: str, built_book: Path, built_zh_book: Path) -> None:
    for html, other in [(built_book, built_zh_book), (built_zh_book, built_book)]:
        page = html / "book" / f"{name}.html"
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        (link,) = soup.select("a.seqbook-language-switch")
        target = (page.parent / link["href"]).resolve()
        assert target == (other / "book" / f"{name}.html").resolve(), f"{name}: switch leads to {target}"
        assert target.is_file()


@pytest.mark.parametrize("name", [p.stem for p in i18n.pages() if p.suffix == ".ipynb"])
def test_colab_button_of_a_chinese_page_opens_the_chinese_notebook(name: str, built_zh_book: Path) -> None:
    soup = BeautifulSoup((built_zh_book / "book" / f"{name}.html").read_text(encoding="utf-8"), "html.parser")
    links = [a["href"] for a in soup.select('a[href*="colab.research.google.com"]')]
    url, branch = book_repository(ROOT / "_config.yml")
    repo = url.rstrip("/").removesuffix(".git").removeprefix("https://github.com/")
    path = f"locale/zh_CN/book/{name}.ipynb"
    assert links == [f"https://colab.research.google.com/github/{repo}/blob/{branch}/{path}"]
    assert (ROOT / path).is_file()


def test_chinese_pages_declare_their_language(built_zh_book: Path) -> None:
    html = (built_zh_book / "book" / "intro.html").read_text(encoding="utf-8")
    assert re.search(r'<html[^>]* lang="zh-CN"', html)


@pytest.mark.parametrize("edition", ["en", "zh"])
def test_glossary_names_sections_that_exist(edition: str, built_book: Path, request: pytest.FixtureRequest) -> None:
    """Each glossary row's quoted section name starts a heading of the chapter it links to."""
    html = request.getfixturevalue("built_zh_book") if edition == "zh" else built_book
    rows = article(html / "book" / "glossary.html").select("tbody tr")
    checked = 0
    for row in rows:
        cell = row.select("td")[-1]
        quoted = re.search(r"[“\"](.+?)[”\"]", cell.get_text())
        if not quoted:
            continue
        page = html / "book" / cell.select_one("a")["href"].split("#")[0]
        headings = [" ".join(h.get_text().replace("#", "").split()) for h in article(page).select("h2, h3")]
        assert any(h.startswith(quoted.group(1)) for h in headings), f"{edition}: no section {quoted.group(1)!r} in {page.name}"
        checked += 1
    assert checked >= 15


def test_a_chinese_notebook_gives_its_exercise_hints_in_chinese() -> None:
    """The Chinese Colab notebook's set-up cell switches seqlib's checkers to Chinese."""
    from nbclient import NotebookClient

    nb = nbformat.read(i18n.NOTEBOOKS / "01_behavior_sequences.ipynb", as_version=4)
    setup = next(cell for cell in nb.cells if cell.cell_type == "code")
    stub = next(cell for cell in nb.cells if "exercise-stub" in cell.metadata.get("tags", []))
    nb.cells = [setup, stub]
    NotebookClient(nb, timeout=300, allow_errors=True, kernel_name="python3", resources={
        "metadata": {"path": str(ROOT)}}).execute()
    printed = "".join(output.get("text", "") for output in stub.outputs)
    assert printed.startswith("✗") and CJK.search(printed), printed


def test_load_keeps_a_changed_message_fuzzy_until_it_is_reviewed(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(i18n, "CATALOGS", tmp_path)
    i18n.save_catalog(catalog(("Changed sentence.", "旧译文。"), ("Other.", "其他。"), fuzzy=("Changed sentence.",)),
                      i18n.catalog_path("page"))
    dumped = tmp_path / "page.json"
    assert i18n.main(["dump", "--page", "page", "--file", str(dumped)]) == 0
    entries = json.loads(dumped.read_text())
    assert [e["fuzzy"] for e in entries] == [True, False]
    assert i18n.main(["load", "--page", "page", "--file", str(dumped)]) == 0  # loaded back untouched
    assert i18n.read_catalog("page")["Changed sentence."].fuzzy
    entries[0].update(string="新译文。", fuzzy=False)
    dumped.write_text(json.dumps(entries, ensure_ascii=False))
    assert i18n.main(["load", "--page", "page", "--file", str(dumped)]) == 0
    assert not i18n.problems("page", i18n.read_catalog("page"))


def test_the_chinese_search_index_holds_chinese_words(built_zh_book: Path) -> None:
    """Sphinx segments Chinese with jieba (requirements.txt); without it the index holds no Chinese word."""
    text = (built_zh_book / "searchindex.js").read_text(encoding="utf-8")
    terms = json.loads(text[text.index("(") + 1:text.rindex(")")])["terms"]  # Search.setIndex({...})
    missing = [word for word in ["注意力", "会话", "兴趣", "辅助", "填充"] if word not in terms]
    assert not missing, f"Chinese words missing from the search index: {missing}"


def test_load_names_a_file_that_is_not_what_dump_writes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(i18n, "CATALOGS", tmp_path)
    i18n.save_catalog(catalog(("One.", "一。")), i18n.catalog_path("page"))
    for text in ["{not json", '[{"string": "x"}]', '"a string"']:
        bad = tmp_path / "bad.json"
        bad.write_text(text)
        assert i18n.main(["load", "--page", "page", "--file", str(bad)]) == 1
        assert f"--file {bad}: not a JSON list of {{id, string, fuzzy}}" in capsys.readouterr().err
    assert not i18n.problems("page", i18n.read_catalog("page"))  # the catalog was left as it was
