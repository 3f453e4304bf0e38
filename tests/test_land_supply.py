"""Land-supply monitoring against a hand-made history: plots loaded, reserved, sold, reversed,
released and added on known dates, recorded later than they happened, give known monthly
figures, through the core and through ``GET /regions/{code}/supply``."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from fastapi.testclient import TestClient
from shapely import box, to_geojson
from sqlalchemy import Engine, text

from locations import bulk_updates, land_supply
from locations.accounts import account_by_name, create_account
from locations.errors import InvalidInput, NotFound
from locations.plot_updates import create_plot, update_plot

X0, Y0 = 4_700_000.0, 2_600_000.0


def _outline(offset_m: float, width_m: float, depth_m: float) -> dict:
    """A rectangle of width x depth metres (EPSG:3035), ``offset_m`` along the zone."""
    return json.loads(to_geojson(box(X0 + offset_m, Y0 + 10, X0 + offset_m + width_m,
                                     Y0 + 10 + depth_m)))


def _place(conn, region: str, country: str, municipality: str) -> int:
    """A region, a municipality and a zone 3 km x 1 km; returns the zone's id."""
    region_id = conn.execute(text(
        "INSERT INTO region (code, name, country) VALUES (:c, :c || ' test region', :k) "
        "ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name RETURNING id"),
        {"c": region, "k": country}).scalar_one()
    municipality_id = conn.execute(text(
        "INSERT INTO municipality (code, name, region_id, country) "
        "VALUES (:n, :n, :r, :k) RETURNING id"),
        {"n": municipality, "r": region_id, "k": country}).scalar_one()
    shift = 10_000 * municipality_id
    return conn.execute(text(
        "INSERT INTO zone (municipality_id, name, kind, boundary) VALUES (:m, 'Test zone', "
        "'industrial', ST_Multi(ST_MakeEnvelope(:x, :y, :x + 3000, :y + 1000, 3035))) "
        "RETURNING id"),
        {"m": municipality_id, "x": X0 + shift, "y": Y0}).scalar_one()


class History:
    """Writes plots and their changes as an editor would, each in its own transaction."""

    def __init__(self, engine: Engine, account) -> None:
        self.engine, self.account = engine, account
        self.versions: dict[str, int] = {}
        self.ids: dict[str, int] = {}

    def load(self, zone_id: int, shift: float, plots: dict, effective: str) -> None:
        """A first load: every plot in one transaction, as an import writes them."""
        with self.engine.begin() as conn:
            for name, (offset, width, depth, values) in plots.items():
                self._create(conn, zone_id, shift, name, offset, width, depth, values, effective)

    def add(self, zone_id: int, shift: float, name: str, offset: float, width: float,
            depth: float, values: dict, effective: str) -> None:
        with self.engine.begin() as conn:
            self._create(conn, zone_id, shift, name, offset, width, depth, values, effective)

    def _create(self, conn, zone_id, shift, name, offset, width, depth, values, effective):
        zone_version = conn.execute(text("SELECT version FROM zone WHERE id = :z"),
                                    {"z": zone_id}).scalar_one()
        self.ids[name] = create_plot(
            conn, self.account, zone_id, zone_version, name, _outline(shift + offset, width, depth),
            crs="EPSG:3035", values=values, effective_date=effective)
        self.versions[name] = 1

    def change(self, name: str, effective: str, **values) -> None:
        with self.engine.begin() as conn:
            self.versions[name] = update_plot(conn, self.account, self.ids[name],
                                              self.versions[name], values,
                                              effective_date=effective)


