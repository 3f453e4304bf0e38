"""Bulk plot import: deferred proximity is computed before commit, countries follow the zones, moved plots are re-measured."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from sqlalchemy import Engine, event, text
from sqlalchemy.exc import DBAPIError

from locations.importer import import_file

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
GENERIC = SAMPLES / "plots-generic.gpkg"


@pytest.fixture(autouse=True)
def _room_for_samples(request: pytest.FixtureRequest) -> None:
    """The demo's plots under the samples, and 300 m east where one test moves them, retired."""
    if "fresh_engine" in request.fixturenames:
        from tests.test_import_samples import make_room_for_samples

        make_room_for_samples(request.getfixturevalue("fresh_engine"), east_m=385)


def _expected_km(engine: Engine, refs: list[str], frame: gpd.GeoDataFrame) -> dict[str, float]:
    """Nearest motorway junction per plot in km, computed with shapely over the file's own shapes."""
    with engine.connect() as conn:
        junctions = [shapely.from_wkb(bytes(w)) for w in conn.execute(text(
            "SELECT ST_AsBinary(geom) FROM infrastructure WHERE kind = 'motorway_junction'"
        )).scalars()]
    shapes = frame.to_crs(3035).set_index("cadastral_ref").geometry
    return {ref: min(shapes[ref].distance(j) for j in junctions) / 1000 for ref in refs}


def _plots_with_wrong_area_or_tile_copy(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT cadastral_ref FROM plot WHERE area_m2 IS DISTINCT FROM ST_Area(boundary) "
            "OR NOT ST_Equals(boundary_3857, ST_Transform(boundary, 3857))")).scalars().all()


def test_imported_plots_have_distances_and_their_zones_country(fresh_engine: Engine) -> None:
    frame = gpd.read_file(GENERIC)
    refs = list(frame["cadastral_ref"])
    report = import_file(fresh_engine, "plots", GENERIC)
    assert report.written and report.created == len(refs)
    expected = _expected_km(fresh_engine, refs, frame)
    with fresh_engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT p.cadastral_ref, p.country, m.country AS zone_country, x.motorway_km "
            "FROM plot p JOIN zone z ON z.id = p.zone_id "
            "JOIN municipality m ON m.id = z.municipality_id "
            "LEFT JOIN plot_proximity x ON x.plot_id = p.id "
            "WHERE p.cadastral_ref = ANY(:refs)"), {"refs": refs}).mappings().all()
        # The deferral ends with the import's transaction: a later insert is measured at once.
        assert conn.execute(text(
            "SELECT current_setting('locations.defer_proximity', true)")).scalar() in (None, "", "off")
    assert len(rows) == len(refs)
    for row in rows:
        assert row["country"] == row["zone_country"]
        assert row["motorway_km"] == pytest.approx(expected[row["cadastral_ref"]], abs=1e-6)
    # The importer supplies each new plot's area and tile copy (0018): as plot's trigger would.
    areas = frame.to_crs(3035).set_index("cadastral_ref").geometry.area
    with fresh_engine.connect() as conn:
        stored = dict(conn.execute(text(
            "SELECT cadastral_ref, area_m2 FROM plot WHERE cadastral_ref = ANY(:refs)"),
            {"refs": refs}).all())
    assert stored == pytest.approx(areas.to_dict(), rel=1e-6)
    assert _plots_with_wrong_area_or_tile_copy(fresh_engine) == []


def test_a_moved_plot_is_measured_again_on_reimport(fresh_engine: Engine, tmp_path: Path) -> None:
    frame = gpd.read_file(GENERIC)
    import_file(fresh_engine, "plots", GENERIC)
    moved = frame.copy()
    # 300 m east, still inside its zone's region.
    moved["geometry"] = moved.geometry.translate(xoff=300 if moved.crs.is_projected else 0.004)
    path = tmp_path / "moved.gpkg"
    moved.to_file(path, driver="GPKG")
    report = import_file(fresh_engine, "plots", path, skip_invalid=True)
    assert report.updated > 0
    written = [r for r in moved["cadastral_ref"]
               if r not in {row for row, *_ in report.problems}]
    expected = _expected_km(fresh_engine, written, moved)
    with fresh_engine.connect() as conn:
        found = dict(conn.execute(text(
            "SELECT p.cadastral_ref, x.motorway_km FROM plot p "
            "JOIN plot_proximity x ON x.plot_id = p.id WHERE p.cadastral_ref = ANY(:refs)"),
            {"refs": written}).all())
    assert found and all(
        found[ref] == pytest.approx(expected[ref], abs=1e-6) for ref in found)
    assert _plots_with_wrong_area_or_tile_copy(fresh_engine) == []


