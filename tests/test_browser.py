"""Browser tests of the built book: served on 127.0.0.1 and driven by headless Chromium.

The browser is kept offline: every request to a host other than 127.0.0.1 is recorded and
aborted, so a page that needs the network to show its figures, typeset its equations (MathJax
is served from the book's own _static/mathjax) or run its sliders fails here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import nbformat
import pytest

from seqlib.data.optional import taobao_available
from seqlib.nbsetup import book_repository

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parents[1]

# Per page: the fewest images expected in the article and the number of kernel-free viewers.
# Chapter 1 draws one Taobao shopper's timeline only when the Taobao file is there.
PAGES: dict[str, dict[str, int]] = {
    "intro": {"min_figures": 0, "viewers": 0},
    "01_behavior_sequences": {"min_figures": 5 + taobao_available(), "viewers": 1},
    "02_din": {"min_figures": 6, "viewers": 1},
    "03_dien": {"min_figures": 4, "viewers": 1},
    "04_dsin": {"min_figures": 6, "viewers": 1},
    "05_comparison": {"min_figures": 4, "viewers": 0},
    "glossary": {"min_figures": 0, "viewers": 0},
}
# The architecture figures at the top of each model chapter (seqlib.viz.architecture), found by their
# alt text, which the build takes from the figure's title.
ARCHITECTURE: dict[str, list[str]] = {
    "01_behavior_sequences": ["Base model architecture"],
    "02_din": ["DIN architecture"],
    "03_dien": ["DIEN architecture"],
    "04_dsin": ["DSIN sessions", "DSIN architecture"],
}
# The two editions: English at the root of _build/html, Chinese in _build/html/zh_CN (tools/i18n.py).
EDITIONS = {"en": "", "zh": "zh_CN/"}
# The label of a folded solution in each edition (the Chinese one from locale/zh_CN/site.yml).
SHOW_SOLUTION = {"en": "Show solution", "zh": "显示参考答案"}
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
ARTICLE = "article.bd-article"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# Code cells and their printed outputs; none may be wider than its box.
CODE_AND_TEXT = f"{ARTICLE} div.cell_input pre, {ARTICLE} div.cell_output pre"
OUTPUTS = f"{ARTICLE} div.cell_output > .output"
OVERFLOWING = """els => els.filter(el => el.scrollWidth > el.clientWidth + 1)
    .map(el => `${el.scrollWidth}px in ${el.clientWidth}px: ${el.innerText.trim().split('\\n')[0].slice(0, 80)}`)"""


def colab_url(name: str, edition: str = "en") -> str:
    """The launch button's target for a chapter, from ``_config.yml``'s repository.

    A Chinese page opens the Chinese notebook, ``locale/zh_CN/book/<name>.ipynb``.
    """
    url, branch = book_repository(ROOT / "_config.yml")
    repo = url.rstrip("/").removesuffix(".git").removeprefix("https://github.com/")
    folder = "book" if edition == "en" else "locale/zh_CN/book"
    return f"https://colab.research.google.com/github/{repo}/blob/{branch}/{folder}/{name}.ipynb"


def n_solutions(name: str) -> int:
    """How many exercise solutions a page's notebook holds (0 for the Markdown intro)."""
    path = ROOT / "book" / f"{name}.ipynb"
    if not path.is_file():
        return 0
    nb = nbformat.read(path, as_version=4)
    return sum("exercise-solution" in cell.metadata.get("tags", []) for cell in nb.cells)


class PageVisit:
    """A loaded page plus the remote requests it tried and the script errors it raised.

    Attributes:
        page: the ``playwright.sync_api.Page``.
        remote: ``(resource type, URL)`` of every aborted request to a non-local host.
        errors: uncaught JavaScript exceptions.
        console: messages the page logged as console errors.
    """

    def __init__(self, page: object, edition: str = "en") -> None:
        """Args:
        page: a fresh Playwright page.
        edition: "en" or "zh".
        """
        self.page = page
        self.edition = edition
        self.remote: list[tuple[str, str]] = []
        self.errors: list[str] = []
        self.console: list[str] = []