@pytest.fixture
def history(empty_engine: Engine) -> History:
    """Region SI099 (municipalities Alpha, loaded 2022, and Beta, loaded 2024) and AT299
    (Gamma, loaded 2024, never sold anything), every change recorded today."""
    with empty_engine.begin() as conn:
        alpha = _place(conn, "SI099", "SI", "Alpha")
        beta = _place(conn, "SI099", "SI", "Beta")
        gamma = _place(conn, "AT299", "AT", "Gamma")
        create_account(conn, "test-admin", "admin")
        account = account_by_name(conn, "test-admin")
        shifts = dict(conn.execute(text(
            "SELECT z.id, 10000 * z.municipality_id FROM zone z")).all())
    h = History(empty_engine, account)
    h.load(alpha, shifts[alpha], {
        "A-1": (0, 100, 100, {"status": "available", "readiness": "shovel_ready"}),
        "A-2": (200, 100, 200, {"status": "available", "readiness": "serviced"}),
        "A-3": (400, 50, 100, {"status": "occupied", "readiness": "serviced"}),
        "A-4": (600, 80, 100, {"status": "not_for_sale", "readiness": "registered"}),
    }, "2022-01-15")
    h.change("A-1", "2022-06-10", status="reserved")
    h.change("A-1", "2023-03-20", status="sold")
    h.change("A-2", "2023-05-05", readiness="shovel_ready")
    h.add(alpha, shifts[alpha], "A-5", 800, 120, 100,
          {"status": "available", "readiness": "registered"}, "2023-09-01")
    h.change("A-2", "2024-02-14", status="sold")
    h.change("A-2", "2024-07-01", status="available")  # the sale fell through
    h.load(beta, shifts[beta], {
        "B-1": (0, 150, 100, {"status": "available", "readiness": "serviced"}),
    }, "2024-03-01")
    h.change("A-4", "2025-01-10", status="available")  # published again
    h.change("A-1", "2025-04-30", status="occupied")
    h.change("A-5", "2025-11-03", status="sold")
    h.load(gamma, shifts[gamma], {
        "G-1": (0, 100, 100, {"status": "available", "readiness": "shovel_ready"}),
    }, "2024-03-01")
    return h


def _month(series, month: str):
    wanted = dt.date.fromisoformat(month + "-01")
    return next(m for m in series.months if m.month == wanted)


def test_monthly_figures_follow_the_effective_dates(history, empty_engine):
    with empty_engine.connect() as conn:
        series = land_supply.supply_series(conn, "SI099", dt.date(2022, 1, 1),
                                           dt.date(2025, 12, 1))
    assert series.region_names == ["SI099 test region"]
    assert len(series.months) == 48
    opening = _month(series, "2022-01")
    # The first load is opening stock: on the market, available by tier, no new supply.
    assert opening.opening_stock_m2 == 30_000
    assert opening.new_supply_m2 == 0 and opening.take_up_m2 == 0
    assert opening.available_m2 == {"registered": 0, "serviced": 20_000,
                                    "shovel_ready": 10_000, "unknown": 0}
    assert opening.on_market_m2 == 30_000
    # Reserved: off the available area, still on the market; no take-up.
    reserved = _month(series, "2022-06")
    assert reserved.available_m2["shovel_ready"] == 0
    assert reserved.on_market_m2 == 30_000 and reserved.take_up_m2 == 0
    assert _month(series, "2023-03").take_up_m2 == 10_000
    assert _month(series, "2023-03").on_market_m2 == 20_000
    # A better tier moves the area between tiers, nothing else.
    upgraded = _month(series, "2023-05")
    assert upgraded.available_m2 == {"registered": 0, "serviced": 0, "shovel_ready": 20_000,
                                     "unknown": 0}
    assert upgraded.take_up_m2 == 0 and upgraded.new_supply_m2 == 0
    assert _month(series, "2023-09").new_supply_m2 == 12_000
    assert _month(series, "2024-02").take_up_m2 == 20_000
    # Beta's first load is opening stock in its month, not new supply.
    beta = _month(series, "2024-03")
    assert beta.opening_stock_m2 == 15_000 and beta.new_supply_m2 == 0
    # A reversed sale: take-up less the area, reported as reversed.
    reversal = _month(series, "2024-07")
    assert reversal.take_up_m2 == -20_000 and reversal.reversed_m2 == 20_000
    assert reversal.available_m2["shovel_ready"] == 20_000
    released = _month(series, "2025-01")
    assert released.new_supply_m2 == 8_000
    assert released.available_m2["registered"] == 20_000
    assert _month(series, "2025-04").take_up_m2 == 0  # sold -> occupied is no new take-up
    assert _month(series, "2025-11").take_up_m2 == 12_000
    # Months without events carry the stock and have no flows.
    quiet = _month(series, "2022-09")
    assert (quiet.take_up_m2, quiet.new_supply_m2, quiet.opening_stock_m2) == (0, 0, 0)
    assert quiet.available_total_m2 == 20_000
    # Every month: on the market = last month's + opening stock + new supply - take-up.
    before = 0.0
    for month in series.months:
        assert month.on_market_m2 == pytest.approx(
            before + month.opening_stock_m2 + month.new_supply_m2 - month.take_up_m2)
        before = month.on_market_m2

    summary = series.summary
    assert summary.as_of == dt.date(2025, 12, 1)
    assert summary.available_m2 == {"registered": 8_000, "serviced": 15_000,
                                    "shovel_ready": 20_000, "unknown": 0}
    assert summary.available_total_m2 == 43_000
    assert summary.take_up_last_12_months_m2 == 12_000
    # 2023-01 to 2025-12: 10,000 + 20,000 - 20,000 + 12,000 over three years.
    assert summary.months_averaged == 36
    assert summary.take_up_averaged_m2 == 22_000
    assert summary.average_annual_take_up_m2 == pytest.approx(22_000 / 3, abs=0.1)
    assert summary.years_of_supply == pytest.approx(43_000 / (22_000 / 3), abs=0.01)
    assert summary.years_of_supply_reason is None
    assert summary.opening_stock_m2 == 45_000
    assert summary.trail_start == dt.date(2022, 1, 1)