def test_a_loader_that_gives_a_wrong_country_is_refused(fresh_engine: Engine) -> None:
    with fresh_engine.connect() as conn:
        transaction = conn.begin()
        zone_id, country = conn.execute(text(
            "SELECT z.id, m.country FROM zone z JOIN municipality m ON m.id = z.municipality_id "
            "LIMIT 1")).one()
        wrong = "AT" if country == "SI" else "SI"
        conn.execute(text("SET LOCAL locations.plot_country_given = 'on'"))
        with pytest.raises(DBAPIError, match=f"plot wrong-country has country {wrong}, but its zone lies in {country}"):
            conn.execute(text(
                "INSERT INTO plot (zone_id, country, cadastral_ref, boundary) VALUES "
                "(:z, :c, 'wrong-country', "
                "ST_Multi(ST_Buffer(ST_PointOnSurface((SELECT boundary FROM zone WHERE id = :z)), 5)))"),
                {"z": zone_id, "c": wrong})
        transaction.rollback()


def _indexes(engine: Engine) -> set[tuple[str, str]]:
    """Every index, unique and foreign key of the tables a first load rebuilds, with its definition."""
    with engine.connect() as conn:
        return {tuple(row) for row in conn.execute(text(
            "SELECT indexname, indexdef FROM pg_indexes "
            "WHERE tablename IN ('plot', 'plot_proximity', 'plot_event') "
            "UNION ALL "
            "SELECT conname, pg_get_constraintdef(oid) || CASE WHEN convalidated THEN '' "
            "ELSE ' NOT VALID' END FROM pg_constraint "
            "WHERE conrelid IN ('plot'::regclass, 'plot_event'::regclass) AND contype IN ('u', 'f')"))}


