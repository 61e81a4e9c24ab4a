"""The English and Russian catalogs (locale/): complete, not fuzzy, consistent with the source, used.

The source strings are extracted here in pure Python (Django's own template-to-gettext conversion, then
Babel's Python extractor), so a string added without `make messages` and a translation fails the suite
even on a machine without GNU gettext.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_python
from babel.messages.pofile import read_po
from django.template import Context, Template
from django.utils import timezone, translation
from django.utils.translation import ngettext
from django.utils.translation.template import templatize

from config.catalogs import compile_catalog, stale_catalogs
from tests.support.codebase import APPLICATION, ROOT

LANGUAGES = ("en", "ru")
KEYWORDS = [
    "_",
    "gettext",
    "gettext_lazy",
    "gettext_noop",
    "ngettext",
    "ngettext_lazy",
    "pgettext",
    "pgettext_lazy",
    "npgettext",
    "npgettext_lazy",
]
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def catalog(language: str) -> Catalog:
    with (ROOT / "locale" / language / "LC_MESSAGES" / "django.po").open("rb") as po:
        return read_po(po)


def entries(language: str) -> list[Message]:
    return [message for message in catalog(language) if message.id]


def _extract(source: str) -> Iterator[tuple[str | tuple[str, ...], str | None]]:
    """(msgid or (singular, plural), context) of every gettext call; extract_python gives raw arguments."""
    for _line, function, message, _comments in extract_python(
        io.BytesIO(source.encode()), KEYWORDS, [], {"encoding": "utf-8"}
    ):
        parts = tuple(p for p in (message if isinstance(message, tuple) else (message,)) if p is not None)
        context = None
        if function.startswith(("pgettext", "npgettext")):
            context, parts = parts[0], parts[1:]
        if parts and parts[0]:
            yield (parts[0] if len(parts) == 1 else parts[:2]), context


def source_messages() -> set[tuple[str | tuple[str, ...], str | None]]:
    """Every translatable string of the application's Python code and templates."""
    found: set[tuple[str | tuple[str, ...], str | None]] = set()
    for package in APPLICATION:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                found.update(_extract(path.read_text()))
    for path in [*(ROOT / "templates").rglob("*.html"), *(ROOT / "templates").rglob("*.txt")]:
        # templatize() keeps the template's indentation; Python's tokenizer must not see it.
        converted = templatize(path.read_text(), origin=str(path))
        code = "\n".join(line.lstrip() for line in converted.splitlines())
        found.update(_extract(code))
    return found


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_catalog_entry_is_translated_and_none_is_fuzzy(language: str) -> None:
    problems = [
        message.id
        for message in entries(language)
        if message.fuzzy
        or not message.string
        or (isinstance(message.string, tuple) and not all(message.string))
    ]
    assert catalog(language).fuzzy is False, f"the {language} catalog header is marked fuzzy"
    assert problems == [], f"untranslated or fuzzy in locale/{language}: {problems[:10]}"


def test_russian_has_the_three_plural_forms_one_few_many() -> None:
    ru = catalog("ru")
    assert ru.num_plurals == 3
    plurals = [message for message in entries("ru") if message.pluralizable]
    assert plurals, "no plural entries: blocktranslate count / ngettext went missing?"
    assert all(len(message.string) == 3 for message in plurals)


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_the_placeholders_of_the_source(language: str) -> None:
    """A dropped or misspelled %(name)s would raise or lose information at runtime."""
    wrong = []
    for message in entries(language):
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = set().union(*(PLACEHOLDER.findall(i) for i in ids))
        for string in strings:
            # A plural's first form may name the count that the English "one" form leaves out.
            if not set(PLACEHOLDER.findall(string)) <= expected or (
                not message.pluralizable and set(PLACEHOLDER.findall(string)) != expected
            ):
                wrong.append((message.id, string))
    assert wrong == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_string_in_the_source_is_in_the_catalog(language: str) -> None:
    """Run `make messages` and translate: a string missing here shows up in English on a Russian page."""
    known = {(message.id, message.context) for message in entries(language)}
    missing = sorted(map(str, source_messages() - known))
    assert missing == [], f"not in locale/{language} (run `make messages`): {missing[:10]}"


def test_the_source_extraction_sees_templates_python_and_plurals() -> None:
    found = source_messages()
    assert ("Skip to content", None) in found  # base.html {% translate %}
    assert ("Not found.", None) in found  # Python gettext
    assert (("%(counter)s document", "%(counter)s documents"), None) in found  # blocktranslate count


def test_the_compiled_catalogs_are_current(tmp_path: Path) -> None:
    """settings.py compiles them at startup with Babel, without GNU gettext."""
    assert stale_catalogs(ROOT / "locale") == []
    po = tmp_path / "ru" / "LC_MESSAGES" / "django.po"
    po.parent.mkdir(parents=True)
    po.write_bytes((ROOT / "locale" / "ru" / "LC_MESSAGES" / "django.po").read_bytes())
    assert stale_catalogs(tmp_path) == [po]
    assert compile_catalog(po).stat().st_size > 10_000
    assert stale_catalogs(tmp_path) == []


@pytest.mark.parametrize(
    ("count", "expected"),
    [(1, "1 документ"), (3, "3 документа"), (5, "5 документов"), (11, "11 документов"), (21, "21 документ")],
)
def test_russian_plurals_follow_one_few_many(count: int, expected: str) -> None:
    with translation.override("ru"):
        text = ngettext("%(counter)s document", "%(counter)s documents", count)
    assert text % {"counter": count} == expected


def test_russian_dates_read_naturally() -> None:
    template = Template(
        "{% load i18n %}{% blocktranslate with when=at|timesince %}{{ when }} ago{% endblocktranslate %}"
    )
    with translation.override("ru"):
        rendered = template.render(Context({"at": timezone.now() - timedelta(minutes=4, seconds=5)}))
    assert rendered == "4\xa0минуты назад"  # noqa: RUF001 - Russian