def test_recorded_today_counts_in_the_month_it_happened(history, empty_engine):
    with empty_engine.connect() as conn:
        today = conn.execute(text("SELECT current_date")).scalar_one()
        recorded = conn.execute(text(
            "SELECT count(*) FROM plot_event WHERE occurred_at::date = current_date")).scalar_one()
        series = land_supply.supply_series(conn, "SI099")
    assert recorded > 10  # the whole history was typed in today ...
    this_month = series.months[-1]
    assert this_month.month == today.replace(day=1)
    # ... and none of it counts in this month.
    assert (this_month.take_up_m2, this_month.new_supply_m2, this_month.opening_stock_m2) \
        == (0, 0, 0)
    assert series.start == dt.date(2022, 1, 1)  # the series starts at the first load


def test_no_take_up_is_not_determinable_never_a_division_by_zero(history, empty_engine):
    with empty_engine.connect() as conn:
        series = land_supply.supply_series(conn, "AT299", dt.date(2024, 1, 1),
                                           dt.date(2025, 12, 1))
        early = land_supply.supply_series(conn, "AT299", dt.date(2024, 1, 1),
                                          dt.date(2024, 8, 1))
    assert series.summary.available_total_m2 == 10_000
    assert series.summary.years_of_supply is None
    assert series.summary.years_of_supply_reason == "no_take_up"
    assert series.summary.average_annual_take_up_m2 == 0
    # Before its first load nothing is known; under a year of trail is too short to average.
    assert _month(series, "2024-02").years_of_supply_reason == "no_data"
    assert early.summary.years_of_supply_reason == "short_history"


def test_a_change_counts_once_whatever_wrote_it(history, empty_engine):
    account = history.account
    with empty_engine.begin() as conn:
        before = land_supply.supply_series(conn, "SI099", dt.date(2022, 1, 1),
                                           dt.date(2026, 1, 1))
        # The bulk file repeats a sale the form already recorded, and records a new one.
        rows = bulk_updates.read_table(
            b"cadastral_ref;status;effective_date\nA-5;sold;\nB-1;sold;20.12.2025\n",
            "changes.csv")
        report = bulk_updates.apply_updates(conn, account, rows)
    assert report["plots_changed"] == 1
    with empty_engine.connect() as conn:
        after = land_supply.supply_series(conn, "SI099", dt.date(2022, 1, 1),
                                          dt.date(2026, 1, 1))
        source = conn.execute(text(
            "SELECT action, effective_date FROM plot_event e JOIN plot p ON p.id = e.plot_id "
            "WHERE p.cadastral_ref = 'B-1' ORDER BY e.id DESC LIMIT 1")).one()
    assert tuple(source) == ("import", dt.date(2025, 12, 20))
    assert _month(after, "2025-11").take_up_m2 == _month(before, "2025-11").take_up_m2 == 12_000
    assert _month(after, "2025-12").take_up_m2 == 15_000
    assert _month(before, "2025-12").take_up_m2 == 0