def open_page(browser: object, book_server: str, name: str, viewport: dict[str, int],
              edition: str = "en") -> tuple[object, PageVisit]:
    """Open one book page offline at a viewport size and wait until it and its images have loaded.

    Args:
        browser: the Chromium fixture.
        book_server: base URL of the served book.
        name: the page, e.g. ``02_din``.
        viewport: width and height in CSS pixels.
        edition: "en" or "zh" (the Chinese edition).

    Returns:
        The browser context (close it when done) and the visit.
    """
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    seen = PageVisit(page, edition)

    def route(route: object) -> None:
        url = route.request.url
        if urlparse(url).hostname in LOCAL_HOSTS or url.startswith("data:"):
            route.continue_()
        else:
            seen.remote.append((route.request.resource_type, url))
            route.abort()

    def console(message: object) -> None:
        # An aborted remote request is reported by test_works_offline, not as a console error.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            seen.console.append(message.text)

    page.route("**/*", route)
    page.on("pageerror", lambda error: seen.errors.append(str(error)))
    page.on("console", console)
    page.goto(f"{book_server}/{EDITIONS[edition]}book/{name}.html", wait_until="load")
    page.wait_for_function("Array.from(document.images).every(img => img.complete)")
    return context, seen


@pytest.fixture(params=[(edition, name) for edition in EDITIONS for name in PAGES],
                ids=lambda param: f"{param[0]}-{param[1]}")
def visit(request: pytest.FixtureRequest, built_book: Path, browser: object,
          book_server: str) -> Iterator[tuple[str, PageVisit]]:
    """Open one page of either edition offline and wait until it and its images have loaded.

    Args:
        request: carries the edition and the page name.
        built_book: the built book (requested first: a failed build is reported there, once).
        browser: the Chromium fixture.
        book_server: base URL of the served book.

    Yields:
        The page name and the visit.
    """
    edition, name = request.param
    if edition == "zh":
        request.getfixturevalue("built_zh_book")
    context, seen = open_page(browser, book_server, name, DESKTOP, edition)
    try:
        yield name, seen
    finally:
        context.close()


def test_title_and_no_script_errors(visit: tuple[str, PageVisit]) -> None:
    name, seen = visit
    heading = seen.page.locator(f"{ARTICLE} h1").first.inner_text().strip()
    assert heading, f"{name}: no h1 heading"
    assert heading.rstrip("#").strip() in seen.page.title(), f"{name}: <title> does not name the page"
    assert "seqbook" in seen.page.title()
    assert not seen.errors, f"{name}: JavaScript errors {seen.errors}"
    assert not seen.console, f"{name}: console errors {seen.console}"


def test_figures_loaded(visit: tuple[str, PageVisit]) -> None:
    name, seen = visit
    sizes = seen.page.eval_on_selector_all(
        f"{ARTICLE} img", "imgs => imgs.map(img => [img.currentSrc.slice(0, 60), img.naturalWidth])"
    )
    broken = [src for src, width in sizes if width == 0]
    assert not broken, f"{name}: images that did not load: {broken}"
    assert len(sizes) >= PAGES[name]["min_figures"], f"{name}: {len(sizes)} images, expected >= {PAGES[name]['min_figures']}"


def test_no_empty_outputs(visit: tuple[str, PageVisit]) -> None:
    name, seen = visit
    empty = seen.page.eval_on_selector_all(
        f"{ARTICLE} div.cell_output",
        """outs => outs.filter(o => o.innerText.trim() === ''
                && !o.querySelector('img, svg, canvas, table, iframe, video'))
              .map(o => o.outerHTML.slice(0, 200))""",
    )
    assert not empty, f"{name}: empty output areas (a widget without a kernel?): {empty}"


def test_viewers_change_picture(visit: tuple[str, PageVisit]) -> None:
    name, seen = visit
    viewers = seen.page.locator(f"{ARTICLE} .seqlib-viewer")
    assert viewers.count() >= PAGES[name]["viewers"], f"{name}: {viewers.count()} viewers"
    for i in range(viewers.count()):
        viewer = viewers.nth(i)
        slider = viewer.locator("input.seqlib-viewer-range")
        image = viewer.locator("img.seqlib-viewer-image")
        n_frames = int(viewer.get_attribute("data-n-frames"))
        assert n_frames >= 2, f"{name}: viewer {i} has a single frame"
        assert slider.get_attribute("max") == str(n_frames - 1)
        start = int(slider.input_value())
        target = n_frames - 1 if start != n_frames - 1 else 0
        before = image.get_attribute("src")
        slider.evaluate(
            "(el, v) => { el.value = String(v); el.dispatchEvent(new Event('input', {bubbles: true})); }", target
        )
        after = image.get_attribute("src")
        assert after.startswith("data:image/png;base64,")
        assert after != before, f"{name}: viewer {i} kept its picture when the slider moved"
        assert viewer.get_attribute("data-current") == str(target)
        assert image.evaluate("img => img.complete && img.naturalWidth > 0")


