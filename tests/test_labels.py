"""Every page label exists in English, Slovenian and German, whichever family defines it."""

from __future__ import annotations

import string

from maps.i18n import LABELS, LANGUAGES
from maps.labels import catalogues


def _placeholders(label: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(label) if name}


def test_every_label_is_in_every_language_with_the_same_placeholders():
    missing = {lang: set(LABELS["en"]) - set(LABELS[lang]) for lang in LANGUAGES}
    assert missing == {lang: set() for lang in LANGUAGES}
    for key, english in LABELS["en"].items():
        for lang in LANGUAGES:
            assert _placeholders(LABELS[lang][key]) == _placeholders(english), (lang, key)


def test_families_define_each_label_once_and_in_all_three_languages():
    seen: dict[str, str] = {}
    for family, labels in catalogues().items():
        assert set(labels) == set(LANGUAGES), family
        assert set(labels["sl"]) == set(labels["en"]) == set(labels["de"]), family
        for key in labels["en"]:
            assert key not in seen, f"{key} in {family} and {seen[key]}"
            seen[key] = family