def test_an_import_as_of_a_day_is_a_first_load_in_that_month(history, empty_engine, tmp_path):
    from locations.importer import import_file

    with empty_engine.begin() as conn:
        zone_id = _place(conn, "AT299", "AT", "Delta")
        shift = conn.execute(text("SELECT 10000 * municipality_id FROM zone WHERE id = :z"),
                             {"z": zone_id}).scalar_one()
    features = [
        {"type": "Feature", "properties": {"cadastral_ref": ref, "status": status,
                                           "readiness": "serviced"},
         "geometry": _outline(shift + offset, 100, 100)}
        for ref, status, offset in (("D-1", "available", 0), ("D-2", "sold", 200))
    ]
    path = tmp_path / "delta.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    report = import_file(empty_engine, "plots", path, crs="EPSG:3035", actor="delta import",
                         effective_date="2023-06-15")
    assert report.written, report.problems
    with empty_engine.connect() as conn:
        series = land_supply.supply_series(conn, "AT299", dt.date(2023, 1, 1),
                                           dt.date(2025, 12, 1))
    loaded = _month(series, "2023-06")
    assert loaded.opening_stock_m2 == 10_000  # the available plot; the sold one is taken
    assert loaded.new_supply_m2 == 0 and loaded.take_up_m2 == 0
    assert loaded.available_m2["serviced"] == 10_000

    # A later file cannot say it took effect before what the trail already holds.
    features[0]["properties"]["status"] = "reserved"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    with pytest.raises(InvalidInput, match="effective_date.*D-1"):
        import_file(empty_engine, "plots", path, crs="EPSG:3035", effective_date="2023-01-01")
    with empty_engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM plot WHERE cadastral_ref = 'D-1'")
                            ).scalar_one() == "available"


def test_a_bulk_file_names_the_row_whose_effective_date_cannot_be(history, empty_engine):
    rows = bulk_updates.read_table(
        b"cadastral_ref;status;effective_date\nA-2;reserved;1.5.2024\n"
        b"B-1;reserved;tomorrow\nA-5;occupied;2025-12-01\n", "changes.csv")
    with empty_engine.begin() as conn:
        report = bulk_updates.plan_updates(conn, history.account, rows)
    problems = {row["cadastral_ref"]: row["problems"] for row in report["rows"]}
    assert problems["A-2"] == [("effective_date: 2024-05-01 is before the plot's latest "
                                "recorded change (2024-07-01)")]
    assert problems["B-1"] and "effective_date" in problems["B-1"][0]
    assert problems["A-5"] == []
    with empty_engine.begin() as conn, pytest.raises(InvalidInput, match="row 2"):
        bulk_updates.apply_updates(conn, history.account, rows)


def test_effective_dates_are_refused_in_the_future_or_before_the_latest_change(
        history, empty_engine):
    with empty_engine.begin() as conn, pytest.raises(InvalidInput, match="in the future"):
        update_plot(conn, history.account, history.ids["A-2"], history.versions["A-2"],
                    {"status": "reserved"}, effective_date=dt.date.today() + dt.timedelta(days=2))
    with empty_engine.begin() as conn, pytest.raises(InvalidInput, match="latest recorded change"):
        update_plot(conn, history.account, history.ids["A-2"], history.versions["A-2"],
                    {"status": "reserved"}, effective_date="2024-06-30")
    with empty_engine.begin() as conn, pytest.raises(InvalidInput, match="effective_date"):
        update_plot(conn, history.account, history.ids["A-2"], history.versions["A-2"],
                    {"status": "reserved"}, effective_date="1989-12-31")
    with empty_engine.connect() as conn:  # nothing was written
        assert conn.execute(text("SELECT status FROM plot WHERE id = :id"),
                            {"id": history.ids["A-2"]}).scalar_one() == "available"