def _empty_plot_table(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM plot_event; DELETE FROM plot_site_metrics; DELETE FROM plot"))
        conn.execute(text("ANALYZE plot"))


def test_a_first_load_rebuilds_the_indexes_and_keys_it_dropped(fresh_engine: Engine, monkeypatch) -> None:
    from locations.imports import bulk_rebuild

    monkeypatch.setattr(bulk_rebuild, "BULK_REBUILD_MIN_ROWS", 1)  # the sample is small
    before = _indexes(fresh_engine)
    _empty_plot_table(fresh_engine)
    dropped: list[str] = []
    original = bulk_rebuild.drop_for_bulk_load
    monkeypatch.setattr(bulk_rebuild, "drop_for_bulk_load",
                        lambda conn, incoming: dropped.extend(original(conn, incoming)) or list(dropped))
    filled: list[str] = []
    event.listen(fresh_engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *args: filled.append(statement.strip()))
    frame = gpd.read_file(GENERIC)
    report = import_file(fresh_engine, "plots", GENERIC)
    assert report.written and report.created == len(frame)
    assert len(dropped) >= 10, "the secondary indexes and foreign keys were rebuilt"
    assert any("FOREIGN KEY (zone_id)" in statement for statement in dropped)
    assert any("UNIQUE (country, cadastral_ref)" in statement for statement in dropped)
    assert _indexes(fresh_engine) == before
    expected = _expected_km(fresh_engine, list(frame["cadastral_ref"]), frame)
    with fresh_engine.connect() as conn:
        found = dict(conn.execute(text(
            "SELECT p.cadastral_ref, x.motorway_km FROM plot p JOIN plot_proximity x ON x.plot_id = p.id")).all())
        # The rebuilt indexes answer: an index scan by zone finds every plot.
        conn.execute(text("SET enable_seqscan = off"))
        by_zone = conn.execute(text(
            "SELECT count(*) FROM plot WHERE zone_id IN (SELECT id FROM zone)")).scalar_one()
        # One event per new plot, with the plot's values as written.
        events = conn.execute(text(
            "SELECT count(*), count(*) FILTER (WHERE e.new_values ->> 'status' = p.status "
            "AND (e.new_values ->> 'area_m2')::numeric = round(p.area_m2::numeric, 1) "
            "AND e.old_values IS NULL AND e.action = 'import') "
            "FROM plot_event e JOIN plot p ON p.id = e.plot_id")).one()
        # The distances were filled in bulk (0015), through a scratch table that is gone.
        scratch = conn.execute(text(
            "SELECT count(*) FROM pg_class WHERE relname LIKE 'plot_proximity_targets_%'")).scalar_one()
    assert by_zone == len(frame)
    assert found == pytest.approx(expected, abs=1e-6)
    assert scratch == 0
    assert tuple(events) == (len(frame), len(frame))
    assert any(statement == "SELECT plot_proximity_fill()" for statement in filled)
    assert any(statement.startswith("CREATE UNLOGGED TABLE import_new_values") for statement in filled)


def test_a_first_load_that_fails_after_dropping_indexes_leaves_them(fresh_engine: Engine,
                                                                    monkeypatch) -> None:
    from locations.imports import audit, bulk_rebuild

    monkeypatch.setattr(bulk_rebuild, "BULK_REBUILD_MIN_ROWS", 1)
    _empty_plot_table(fresh_engine)
    before = _indexes(fresh_engine)

    def fail(*args, **kwargs):
        raise RuntimeError("the import dies after writing its plots")

    monkeypatch.setattr(audit, "audit_plots", fail)
    monkeypatch.setattr(audit, "audit_new_plots", fail)
    with pytest.raises(RuntimeError):
        import_file(fresh_engine, "plots", GENERIC)
    assert _indexes(fresh_engine) == before
    assert _import_schemas(fresh_engine) == []
    with fresh_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM plot")).scalar_one() == 0


def test_emptying_the_plots_by_truncate_takes_their_distances_too(fresh_engine: Engine) -> None:
    """An operator empties the plots before a fresh load; no distances may outlive them."""
    with fresh_engine.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM plot_proximity")).scalar_one() > 0
        conn.execute(text("TRUNCATE plot CASCADE"))
    report = import_file(fresh_engine, "plots", GENERIC)
    assert report.written
    with fresh_engine.connect() as conn:
        orphans, measured, plots = conn.execute(text(
            "SELECT count(*) FILTER (WHERE p.id IS NULL), count(p.id), (SELECT count(*) FROM plot) "
            "FROM plot_proximity x LEFT JOIN plot p ON p.id = x.plot_id")).one()
    assert orphans == 0
    assert measured == plots == report.created


def test_reimporting_unchanged_plots_leaves_the_indexes_alone(fresh_engine: Engine,
                                                              monkeypatch) -> None:
    """Only new plots make a first load: a file of known plots takes no exclusive rebuild."""
    from locations.imports import bulk_rebuild

    monkeypatch.setattr(bulk_rebuild, "BULK_REBUILD_MIN_ROWS", 1)
    _empty_plot_table(fresh_engine)
    rebuilds: list[int] = []
    original = bulk_rebuild.drop_for_bulk_load

    def counting(conn, incoming):
        statements = original(conn, incoming)
        rebuilds.append(len(statements))
        return statements

    monkeypatch.setattr(bulk_rebuild, "drop_for_bulk_load", counting)
    first = import_file(fresh_engine, "plots", GENERIC)
    again = import_file(fresh_engine, "plots", GENERIC)
    assert first.created > 0 and again.unchanged == first.created
    assert rebuilds[0] > 0 and rebuilds[1] == 0


def _import_schemas(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text(
            r"SELECT nspname FROM pg_namespace WHERE nspname LIKE 'import\_%'")).scalars())


def test_an_import_leaves_no_working_tables_however_it_ends(fresh_engine: Engine,
                                                           tmp_path: Path) -> None:
    """The staging tables live in a schema of the import's own; none may outlive it."""
    assert import_file(fresh_engine, "plots", GENERIC, dry_run=True).created > 0
    assert _import_schemas(fresh_engine) == []
    broken = gpd.read_file(GENERIC)
    broken.loc[0, "status"] = "for sale, maybe"
    path = tmp_path / "broken.gpkg"
    broken.to_file(path, driver="GPKG")
    refused = import_file(fresh_engine, "plots", path)
    assert not refused.written and refused.problems
    assert _import_schemas(fresh_engine) == []
    assert import_file(fresh_engine, "plots", GENERIC).written
    assert _import_schemas(fresh_engine) == []