def test_works_offline(visit: tuple[str, PageVisit]) -> None:
    name, seen = visit
    needed = [
        (kind, url)
        for kind, url in seen.remote
        if kind in ("script", "stylesheet", "font", "xhr", "fetch")
    ]
    assert not needed, f"{name}: remote resources requested: {needed}"


def test_colab_launch_link(visit: tuple[str, PageVisit]) -> None:
    name, seen = visit
    links = seen.page.locator('.dropdown-launch-buttons a[href*="colab.research.google.com"]')
    if name in ("intro", "glossary"):  # a Markdown page has no notebook to launch
        assert links.count() == 0
        return
    assert links.count() == 1, f"{name}: expected one Colab link in the launch dropdown"
    assert links.first.get_attribute("href") == colab_url(name, seen.edition)


def test_code_and_outputs_fit_the_page(visit: tuple[str, PageVisit]) -> None:
    name, seen = visit
    wide = seen.page.eval_on_selector_all(CODE_AND_TEXT, OVERFLOWING)
    wide += seen.page.eval_on_selector_all(OUTPUTS, OVERFLOWING)
    assert not wide, f"{name}: code or outputs wider than their box at 1280 px: {wide}"


@pytest.mark.parametrize("edition", list(EDITIONS))
@pytest.mark.parametrize("name", list(PAGES))
def test_phone_width_does_not_scroll_sideways(name: str, edition: str, built_book: Path, browser: object,
                                              book_server: str, request: pytest.FixtureRequest) -> None:
    if edition == "zh":
        request.getfixturevalue("built_zh_book")
    context, seen = open_page(browser, book_server, name, PHONE, edition)
    try:
        wide = seen.page.eval_on_selector_all(CODE_AND_TEXT, OVERFLOWING)
        page_width = seen.page.evaluate("document.documentElement.scrollWidth")
        errors = seen.errors + seen.console
    finally:
        context.close()
    assert not wide, f"{name}: code or printed outputs wider than their box at {PHONE['width']} px: {wide}"
    assert page_width <= PHONE["width"], f"{name}: the page is {page_width} px wide on a {PHONE['width']} px screen"
    assert not errors, f"{name}: errors at phone width: {errors}"


def test_images_have_descriptions(visit: tuple[str, PageVisit]) -> None:
    name, seen = visit
    alts = seen.page.eval_on_selector_all(f"{ARTICLE} img", "imgs => imgs.map(img => img.getAttribute('alt') || '')")
    bad = [alt for alt in alts if not alt.strip() or "/" in alt or alt.endswith(".png")]
    assert not bad, f"{name}: images whose alt text is empty or a file path: {bad}"


def test_solutions_fold_behind_show_solution(visit: tuple[str, PageVisit]) -> None:
    name, seen = visit
    expected = n_solutions(name)
    label = SHOW_SOLUTION[seen.edition]
    buttons = seen.page.locator(f"{ARTICLE} details.hide summary", has_text=label)
    assert buttons.count() == expected, f"{name}: {buttons.count()} '{label}' buttons, expected {expected}"
    generic = seen.page.locator(f"{ARTICLE} details.hide summary", has_text="Show code cell source")
    assert generic.count() == 0 or expected == 0, f"{name}: solutions behind a generic 'Show code cell source'"
    opened = seen.page.eval_on_selector_all(f"{ARTICLE} details.hide", "ds => ds.filter(d => d.open).length")
    assert opened == 0, f"{name}: {opened} folded cells start open"


def test_equation_numbers_do_not_overlap(visit: tuple[str, PageVisit]) -> None:
    name, seen = visit
    if seen.page.locator(f"{ARTICLE} div.math span.eqno").count() == 0:
        return
    seen.page.wait_for_function(
        f"Array.from(document.querySelectorAll('{ARTICLE} div.math')).every(d => d.querySelector('mjx-container'))",
        timeout=20_000,
    )
    overlaps = seen.page.eval_on_selector_all(
        f"{ARTICLE} div.math",
        """divs => divs.filter(d => d.querySelector('span.eqno') && d.querySelector('mjx-math')).filter(d => {
              const n = d.querySelector('span.eqno').getBoundingClientRect();
              const m = d.querySelector('mjx-math').getBoundingClientRect();
              const container = d.querySelector('mjx-container');
              const box = container.getBoundingClientRect();
              // What the reader sees of the equation: clipped to its box when that box scrolls.
              const clips = getComputedStyle(container).overflowX !== 'visible';
              const left = clips ? Math.max(m.left, box.left) : m.left;
              const right = clips ? Math.min(m.right, box.right) : m.right;
              const spills = !clips && (m.right > box.right + 1 || m.left < box.left - 1);  // toward the number
              return spills || (n.left < right && left < n.right && n.top < m.bottom && m.top < n.bottom);
          }).map(d => d.querySelector('span.eqno').innerText.trim())""",
    )
    assert not overlaps, f"{name}: equations that run under their number or out of their box: {overlaps}"