def test_the_kept_months_equal_the_whole_trail_computed_afresh(history, empty_engine):
    """The trigger adds each statement's plots as they change; a rebuild reads every event:
    both give the same figures, zone by zone and month by month."""
    def kept(conn):
        return sorted(tuple(row) for row in conn.execute(text(
            "SELECT zone_id, month, available_registered, available_serviced, "
            "available_shovel_ready, available_unknown, opening_stock, market_change, "
            "new_supply, take_up, reversed FROM zone_supply_month "
            "WHERE (available_registered, available_serviced, available_shovel_ready, "
            "available_unknown, opening_stock, market_change, new_supply, take_up, reversed) "
            "IS DISTINCT FROM (0, 0, 0, 0, 0, 0, 0, 0, 0)")))

    with empty_engine.begin() as conn:
        incremental = kept(conn)
        conn.execute(text("SELECT zone_supply_rebuild()"))
        assert kept(conn) == incremental
    assert len(incremental) > 10


def test_an_emptied_trail_leaves_no_figures_behind(history, empty_engine):
    with empty_engine.begin() as conn:
        conn.execute(text("TRUNCATE plot CASCADE"))
    with empty_engine.connect() as conn:
        assert conn.execute(text(
            "SELECT (SELECT count(*) FROM zone_supply_month) "
            "+ (SELECT count(*) FROM municipality_first_load)")).scalar_one() == 0
        series = land_supply.supply_series(conn, "SI099", dt.date(2025, 1, 1),
                                           dt.date(2025, 12, 1))
    assert series.summary.available_total_m2 == 0
    assert series.summary.years_of_supply_reason == "no_data"


def test_the_database_counts_statuses_as_the_vocabulary_orders_them():
    """supply_contributions counts statuses by position: 1 available, 1-3 on the market,
    4-5 taken, as the vocabulary has them."""
    from locations import sql
    from locations.vocabulary import PLOT_STATUS, READINESS, TAKEN_STATUSES

    source = sql.text_of("functions", "supply_contributions",
                         sql.current_versions()[("functions", "supply_contributions")])
    listed = ", ".join(f"'{code}'" for code in PLOT_STATUS.codes)
    assert " ".join(listed.split()) in " ".join(source.replace("\n", " ").split())
    assert PLOT_STATUS.codes[0] == "available"
    assert PLOT_STATUS.codes[:3] == land_supply.MARKET_STATUSES
    assert PLOT_STATUS.codes[3:5] == TAKEN_STATUSES
    assert ", ".join(f"'{code}'" for code in READINESS.codes) in source


def test_an_unknown_or_malformed_region_is_said_so(history, empty_engine):
    with empty_engine.connect() as conn:
        with pytest.raises(NotFound):
            land_supply.supply_series(conn, "SI098")
        with pytest.raises(InvalidInput):
            land_supply.supply_series(conn, "si099'")
        with pytest.raises(InvalidInput, match="after"):
            land_supply.supply_series(conn, "SI099", dt.date(2025, 1, 1), dt.date(2024, 1, 1))


# -- the API ------------------------------------------------------------------------------------


@pytest.fixture
def history_client(history, empty_engine):
    from api.app import create_app

    with TestClient(create_app(empty_engine)) as test_client:
        yield test_client


