"""The schema history: one head, a database of the squashed history carried over with every
row, fresh and upgraded databases alike to the last index, and the declared tables and
the named SQL files equal to what the migrations build."""

from __future__ import annotations

import os
import re
import subprocess
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from locations import sql
from locations.migrate import _scripts, migrate
from locations.settings import get_settings
from tests.conftest import _create_database, _drop_database

ROOT = Path(__file__).resolve().parent.parent
#: A database as the platform of commit 08199cc left it (revisions 0001-0020 applied, the
#: way a database migrated release by release lists them: 0003, 0005, 0020) with a little
#: data in every kind of table: regions, plots, scores, events, accounts, an import job.
BEFORE_BASELINE = ROOT / "tests" / "fixtures" / "database_before_baseline.sql"


def _pg_env(url: str) -> dict[str, str]:
    parsed = make_url(url)
    env = dict(os.environ, PGHOST=parsed.host or "", PGPORT=str(parsed.port or 5432),
               PGUSER=parsed.username or "", PGDATABASE=parsed.database or "")
    if parsed.password:
        env["PGPASSWORD"] = parsed.password
    return env


def _tool(name: str) -> str:
    return str(Path(get_settings().pg_bin) / name)


def _schema_dump(url: str) -> str:
    # A scoring run's scores are a partition of plot_score of its own, made by the run: which
    # partitions there are depends on the runs stored (rows), not on the migrations.
    dump = subprocess.run([_tool("pg_dump"), "--schema-only", "--no-owner", "--no-privileges",
                           "--exclude-table=public.plot_score_run_*"],
                          env=_pg_env(url), capture_output=True, text=True, check=True).stdout
    # psql's \restrict key is random per dump; the rest must be equal line by line.
    return "\n".join(line for line in dump.splitlines()
                     if not re.match(r"\\(un)?restrict ", line))


@pytest.fixture
def database(pg_server):
    """A new empty database on the test server: its URL; dropped afterwards."""
    name = f"locations_test_mig_{uuid.uuid4().hex[:10]}"
    url = _create_database(pg_server, name)
    yield url
    _drop_database(pg_server, name)


def _restore_before_baseline(url: str) -> None:
    subprocess.run([_tool("psql"), "-q", "-X", "-v", "ON_ERROR_STOP=1", "-f",
                    str(BEFORE_BASELINE)], env=_pg_env(url), capture_output=True, text=True,
                   check=True)


#: Columns a later revision derives anew from the rows' own data, on purpose: 0107 makes a
#: region's and a municipality's area its boundary's.
DERIVED_SINCE = {("region", "area_km2"), ("municipality", "area_km2")}


def _columns(url: str) -> dict[str, list[str]]:
    """Each table's columns, in their order, but those DERIVED_SINCE."""
    engine = create_engine(url)
    with engine.connect() as conn:
        found: dict[str, list[str]] = {}
        for table, column in conn.execute(text(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = 'public' "
                "AND table_name NOT IN ('alembic_version', 'spatial_ref_sys') "
                "AND table_name IN (SELECT tablename FROM pg_tables WHERE schemaname = 'public') "
                "ORDER BY table_name, ordinal_position")):
            if (table, column) not in DERIVED_SINCE:
                found.setdefault(table, []).append(column)
    engine.dispose()
    return found


def _rows(url: str, columns: dict[str, list[str]]) -> dict[str, list[str]]:
    """Every row of the tables in ``columns``, as text of those columns only: a column a later
    migration adds (empty or defaulted) does not hide whether the old values were kept."""
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = {}
        for table, names in columns.items():
            listed = ", ".join(f'"{name}"' for name in names)
            rows[table] = sorted(conn.execute(
                text(f'SELECT ROW({listed})::text FROM "{table}"')).scalars())
    engine.dispose()
    return rows


def test_the_history_has_one_head():
    assert len(_scripts().get_heads()) == 1
    result = subprocess.run([str(ROOT / ".venv" / "bin" / "alembic"), "heads"], cwd=ROOT,
                            capture_output=True, text=True, check=True)
    assert result.stdout.split() == [_scripts().get_current_head(), "(head)"]