def test_rows_without_a_zone_go_to_the_zone_they_lie_in(fresh_engine: Engine,
                                                         tmp_path: Path) -> None:
    """A file that names the zone of some plots only: the others are placed by their shape."""
    frame = gpd.read_file(GENERIC)
    unnamed = list(frame["cadastral_ref"][:2])
    named_zones = dict(zip(frame["cadastral_ref"], frame["zone"], strict=True))
    frame.loc[:1, "zone"] = None
    path = tmp_path / "some-zones.gpkg"
    frame.to_file(path, driver="GPKG")
    report = import_file(fresh_engine, "plots", path)
    assert report.written and not report.problems, report.describe_problems()
    with fresh_engine.connect() as conn:
        zones = dict(conn.execute(text(
            "SELECT p.cadastral_ref, z.name FROM plot p JOIN zone z ON z.id = p.zone_id "
            "WHERE p.cadastral_ref = ANY(:refs)"), {"refs": list(frame["cadastral_ref"])}).all())
    assert len(zones) == len(frame)
    # The sample's plots lie in the zones it names, so placing them by shape finds the same.
    assert {ref: zones[ref] for ref in unnamed} == {ref: named_zones[ref] for ref in unnamed}


def test_a_long_load_tells_its_progress_step_by_step(fresh_engine: Engine, monkeypatch) -> None:
    """A million plots load for about a minute: the bar names each step as it starts."""
    from locations.imports import bulk_rebuild, loading

    heard: list[str] = []
    monkeypatch.setattr(bulk_rebuild, "BULK_REBUILD_MIN_ROWS", 1)
    _empty_plot_table(fresh_engine)
    import_file(fresh_engine, "plots", GENERIC, progress=lambda phase, done, total: heard.append(phase))
    steps = [phase for phase in heard if phase in loading.LOAD_STEPS]
    assert steps == list(loading.LOAD_STEPS)
    assert heard.index("checking") < heard.index(loading.LOAD_STEPS[0])
    heard.clear()
    # A re-import rebuilds nothing: three steps.
    import_file(fresh_engine, "plots", GENERIC, progress=lambda phase, done, total: heard.append(phase))
    assert [phase for phase in heard if phase in loading.LOAD_STEPS] == list(loading.LOAD_STEPS[:3])


