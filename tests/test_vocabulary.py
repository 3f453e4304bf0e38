"""The words are defined once: the database's CHECK constraints allow exactly the codes of
``locations.vocabulary``, and no module writes a vocabulary's list out again."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import text

from locations import vocabulary

ROOT = Path(__file__).resolve().parent.parent


def allowed_codes(engine, table: str, column: str) -> set[str]:
    """The string literals of the CHECK constraints on ``table`` that name ``column``."""
    with engine.connect() as conn:
        definitions = conn.execute(text(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = CAST(:table AS regclass) AND contype = 'c'"),
            {"table": table}).scalars().all()
    codes: set[str] = set()
    for definition in definitions:
        if re.search(rf"\b{column}\b", definition) and "ARRAY[" in definition:
            codes |= set(re.findall(r"'([a-z0-9_]+)'::text", definition))
    return codes


@pytest.mark.parametrize("name, table, column", [
    (name, table, column) for name, columns in vocabulary.DATABASE_COLUMNS.items()
    for table, column in columns])
def test_the_database_allows_exactly_the_vocabulary(engine, name, table, column):
    assert allowed_codes(engine, table, column) == set(vocabulary.VOCABULARIES[name].codes)


def test_every_status_has_its_transitions_and_labels_in_every_language():
    assert set(vocabulary.STATUS_TRANSITIONS) == set(vocabulary.PLOT_STATUS.codes)
    for targets in vocabulary.STATUS_TRANSITIONS.values():
        assert set(targets) <= set(vocabulary.PLOT_STATUS.codes)
    for vocab in vocabulary.VOCABULARIES.values():
        for code, labels in vocab.labels.items():
            assert len(labels) == len(vocabulary.LANGUAGES) and all(labels), (vocab.name, code)


def test_no_module_writes_a_vocabulary_out_again():
    """A vocabulary's codes written out in a row (all of them, or four for the longer
    lists) appear only in locations/vocabulary.py. Shorter runs are policies, such as the
    roles that may import; migrations and their frozen SQL are history and excepted."""
    offenders = []
    for folder in ("locations", "api", "maps", "bench"):
        for path in (ROOT / folder).rglob("*.py"):
            if "node_modules" in path.parts or "migrations" in path.parts \
                    or path.name == "vocabulary.py":
                continue
            source = path.read_text(encoding="utf-8")
            for vocab in vocabulary.VOCABULARIES.values():
                codes = vocab.codes
                width = min(len(codes), 4)
                for i in range(len(codes) - width + 1):
                    run = r"""["']\s*,\s*["']""".join(re.escape(c) for c in codes[i:i + width])
                    if re.search(r"""["']""" + run + r"""["']""", source):
                        offenders.append(f"{path.relative_to(ROOT)}: {vocab.name}")
                        break
    assert sorted(set(offenders)) == []