def test_equations_typeset_offline(visit: tuple[str, PageVisit]) -> None:
    name, seen = visit
    n_math = seen.page.locator(f"{ARTICLE} .math").count()
    if n_math == 0:
        return
    seen.page.wait_for_function(
        f"document.querySelectorAll('{ARTICLE} .math').length === "
        f"document.querySelectorAll('{ARTICLE} .math mjx-container').length",
        timeout=20_000,
    )


@pytest.mark.parametrize("name", list(ARCHITECTURE))
def test_architecture_figures_open_the_chapter_and_fit_a_phone(name: str, built_book: Path, browser: object,
                                                               book_server: str) -> None:
    """Each chapter opens with its architecture figures; on a phone each has loaded, is no wider than
    its box and is shrunk by at most a fifth (its text stays readable)."""
    context, seen = open_page(browser, book_server, name, PHONE)
    try:
        images = seen.page.eval_on_selector_all(
            f"{ARTICLE} img",
            """imgs => imgs.map(img => ({alt: img.getAttribute('alt') || '', natural: img.naturalWidth,
                naturalHeight: img.naturalHeight, width: img.getBoundingClientRect().width,
                box: img.parentElement.getBoundingClientRect().width}))""",
        )
    finally:
        context.close()
    titles = ARCHITECTURE[name]
    leading = [image["alt"] for image in images[: len(titles)]]
    assert all(alt.startswith(title) for alt, title in zip(leading, titles)), (
        f"{name}: the page should open with {titles}, its first images are {leading}")
    for title in titles:
        found = [image for image in images if image["alt"].startswith(title)]
        assert len(found) == 1, f"{name}: {len(found)} images titled {title!r}"
        image = found[0]
        assert image["natural"] > 0 and image["naturalHeight"] > 0, f"{name}: {title!r} did not load"
        assert image["width"] <= image["box"] + 1, (
            f"{name}: {title!r} is {image['width']} px wide in a {image['box']} px box")
        assert image["width"] >= 0.8 * image["natural"], (
            f"{name}: {title!r} is shrunk from {image['natural']} to {image['width']} px on a phone; "
            "its text gets too small")


# Draws two different Chinese characters in the font of the page's first Chinese paragraph. Without a
# font that has them both come out as the same empty box, so equal pixels mean unreadable text.
GLYPHS_DIFFER = """() => {
    const p = Array.from(document.querySelectorAll('article.bd-article p'))
        .find(el => /[\u4e00-\u9fff]/.test(el.innerText));
    if (!p) return null;
    const style = getComputedStyle(p);
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = 64;
    const g = canvas.getContext('2d');
    const draw = ch => {
        g.clearRect(0, 0, 64, 64);
        g.font = `40px ${style.fontFamily}`;
        g.fillText(ch, 4, 48);
        return Array.from(g.getImageData(0, 0, 64, 64).data).join(',');
    };
    return {differ: draw('中') !== draw('文'), inked: draw('中') !== draw(' '), family: style.fontFamily};
}"""


def test_chinese_text_renders_as_glyphs(visit: tuple[str, PageVisit]) -> None:
    name, seen = visit
    if seen.edition != "zh":
        return
    result = seen.page.evaluate(GLYPHS_DIFFER)
    assert result is not None, f"{name}: no Chinese paragraph on the Chinese page"
    assert result["differ"] and result["inked"], (
        f"{name}: Chinese characters render as empty boxes with font-family {result['family']}: install a "
        "Chinese font (Debian: apt-get install fonts-wqy-microhei; `make test` does this as root)")


def test_language_switch_round_trip(built_zh_book: Path, browser: object, book_server: str) -> None:
    """Clicking the switch on an English page opens the same page in Chinese, and back."""
    context, seen = open_page(browser, book_server, "02_din", DESKTOP)
    try:
        page = seen.page
        page.click("a.seqbook-language-switch")
        page.wait_for_load_state("load")
        assert page.url == f"{book_server}/zh_CN/book/02_din.html"
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        page.click("a.seqbook-language-switch")
        page.wait_for_load_state("load")
        assert page.url == f"{book_server}/book/02_din.html"
        errors = seen.errors + seen.console
    finally:
        context.close()
    assert not errors, f"errors while switching languages: {errors}"