def test_the_api_gives_the_series_and_summary(history_client):
    answer = history_client.get("/regions/SI099/supply", params={"from": "2022-01",
                                                                "to": "2025-12"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["region"] == "SI099" and body["start"] == "2022-01-01"
    assert len(body["months"]) == 48
    by_month = {m["month"][:7]: m for m in body["months"]}
    assert by_month["2024-02"]["take_up_m2"] == 20_000
    assert by_month["2024-07"]["reversed_m2"] == 20_000
    assert by_month["2024-03"]["opening_stock_m2"] == 15_000
    assert body["summary"]["available_total_m2"] == 43_000
    assert body["summary"]["years_of_supply"] == pytest.approx(5.86, abs=0.01)

    none = history_client.get("/regions/AT299/supply", params={"to": "2025-12"}).json()
    assert none["summary"]["years_of_supply"] is None
    assert none["summary"]["years_of_supply_reason"] == "no_take_up"


def test_the_api_refuses_bad_regions_and_months(history_client):
    assert history_client.get("/regions/SI098/supply").status_code == 404
    bad = history_client.get("/regions/SI099/supply", params={"from": "2025-13"})
    assert bad.status_code in (400, 422) and "from" in bad.text
    backwards = history_client.get("/regions/SI099/supply",
                                   params={"from": "2025-06", "to": "2025-01"})
    assert backwards.status_code == 400 and "after" in backwards.json()["detail"]


def test_the_patch_takes_an_effective_date_into_the_history(history, history_client, empty_engine):
    with empty_engine.begin() as conn:
        token = create_account(conn, "alpha-editor", "municipality", municipalities=["Alpha"])
    headers = {"Authorization": f"Bearer {token}"}
    plot = history.ids["A-2"]
    etag = history_client.get(f"/plots/{plot}").headers["etag"]
    answer = history_client.patch(f"/plots/{plot}", headers={**headers, "If-Match": etag},
                                  json={"status": "reserved", "effective_date": "2025-12-01"})
    assert answer.status_code == 200, answer.text
    events = history_client.get(f"/plots/{plot}/history", headers=headers).json()["events"]
    assert events[-1]["effective_date"] == "2025-12-01"
    assert events[-1]["new_values"] == {"status": "reserved"}
    next_etag = f'"{int(etag.strip(chr(34))) + 1}"'
    late = history_client.patch(f"/plots/{plot}", headers={**headers, "If-Match": next_etag},
                                json={"status": "available", "effective_date": "2030-01-01"})
    assert late.status_code == 400 and "effective_date" in late.text


# -- the demo's history ---------------------------------------------------------------------------


@pytest.mark.parametrize("region", ["SI042", "SI032", "AT22"])
def test_the_demo_history_ends_in_the_plots_as_they_are(engine, region):
    """The reconstructed stock today equals the plot table's, tier by tier: the demo's trail
    is a history of these very plots, not figures of its own."""
    with engine.connect() as conn:
        series = land_supply.supply_series(conn, region)
        current = dict(conn.execute(text(
            "SELECT coalesce(p.readiness, 'unknown'), sum(p.area_m2) FROM plot p "
            "JOIN zone z ON z.id = p.zone_id JOIN municipality m ON m.id = z.municipality_id "
            "JOIN region r ON r.id = m.region_id "
            "WHERE r.code LIKE :code || '%' AND p.retired_at IS NULL AND p.status = 'available' "
            "GROUP BY 1"), {"code": region}).all())
        on_market = conn.execute(text(
            "SELECT sum(p.area_m2) FROM plot p "
            "JOIN zone z ON z.id = p.zone_id JOIN municipality m ON m.id = z.municipality_id "
            "JOIN region r ON r.id = m.region_id WHERE r.code LIKE :code || '%' "
            "AND p.retired_at IS NULL AND p.status IN ('available', 'reserved', "
            "'under_negotiation')"), {"code": region}).scalar_one()
    for tier in land_supply.TIERS:
        assert series.summary.available_m2[tier] == pytest.approx(current.get(tier, 0), abs=1)
    assert series.summary.on_market_m2 == pytest.approx(on_market, abs=1)
    # Several years with something happening, starting with the first loads of 2022.
    assert series.start.year == 2022
    years_with_take_up = {m.month.year for m in series.months if m.take_up_m2 > 0}
    years_with_new_supply = {m.month.year for m in series.months if m.new_supply_m2 > 0}
    assert {2022, 2023, 2024, 2025} <= years_with_take_up
    assert len(years_with_new_supply) >= 3
    assert series.summary.years_of_supply is not None and series.summary.years_of_supply > 0