def test_a_database_of_the_squashed_history_keeps_every_row_and_equals_a_fresh_one(
        pg_server, database):
    _restore_before_baseline(database)
    columns = _columns(database)
    before = _rows(database, columns)
    # The fixture is not empty: every table but the import workspace holds rows.
    assert sum(len(rows) for rows in before.values()) > 200
    migrate(create_engine(database))

    # Every row of every table kept; tables added since (e.g. inquiry) may be new and empty.
    # Regions gain their NUTS ancestors (0113): AT, AT2, AT22, SI, SI0, SI03, SI04.
    after = _rows(database, columns)
    assert {table: after[table] for table in before if table != "region"} == \
        {table: rows for table, rows in before.items() if table != "region"}
    assert set(before["region"]) <= set(after["region"])
    engine = create_engine(database)
    with engine.connect() as conn:
        added = conn.execute(text(
            "SELECT r.code, r.level, (SELECT p.code FROM region p WHERE p.id = r.parent_id) "
            "FROM region r WHERE length(r.code) < 5 ORDER BY r.code")).all()
        graz = conn.execute(text(
            "SELECT array_agg(r.code ORDER BY r.code) FROM municipality_region mr "
            "JOIN region r ON r.id = mr.region_id JOIN municipality m ON m.id = mr.municipality_id "
            "WHERE m.region_id = (SELECT id FROM region WHERE code = 'AT221') "
            "GROUP BY m.id LIMIT 1")).scalar_one()
    engine.dispose()
    assert [tuple(row) for row in added] == [
        ("AT", "country", None), ("AT2", "nuts1", "AT"), ("AT22", "nuts2", "AT2"),
        ("SI", "country", None), ("SI0", "nuts1", "SI"), ("SI03", "nuts2", "SI0"),
        ("SI04", "nuts2", "SI0")]
    assert graz == ["AT", "AT2", "AT22", "AT221"]
    engine = create_engine(database)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() \
            == [_scripts().get_current_head()]
        # Events written before effective dates existed took effect when they were written.
        assert conn.execute(text(
            "SELECT count(*), count(*) FILTER (WHERE effective_date "
            "= (occurred_at AT TIME ZONE 'UTC')::date) FROM plot_event")).one()[1] > 0
        assert conn.execute(text(
            "SELECT count(*) FROM plot_event WHERE effective_date "
            "<> (occurred_at AT TIME ZONE 'UTC')::date")).scalar_one() == 0
    engine.dispose()

    fresh = _create_database(pg_server, f"locations_test_mig_{uuid.uuid4().hex[:10]}")
    try:
        migrate(create_engine(fresh))
        assert _schema_dump(fresh) == _schema_dump(database)
    finally:
        _drop_database(pg_server, make_url(fresh).database)


def test_an_early_database_of_the_squashed_history_is_refused_with_the_way_forward(database):
    from locations.errors import SchemaNotReady

    _restore_before_baseline(database)
    engine = create_engine(database)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0014' "
                          "WHERE version_num = '0020'"))
    with pytest.raises(SchemaNotReady, match=r"lacks 0007, 0015, 0016, 0017, 0018, 0019, 0020.*"
                                             r"commit 08199cc"):
        migrate(engine)
    with engine.connect() as conn:  # nothing changed
        assert sorted(conn.execute(text("SELECT version_num FROM alembic_version")).scalars()) \
            == ["0003", "0005", "0014"]
    engine.dispose()


def test_alembic_check_finds_the_declared_tables_equal_to_a_migrated_database(database):
    migrate(create_engine(database))
    result = subprocess.run([str(ROOT / ".venv" / "bin" / "alembic"), "check"], cwd=ROOT,
                            env=dict(os.environ, DATABASE_URL=database),
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No new upgrade operations detected" in result.stdout


def test_every_function_trigger_and_view_is_its_named_file_at_its_latest_version(engine):
    """Each object's current text is in one file; the database holds exactly those."""
    with engine.connect() as conn:
        functions = dict(conn.execute(text(
            "SELECT p.proname, pg_get_functiondef(p.oid) FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' "
            "AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = p.oid "
            "AND d.deptype = 'e')")).all())
        triggers = dict(conn.execute(text(
            "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal"
        )).all())
        views = set(conn.execute(text(
            "SELECT viewname FROM pg_views WHERE schemaname = 'public' "
            "AND viewname NOT IN ('geometry_columns', 'geography_columns')")).scalars())
    files = sql.current_versions()
    assert {name for kind, name in files if kind == "functions"} == set(functions)
    assert {name for kind, name in files if kind == "triggers"} == set(triggers)
    assert {name for kind, name in files if kind == "views"} == views
    for (kind, name), version in files.items():
        source = sql.text_of(kind, name, version)
        if kind == "functions":
            body = functions[name].split("$function$")[1]
            assert body in source, f"{name}: the database's body is not {name}.v{version}.sql"
        elif kind == "triggers":
            def words(ddl):
                return re.sub(r"\bpublic\.", "", " ".join(ddl.split()))
            statement = "\n".join(line for line in source.splitlines()
                                  if not line.startswith("--"))
            assert words(triggers[name]) + ";" == words(statement)