@pytest.mark.parametrize("owns_tables", [True, False], ids=["owner", "granted"])
def test_a_role_that_may_not_create_schemas_still_imports(fresh_engine: Engine, monkeypatch,
                                                          owns_tables: bool) -> None:
    """A server's own role without CREATE on the database (as a careful administrator sets
    one up), owning the tables it migrated or only granted them, gets its first load, in
    temporary tables, not 'permission denied'; without the tables' ownership the load keeps
    their indexes instead of rebuilding them."""
    from sqlalchemy import create_engine

    from locations.imports import bulk_rebuild

    monkeypatch.setattr(bulk_rebuild, "BULK_REBUILD_MIN_ROWS", 1)  # the sample is small
    before = _indexes(fresh_engine)
    _empty_plot_table(fresh_engine)
    role = f"locations_app_{fresh_engine.url.database[-10:]}"
    with fresh_engine.begin() as conn:
        conn.execute(text(f"CREATE ROLE {role} LOGIN PASSWORD 'app'"))
        conn.execute(text(f"REVOKE CREATE ON DATABASE \"{fresh_engine.url.database}\" "
                          f"FROM PUBLIC, {role}"))
        conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {role}"))
        conn.execute(text(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}"))
        conn.execute(text(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}"))
        if owns_tables:
            conn.execute(text(f"GRANT CREATE ON SCHEMA public TO {role}"))
            for table in ("plot", "plot_event", "plot_proximity", "plot_site_metrics"):
                conn.execute(text(f"ALTER TABLE {table} OWNER TO {role}"))
    restricted = create_engine(fresh_engine.url.set(username=role, password="app"))
    try:
        with restricted.connect() as conn:
            assert not conn.execute(text(
                "SELECT has_database_privilege(current_database(), 'CREATE')")).scalar_one()
        first = import_file(restricted, "plots", GENERIC)
        assert first.written and first.created > 0 and not first.problems
        # The same pooled connection again: the first import's tables must be gone.
        again = import_file(restricted, "plots", GENERIC)
        assert again.written and again.unchanged == first.created
        with restricted.connect() as conn:
            leftovers = conn.execute(text(
                "SELECT count(*) FROM pg_class WHERE relnamespace = pg_my_temp_schema()")).scalar_one()
        assert leftovers == 0
        with fresh_engine.connect() as conn:
            audited, measured = conn.execute(text(
                "SELECT (SELECT count(*) FROM plot_event WHERE action = 'import'), "
                "(SELECT count(*) FROM plot_proximity)")).one()
        assert audited == measured == first.created
        assert _indexes(fresh_engine) == before
    finally:
        restricted.dispose()
        with fresh_engine.begin() as conn:
            for table in ("plot", "plot_event", "plot_proximity", "plot_site_metrics"):
                conn.execute(text(f"ALTER TABLE {table} OWNER TO CURRENT_USER"))
            conn.execute(text(f"DROP OWNED BY {role}"))
            conn.execute(text(f"DROP ROLE {role}"))


def test_accounts_stay_readable_while_a_first_load_holds_its_locks(fresh_engine: Engine) -> None:
    """A first load drops keys until it commits, locking what they reference. Every
    authenticated request, the status of the load's own import job among them, reads the
    accounts: those must not wait for the load."""
    from locations.imports import bulk_rebuild

    with fresh_engine.connect() as loader, loader.begin():
        restore = bulk_rebuild.drop_for_bulk_load(loader, incoming=10_000_000)
        assert restore, "the load should have taken the bulk path"
        with fresh_engine.connect() as request:
            request.execute(text("SET lock_timeout = '2s'"))
            assert request.execute(text(
                "SELECT count(*) FROM account a LEFT JOIN account_municipality m "
                "ON m.account_id = a.id")).scalar_one() >= 0
            request.rollback()
        loader.rollback()


def test_a_first_load_counts_its_trail_into_the_land_supply_months_once(fresh_engine: Engine,
                                                                        monkeypatch) -> None:
    """A first load's events are counted into the months after they are written, by one
    rebuild instead of the trigger: the months are what the whole trail gives, and the
    trigger is on again for the next write."""
    from locations.imports import bulk_rebuild

    monkeypatch.setattr(bulk_rebuild, "BULK_REBUILD_MIN_ROWS", 1)
    _empty_plot_table(fresh_engine)
    statements: list[str] = []
    event.listen(fresh_engine, "before_cursor_execute",
                 lambda conn, cursor, statement, *args: statements.append(statement.strip()))
    report = import_file(fresh_engine, "plots", GENERIC)
    assert report.written and report.created > 0
    assert "SELECT zone_supply_rebuild()" in statements
    months = ("SELECT zone_id, month, available_registered, available_serviced, "
              "available_shovel_ready, available_unknown, opening_stock, market_change, "
              "new_supply, take_up, reversed FROM zone_supply_month ORDER BY 1, 2")
    with fresh_engine.connect() as conn:
        kept = conn.execute(text(months)).all()
        fresh = conn.execute(text(
            "SELECT * FROM supply_contributions(ARRAY(SELECT id FROM plot), NULL) "
            "ORDER BY 1, 2")).all()
        by_municipality = conn.execute(text(
            "SELECT municipality_id, month, opening_stock FROM municipality_supply_month "
            "ORDER BY 1, 2")).all()
        summed = conn.execute(text(
            "SELECT z.municipality_id, s.month, sum(s.opening_stock) FROM zone_supply_month s "
            "JOIN zone z ON z.id = s.zone_id GROUP BY 1, 2 ORDER BY 1, 2")).all()
        first_loads = conn.execute(text(
            "SELECT count(*) FROM municipality_first_load")).scalar_one()
        trigger = conn.execute(text(
            "SELECT tgenabled FROM pg_trigger WHERE tgname = 'zone_supply_event'")).scalar_one()
    assert kept == fresh and len(kept) > 0
    # The opening stock of the load is the area the file offers, in its municipalities.
    assert sum(row.opening_stock for row in kept) > 0
    assert by_municipality == summed
    assert first_loads > 0
    assert trigger == "O"
