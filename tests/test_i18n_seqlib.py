"""seqlib.i18n: the checkers' hints and the widgets' labels in English or Chinese.

The catalog ``seqlib/locale/zh_CN/LC_MESSAGES/seqlib.po`` must translate every ``tr("...")`` and
``N_("...")`` literal in seqlib, keep each template's ``{fields}``, and hold nothing the code no
longer uses; with ``SEQLIB_LANG=zh_CN`` a real checker run prints Chinese, and by default English.
"""

from __future__ import annotations

import ast
import string
import warnings
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from seqlib import i18n
from seqlib.data.batch import length_mask
from seqlib.exercises import _train, check_prediction
from seqlib.exercises.basics import check_length_mask
from seqlib.i18n import CATALOG, language, set_language, tr

ROOT = Path(__file__).resolve().parents[1]
SEQLIB = ROOT / "seqlib"
KEYWORDS = ("tr", "_", "N_")


@pytest.fixture(autouse=True)
def _no_chosen_language(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts from the environment (no SEQLIB_LANG) and leaves no choice behind."""
    monkeypatch.delenv("SEQLIB_LANG", raising=False)
    set_language(None)
    yield
    set_language(None)


def code_messages() -> dict[str, list[str]]:
    """Every literal passed to ``tr``/``_``/``N_`` in seqlib, with where it is used.

    Returns:
        English template -> ``["exercises/din.py:57", ...]``.
    """
    found: dict[str, list[str]] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an f-string is reported by test_templates_are_literals
        for filename, lineno, message, _, _ in extract_from_dir(
            SEQLIB, method_map=[("**.py", "python")], keywords=dict.fromkeys(KEYWORDS)
        ):
            found.setdefault(message, []).append(f"{filename}:{lineno}")
    return found


def read_catalog():  # -> babel.messages.catalog.Catalog
    with CATALOG.open("rb") as f:
        return read_po(f, locale="zh_CN")


def fields(template: str) -> Counter:
    """The ``{fields}`` of a ``str.format`` template: (name, conversion, spec), with repeats."""
    return Counter((name, conversion, spec) for _, name, spec, conversion in string.Formatter().parse(template)
                   if name is not None)


MESSAGES = code_messages()
CATALOG_ENTRIES = [m for m in read_catalog() if m.id]


# ---------------------------------------------------------------- the catalog against the code
def test_the_code_has_messages() -> None:
    assert len(MESSAGES) > 100, sorted(MESSAGES)[:5]
    assert "✓ all {n} checks passed" in MESSAGES


def test_every_message_has_a_chinese_translation() -> None:
    entries = {m.id: m for m in CATALOG_ENTRIES}
    missing = [f"{msg!r} ({', '.join(where)})" for msg, where in MESSAGES.items()
               if msg not in entries or not entries[msg].string]
    fuzzy = [msg for msg in MESSAGES if msg in entries and entries[msg].fuzzy]
    assert not missing, f"{len(missing)} messages have no Chinese in {CATALOG.name}:\n" + "\n".join(missing)
    assert not fuzzy, f"fuzzy (stale) translations in {CATALOG.name}:\n" + "\n".join(map(repr, fuzzy))


def test_the_catalog_holds_only_messages_the_code_uses() -> None:
    unused = [m.id for m in CATALOG_ENTRIES if m.id not in MESSAGES]
    assert not unused, f"{CATALOG.name} translates messages no tr()/N_() uses any more:\n" + "\n".join(map(repr, unused))
    assert not read_catalog().obsolete, "remove the obsolete (#~) entries"
    assert len(CATALOG_ENTRIES) == len({m.id for m in CATALOG_ENTRIES})


@pytest.mark.parametrize("entry", CATALOG_ENTRIES, ids=lambda m: m.id[:60])
def test_translation_keeps_the_fields(entry) -> None:
    assert isinstance(entry.id, str) and isinstance(entry.string, str), "no plural forms in seqlib's messages"
    english, chinese = fields(entry.id), fields(entry.string)
    assert chinese == english, f"{entry.id!r}: the Chinese has fields {sorted(chinese)}, the English {sorted(english)}"


def test_templates_are_literals() -> None:
    """A template is one string literal (no f-string, no concatenation or % at run time), so that
    it can be extracted; ``tr`` of a variable is allowed where the variable holds an ``N_`` text."""
    bad = []
    for path in sorted(SEQLIB.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in KEYWORDS):
                continue
            first = node.args[0] if node.args else None
            literal = isinstance(first, ast.Constant) and isinstance(first.value, str)
            expression = isinstance(first, (ast.JoinedStr, ast.BinOp, ast.Call))
            if first is None or expression or (node.func.id == "N_" and not literal):
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not bad, "pass tr()/N_() a literal template with {fields}, not an f-string or expression: " + ", ".join(bad)


def test_every_call_fills_exactly_its_fields() -> None:
    """``tr("... {n} ...", n=...)``: the keywords are the template's fields, no more and no fewer
    (a hint in a branch no test reaches would otherwise fail only in front of a student)."""
    bad = []
    for path in sorted(SEQLIB.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "tr"):
                continue
            first = node.args[0] if node.args else None
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                continue  # tr(variable): an N_ text without fields, checked by test_translation_keeps_the_fields
            named = {name for name, _, _ in fields(first.value)}
            given = {k.arg for k in node.keywords}
            if named != given or len(node.args) != 1:
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno}: fields {sorted(named)}, keywords {sorted(given)}")
    assert not bad, "\n".join(bad)


def test_texts_translated_at_print_time_have_no_fields() -> None:
    """``N_`` texts are printed with ``tr(text)``, without fields: none may hold a ``{``."""
    bad = []
    for path in sorted(SEQLIB.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "N_":
                text = node.args[0].value
                if fields(text) or text.format() != text:
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not bad, bad


def test_the_catalog_ships_with_the_package() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    setup = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = setup["tool"]["setuptools"]["package-data"]["seqlib"]
    assert any(CATALOG in SEQLIB.glob(pattern) for pattern in patterns), patterns


def test_the_catalog_reader_agrees_with_babel() -> None:
    """seqlib reads its catalog with the standard library (Colab installs it with --no-deps);
    on the real catalog it finds exactly what Babel finds."""
    expected = {m.id: m.string for m in read_catalog() if m.id and m.string and not m.fuzzy}
    assert i18n.read_po(CATALOG.read_text(encoding="utf-8")) == expected


def test_the_catalog_reader_skips_fuzzy_and_obsolete_entries_and_names_a_bad_line() -> None:
    text = ('msgid ""\nmsgstr "Language: zh_CN\\n"\n\n#, fuzzy\nmsgid "stale"\nmsgstr "旧"\n\n'
            'msgid ""\n"two\\n"\n"lines {n}"\nmsgstr "两行\\n{n} \\"引号\\""\n\n#~ msgid "gone"\n#~ msgstr "无"\n')
    assert i18n.read_po(text) == {"two\nlines {n}": '两行\n{n} "引号"'}
    with pytest.raises(ValueError, match="line 2 is not PO syntax"):
        i18n.read_po('msgid "a"\nmsgstr: "b"\n')


# ---------------------------------------------------------------- choosing the language
def test_default_is_english() -> None:
    assert language() == "en"
    assert tr("padding") == "padding"
    assert tr("✓ all {n} checks passed", n=3) == "✓ all 3 checks passed"


@pytest.mark.parametrize("spelling", ["zh_CN", "zh", "zh-CN", "zh_cn"])
def test_chinese_spellings(spelling: str, monkeypatch: pytest.MonkeyPatch) -> None:
    set_language(spelling)
    assert language() == "zh_CN"
    set_language(None)
    monkeypatch.setenv("SEQLIB_LANG", spelling)
    assert language() == "zh_CN"
    assert tr("✓ all {n} checks passed", n=3) == "✓ 全部 3 项检查通过"


def test_the_environment_is_read_at_each_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEQLIB_LANG", "zh_CN")
    assert tr("padding") == "填充"
    monkeypatch.setenv("SEQLIB_LANG", "en")
    assert tr("padding") == "padding"
    monkeypatch.setenv("SEQLIB_LANG", "")  # empty: unset
    assert language() == "en"


def test_set_language_overrides_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEQLIB_LANG", "zh_CN")
    set_language("en")
    assert language() == "en" and tr("padding") == "padding"
    set_language(None)
    assert language() == "zh_CN"


@pytest.mark.parametrize("value", ["fr", "", "ZH", "zh_TW", "en_US", 1])
def test_set_language_refuses_other_values(value: object) -> None:
    with pytest.raises(ValueError) as info:
        set_language(value)  # type: ignore[arg-type]
    message = str(info.value)
    assert message.startswith("lang must be one of") and repr(value) in message, message
    assert "'en'" in message and "'zh_CN'" in message, message
    assert language() == "en"  # the refused value is not kept


def test_a_bad_environment_value_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEQLIB_LANG", "klingon")
    with pytest.raises(ValueError) as info:
        language()
    assert "SEQLIB_LANG" in str(info.value) and "'klingon'" in str(info.value) and "'zh_CN'" in str(info.value)


def test_untranslated_message_stays_english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEQLIB_LANG", "zh_CN")
    assert tr("a message no catalog has: {x}", x=1) == "a message no catalog has: 1"


def test_fuzzy_and_empty_entries_are_not_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    po = tmp_path / "seqlib.po"
    po.write_text('msgid ""\nmsgstr ""\n"Language: zh_CN\\n"\n\n'
                  '#, fuzzy\nmsgid "padding"\nmsgstr "旧的"\n\nmsgid "user"\nmsgstr ""\n\n'
                  'msgid "candidate"\nmsgstr "候选物品"\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "CATALOG", po)
    i18n.catalog.cache_clear()
    try:
        monkeypatch.setenv("SEQLIB_LANG", "zh_CN")
        assert (tr("padding"), tr("user"), tr("candidate")) == ("padding", "user", "候选物品")
    finally:
        i18n.catalog.cache_clear()


# ---------------------------------------------------------------- real checker runs
def not_implemented(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    raise NotImplementedError


def right_padding_reversed(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """A wrong length_mask: valid positions at the end (left padding)."""
    return length_mask(lengths, max_len).flip(-1)


@pytest.mark.parametrize("lang,stub,wrong,passed", [
    (None, "✗ check 'hand-computed mask' failed: not implemented yet\n",
     "✗ check 'hand-computed mask' failed: lengths [2, 0, 3] with max_len 3 (right padding: "
     "valid positions come first): expected [[1.0, 1.0, 0.0]", "✓ all 3 checks passed\n"),
    ("zh_CN", "✗ 检查“手算的掩码”未通过：尚未实现\n",
     "✗ 检查“手算的掩码”未通过：lengths 为 [2, 0, 3]、max_len 为 3（右侧填充：有效位置在前）：应为 [[1.0, 1.0, 0.0]",
     "✓ 全部 3 项检查通过\n"),
], ids=["english-by-default", "chinese"])
def test_checker_prints_in_the_language(lang: str | None, stub: str, wrong: str, passed: str,
                                        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    if lang is not None:
        monkeypatch.setenv("SEQLIB_LANG", lang)
    assert check_length_mask(not_implemented) is False
    assert capsys.readouterr().out == stub
    assert check_length_mask(right_padding_reversed) is False
    out = capsys.readouterr().out
    assert out.startswith(wrong), out
    if lang is not None:
        assert "expected" not in out and "check" not in out
    assert check_length_mask(length_mask) is True
    assert capsys.readouterr().out == passed


def test_prediction_prints_chinese(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("SEQLIB_LANG", "zh_CN")
    assert check_prediction("relaimpr-base", None) is False
    out = capsys.readouterr().out
    assert out.startswith("✗ 还没有作答：请把 answer 设为 'a', 'b', 'c' 之一，再运行这个单元格。\n"), out
    assert "哪个的 RelaImpr 更大？" in out and "  (a) 模型 A\n" in out
    assert check_prediction("relaimpr-base", "b") is False
    out = capsys.readouterr().out
    assert out.startswith("✗ 正确答案是 (a) 模型 A；你的答案是 (b) 模型 B。\nRelaImpr 用提升量除以"), out
    monkeypatch.setenv("SEQLIB_LANG", "en")
    assert check_prediction("relaimpr-base", "a") is True
    assert capsys.readouterr().out.startswith("✓ right; you said (a) A.\nRelaImpr divides the gain")


def test_auc_table_in_both_languages(monkeypatch: pytest.MonkeyPatch) -> None:
    def table() -> str:
        return _train.auc_table({"DIN": [0.7, 0.71], tr("yours"): [0.6, 0.65], "base": [0.5, 0.55]})

    assert table() == "  seed 0: DIN 0.7000, yours 0.6000, base 0.5000\n  seed 1: DIN 0.7100, yours 0.6500, base 0.5500"
    monkeypatch.setenv("SEQLIB_LANG", "zh_CN")
    assert table().splitlines()[0] == "  随机种子 0：DIN 0.7000, 你的模型 0.6000, base 0.5000"


def test_widget_labels(monkeypatch: pytest.MonkeyPatch) -> None:
    from seqlib.widgets.dsin import session_widget

    timelines = {"a": (np.array([0, 30, 4000]), np.array([1, 2, 1]))}
    menu, slider, _ = session_widget(timelines).children[0].children
    assert (menu.description, slider.description) == ("user", "gap (s)")
    monkeypatch.setenv("SEQLIB_LANG", "zh_CN")
    menu, slider, _ = session_widget(timelines).children[0].children
    assert (menu.description, slider.description) == ("用户", "间隔（秒）")
