"""Scoring worked by hand: a small zone with known distances and facts, scored for logistics.

The layout (EPSG:3035 metres, origin X0, Y0). Every plot lies in the band
Y0..Y0+250 and every piece of infrastructure sits at Y0+100 west of the zone,
so a plot's distance to it is simply the x difference to the plot's west edge.

    x:   0      200  300     460  560  660   700  800
         | P1    |P2 | P3 sold |P4 |P5 |     |P6 |
         5 ha    1ha  4 ha      1ha 1ha       1ha

P1+P2 touch (6 ha contiguous available), P4+P5 touch (2 ha); P3 is sold.
P5's own zoning allows only retail; 60 % of P6 lies in a high flood-risk area;
P4 has no price, readiness, ownership or verification date.
"""

from __future__ import annotations

import datetime as dt
import math
import statistics

import pytest
from shapely.geometry import Point, box
from sqlalchemy import Engine, text

from locations.errors import InvalidInput
from locations.rankings import rankings
from locations.score_explanations import explain_plot, explain_zone
from locations.scoring import run_scoring
from locations.settings import PROJECT_ROOT
from locations.standard import load_standard

X0, Y0 = 4_700_000.0, 2_600_000.0
AS_OF = dt.date(2026, 6, 30)
STANDARD = load_standard(PROJECT_ROOT / "data" / "standards" / "location-standard-v1.yaml")

PLOTS = {
    # name: (x from, x to, y to, status, price, readiness, ownership, own MW, brownfield, uses,
    #        days since verified)
    "P1": (0, 200, 250, "available", 50, "shovel_ready", "public", None, False, [], 365),
    "P2": (200, 300, 100, "available", 100, "registered", "several", 12, True, [], 30),
    "P3": (300, 460, 250, "sold", 200, "serviced", "private", None, False, [], 30),
    "P4": (460, 560, 100, "available", None, None, None, None, False, [], None),
    "P5": (560, 660, 100, "available", 80, "serviced", "private", None, False, ["retail"], 30),
    "P6": (700, 800, 100, "available", 70, "serviced", "private", None, False, [], 30),
}
INFRASTRUCTURE = {  # kind: km west of the zone's west edge (x = 0)
    "motorway_junction": 7,
    "rail_freight_terminal": 16,
    "airport": 40,
    "bus_stop": 1,
    "rail_station": 10,
}
MUNICIPALITIES = {  # name: (seat x offset in m, population)
    "Home": (-20_000, 100_000),
    "Near": (10_000, 50_000),
    "Far": (35_000, 60_000),  # 34.8 km from P1's east edge, more from the rest: outside 30 km
}
FLOOD_HIGH = box(X0 + 690, Y0 - 10, X0 + 760, Y0 + 110)  # 60 m of P6's 100 m width
NATURA = box(X0 - 10, Y0 - 10, X0 + 50, Y0 + 260)  # 50 m of P1's 200 m width


def plot_shape(name: str):
    x0, x1, y1 = PLOTS[name][:3]
    return box(X0 + x0, Y0, X0 + x1, Y0 + y1)


@pytest.fixture
def worked(empty_engine: Engine) -> dict[str, int]:
    """Load the worked example and return plot ids by name."""
    ids: dict[str, int] = {}
    with empty_engine.begin() as conn:
        region = conn.execute(text(
            "INSERT INTO region (code, name, country) VALUES ('SI042', 'Gorenjska', 'SI') "
            "RETURNING id")).scalar_one()
        municipality_ids = {}
        for index, (name, (dx, population)) in enumerate(MUNICIPALITIES.items()):
            municipality_ids[name] = conn.execute(text(
                "INSERT INTO municipality (code, name, region_id, country, population, seat) "
                "VALUES (:c, :n, :r, 'SI', :pop, ST_SetSRID(ST_MakePoint(:x, :y), 3035)) "
                "RETURNING id"),
                {"c": str(index + 1), "n": name, "r": region, "pop": population,
                 "x": X0 + dx, "y": Y0 + 100}).scalar_one()
        for kind, km in INFRASTRUCTURE.items():
            conn.execute(text(
                "INSERT INTO infrastructure (kind, name, geom) "
                "VALUES (:k, :k, ST_SetSRID(ST_MakePoint(:x, :y), 3035))"),
                {"k": kind, "x": X0 - km * 1000, "y": Y0 + 100})
        zone = conn.execute(text("""
            INSERT INTO zone (municipality_id, name, kind, allowed_uses, power_mw, gas, water,
                              sewage, broadband, rail_siding, manager_name, manager_email,
                              description_en, description_sl, boundary)
            VALUES (:m, 'Worked zone', 'industrial', ARRAY['logistics', 'manufacturing'], 5,
                    false, true, 'treated', 'fast', false, 'Zone office', 'zone@example.org',
                    'A zone', 'Cona', ST_Multi(ST_GeomFromText(:wkt, 3035)))
            RETURNING id"""),
            {"m": municipality_ids["Home"],
             "wkt": box(X0, Y0 - 20, X0 + 1000, Y0 + 300).wkt}).scalar_one()
        for index, (name, fact) in enumerate(PLOTS.items()):
            _, _, _, status, price, readiness, ownership, mw, brownfield, uses, days = fact
            ids[name] = conn.execute(text("""
                INSERT INTO plot (zone_id, cadastral_ref, boundary, status, price_eur_m2,
                                  readiness, ownership, power_mw, brownfield, allowed_uses,
                                  last_verified)
                VALUES (:z, :ref, ST_Multi(ST_GeomFromText(:wkt, 3035)), :status, :price,
                        :readiness, :ownership, :mw, :brownfield, CAST(:uses AS text[]),
                        :verified)
                RETURNING id"""),
                {"z": zone, "ref": f"2100-{index + 1}", "wkt": plot_shape(name).wkt,
                 "status": status, "price": price, "readiness": readiness,
                 "ownership": ownership, "mw": mw, "brownfield": brownfield, "uses": uses,
                 "verified": None if days is None else AS_OF - dt.timedelta(days=days)},
            ).scalar_one()
        for kind, severity, name, shape in (("flood_risk", "high", "River", FLOOD_HIGH),
                                            ("natura2000", None, "Meadow", NATURA)):
            conn.execute(text(
                "INSERT INTO constraint_area (kind, severity, name, boundary) "
                "VALUES (:k, :s, :n, ST_Multi(ST_GeomFromText(:wkt, 3035)))"),
                {"k": kind, "s": severity, "n": name, "wkt": shape.wkt})
    ids["zone"] = zone
    return ids


def linear(value: float, best: float, worst: float) -> float:
    """The spec's "linear a..b": 100 at a, 0 at b, clamped."""
    return max(0.0, min(100.0, 100 * (worst - value) / (worst - best)))


# Logistics weights: accessibility 35 over A1..A4 = 8.75 each; infrastructure 15 over B1..B5 = 3;
# site 20 over C1..C3 = 6.667; readiness, market 10 over three = 3.333; management 5 over
# three = 1.667; sustainability 5 on G1 alone.
WEIGHTS = {**{c: 35 / 4 for c in ("A1", "A2", "A3", "A4")},
           **{c: 15 / 5 for c in ("B1", "B2", "B3", "B4", "B5")},
           **{c: 20 / 3 for c in ("C1", "C2", "C3")},
           **{c: 10 / 3 for c in ("D1", "D2", "D3", "E1", "E2", "E3")},
           **{c: 5 / 3 for c in ("F1", "F2", "F3")}, "G1": 5}

# Shared by every plot in the zone.
ZONE_AREA_HA = 5 + 1 + 4 + 1 + 1 + 1  # 13 ha of plots, 4 ha of them sold
MEDIAN_PRICE = statistics.median([50, 100, 80, 70])  # available plots with a price: 75
LABOUR_POOL = 100_000 + 50_000  # Home and Near; Far is beyond 30 km
ZONE_SCORES = {
    "B2": 60,  # fast broadband
    "B3": 100,  # water
    "B4": 100,  # treated sewage
    "B5": 0,  # no gas (a known "no" is data, not missing)
    "C3": 60,  # largest contiguous available area P1+P2 = 6 ha: 100 * 6/10
    "E2": 100 * (150_000 - 20_000) / (300_000 - 20_000),  # 46.43
    "E3": 100 * (4 / 13) / 0.6,  # occupancy 0.3077, rising edge 0..0.6: 51.28
    "F1": 100,  # named manager with e-mail
    "F3": 50,  # descriptions in two languages, no property sheet
}

EXPECTED_P1 = {
    **ZONE_SCORES,
    "A1": 100 * (25 - 7) / (25 - 2),  # 7 km: 78.26
    "A2": 100 * (30 - 16) / (30 - 1),  # 16 km: 48.28
    "A3": 100 * (90 - 40) / (90 - 15),  # 40 km: 66.67
    "A4": 100 * (5 - 1) / (5 - 0.5),  # bus stop 1 km: 88.89
    "B1": 50,  # zone's 5 MW of 10
    "C1": 100,  # 5 ha = logistics target
    "C2": 100,  # compactness 4*pi*50000/900^2 = 0.776 >= 0.6
    "D1": 100,  # shovel-ready
    "D2": 100,  # public single owner
    "D3": 100 * (0.5 - 0.25) / 0.5,  # a quarter in Natura 2000: 50
    "E1": 100,  # 50 / 75 = 0.667 <= 0.7
    "F2": 100 * (24 - 365 / (365.25 / 12)) / (24 - 6),  # 11.99 months: 66.71
    "G1": 0,
}
EXPECTED_P2 = {
    **ZONE_SCORES,
    "A1": 100 * (25 - 7.2) / 23,  # 77.39
    "A2": 100 * (30 - 16.2) / 29,  # 47.59
    "A3": 100 * (90 - 40.2) / 75,  # 66.40
    "A4": 100 * (5 - 1.2) / 4.5,  # 84.44
    "B1": 100,  # its own 12 MW
    "C1": 20,  # 1 ha of 5
    "C2": 100,  # a square: 0.785
    "D1": 30,  # registered
    "D2": 30,  # several owners
    "D3": 100,
    "E1": 100 * (1.5 - 100 / 75) / (1.5 - 0.7),  # 1.333x the median: 20.83
    "F2": 100,  # a month old
    "G1": 100,  # brownfield
}


def total(expected: dict[str, float], weights: dict[str, float] = WEIGHTS) -> float:
    return sum(expected[c] * weights[c] for c in weights) / 100


def test_hand_worked_totals_and_criteria(empty_engine: Engine, worked: dict[str, int]) -> None:
    run = run_scoring(empty_engine, "logistics", standard=STANDARD, as_of=AS_OF)
    assert run.plots == 6
    # P1, in per cent of weight:
    #   A 8.75 * (78.26 + 48.28 + 66.67 + 88.89) = 2468.4
    #   B 3 * (50 + 60 + 100 + 100 + 0)          =  930.0
    #   C 6.667 * (100 + 100 + 60)               = 1733.3
    #   D 3.333 * (100 + 100 + 50)               =  833.3
    #   E 3.333 * (100 + 46.43 + 51.28)          =  659.0
    #   F 1.667 * (100 + 66.71 + 50)             =  361.2
    #   G 5 * 0                                  =    0
    #   total 6985.2 / 100                       =   69.85
    assert total(EXPECTED_P1) == pytest.approx(69.85, abs=0.01)
    with empty_engine.connect() as conn:
        for name, expected in (("P1", EXPECTED_P1), ("P2", EXPECTED_P2)):
            score = explain_plot(conn, worked[name], "logistics")
            by_id = {c["id"]: c for c in score["criteria"]}
            for cid, value in expected.items():
                assert by_id[cid]["score"] == pytest.approx(value, abs=0.02), (name, cid)
                assert by_id[cid]["weight"] == pytest.approx(WEIGHTS[cid], abs=1e-3)
            assert score["total"] == pytest.approx(total(expected), abs=0.02), name
            assert sum(c["contribution"] for c in score["criteria"]) == pytest.approx(
                score["total"], abs=0.01)
            assert score["completeness"] == 1 and score["missing"] == []
            assert all(g["passed"] for g in score["gates"])
        p1 = {c["id"]: c for c in explain_plot(conn, worked["P1"], "logistics")["criteria"]}
    # Raw values in the spec's units, checked against shapely over the same shapes.
    shape = plot_shape("P1")
    assert p1["A1"]["raw"] == pytest.approx(
        shape.distance(Point(X0 - 7000, Y0 + 100)) / 1000, abs=1e-3)
    assert p1["C1"]["raw"] == pytest.approx(shape.area / 10_000, abs=1e-3)
    assert p1["C2"]["raw"] == pytest.approx(4 * math.pi * shape.area / shape.length ** 2, abs=1e-3)
    assert p1["D3"]["raw"] == pytest.approx(
        shape.intersection(NATURA).area / shape.area, abs=1e-4)
    assert p1["E1"]["raw"] == pytest.approx(50 / MEDIAN_PRICE, abs=1e-4)
    assert p1["E2"]["raw"] == LABOUR_POOL
    assert p1["B2"]["raw"] == "fast" and p1["B5"]["raw"] is False and p1["D1"]["raw"] == "shovel_ready"


def test_missing_data_scores_zero_lowers_completeness_and_is_listed(
    empty_engine: Engine, worked: dict[str, int]
) -> None:
    run_scoring(empty_engine, "logistics", standard=STANDARD, as_of=AS_OF)
    with empty_engine.connect() as conn:
        score = explain_plot(conn, worked["P4"], "logistics")
    assert score["missing"] == ["D1", "D2", "E1", "F2"]
    # Missing: readiness and ownership (3.333 each), price (3.333), verification (1.667).
    assert score["completeness"] == pytest.approx(1 - (3 * 10 / 3 + 5 / 3) / 100, abs=1e-4)
    by_id = {c["id"]: c for c in score["criteria"]}
    assert all(by_id[c]["score"] == 0 and by_id[c]["raw"] is None for c in score["missing"])


def test_gates_exclude_and_say_which(empty_engine: Engine, worked: dict[str, int]) -> None:
    run_scoring(empty_engine, "logistics", standard=STANDARD, as_of=AS_OF)
    with empty_engine.connect() as conn:
        ranked = rankings(conn, "logistics")
        failed = {name: [g["id"] for g in explain_plot(conn, worked[name], "logistics")["gates"]
                         if not g["passed"]]
                  for name in ("P3", "P5", "P6")}
        zone = explain_zone(conn, worked["zone"], "logistics")
    assert {p["id"] for p in ranked["plots"]} == {worked["P1"], worked["P2"], worked["P4"]}
    assert failed == {"P3": ["available"], "P5": ["zoning"], "P6": ["flood"]}
    # Highest first: P1 (69.85) before P2 and P4.
    assert ranked["plots"][0]["id"] == worked["P1"]
    assert ranked["standard"] == {"name": "location-standard", "version": "1"}
    # The zone: best ranked plot and the area-weighted mean of its ranked plots.
    with empty_engine.connect() as conn:
        totals = {name: explain_plot(conn, worked[name], "logistics")["total"]
                  for name in ("P1", "P2", "P4")}
    assert zone["best_plot"]["id"] == worked["P1"]
    assert zone["mean_score"] == pytest.approx(
        (5 * totals["P1"] + 1 * totals["P2"] + 1 * totals["P4"]) / 7, abs=0.02)
    assert {c["id"] for c in zone["criteria"]} == set(ZONE_SCORES) - {"E2"}


def test_changed_weights_reorder_as_predicted(empty_engine: Engine, worked: dict[str, int]) -> None:
    run_scoring(empty_engine, "logistics", standard=STANDARD, as_of=AS_OF)
    with empty_engine.connect() as conn:
        default = [p["id"] for p in rankings(conn, "logistics")["plots"]]
        green = rankings(conn, "logistics", weights="sustainability:100")
        mixed = rankings(conn, "logistics", weights="infrastructure:1,sustainability:1")
        stored_after = [p["id"] for p in rankings(conn, "logistics")["plots"]]
    assert default[:2] == [worked["P1"], worked["P2"]]
    # Only G1 counts: P2 (brownfield) 100, P1 and P4 0.
    assert green["plots"][0] == {**green["plots"][0], "id": worked["P2"], "score": 100}
    assert green["what_if"] and green["weights"]["sustainability"] == 100
    # Half infrastructure, half G1: P2 = (100+60+100+100+0)/5 * 0.5 + 100 * 0.5 = 86,
    # P1 = (50+60+100+100+0)/5 * 0.5 + 0 = 31, P4 the same zone facts as P1: 31.
    assert [p["score"] for p in mixed["plots"]] == pytest.approx([86, 31, 31], abs=0.01)
    assert mixed["plots"][0]["id"] == worked["P2"]
    assert stored_after == default  # a what-if stores nothing


def test_bad_what_if_weights_are_refused(empty_engine: Engine, worked: dict[str, int]) -> None:
    run_scoring(empty_engine, "logistics", standard=STANDARD, as_of=AS_OF)
    with empty_engine.connect() as conn:
        for weights, reason in (("roads:50", "unknown group 'roads'"),
                                ("accessibility:lots", "is not a number"),
                                ("accessibility:0", "above 0"),
                                ("accessibility", "is not group:weight")):
            with pytest.raises(InvalidInput, match=reason):
                rankings(conn, "logistics", weights=weights)


def test_stored_score_is_explained_with_the_standard_it_used(
    empty_engine: Engine, worked: dict[str, int]
) -> None:
    first = run_scoring(empty_engine, "logistics", standard=STANDARD, as_of=AS_OF)
    changed = STANDARD.model_copy(deep=True)
    changed.profiles["logistics"].weights.update(accessibility=5, sustainability=35)
    second = run_scoring(empty_engine, "logistics", standard=changed, as_of=AS_OF)
    with empty_engine.connect() as conn:
        old = explain_plot(conn, worked["P1"], "logistics", run_id=first.run_id)
        new = explain_plot(conn, worked["P1"], "logistics")
    assert new["run"]["id"] == second.run_id
    assert old["total"] == pytest.approx(total(EXPECTED_P1), abs=0.02)
    assert {c["id"]: c["weight"] for c in old["criteria"]}["A1"] == pytest.approx(8.75)
    assert {c["id"]: c["weight"] for c in new["criteria"]}["A1"] == pytest.approx(1.25)


def test_a_moved_constraint_area_is_seen_by_the_next_run(
    empty_engine: Engine, worked: dict[str, int]
) -> None:
    run_scoring(empty_engine, "logistics", standard=STANDARD, as_of=AS_OF)
    with empty_engine.begin() as conn:
        # The Natura 2000 area now covers all of P1: D3 raw 1.0, score 0.
        conn.execute(text("UPDATE constraint_area SET boundary = ST_Multi(ST_GeomFromText(:w, 3035)) "
                          "WHERE name = 'Meadow'"),
                     {"w": box(X0 - 10, Y0 - 10, X0 + 210, Y0 + 260).wkt})
    run_scoring(empty_engine, "logistics", standard=STANDARD, as_of=AS_OF)
    with empty_engine.connect() as conn:
        d3 = {c["id"]: c for c in explain_plot(conn, worked["P1"], "logistics")["criteria"]}["D3"]
    assert d3["raw"] == pytest.approx(1.0) and d3["score"] == 0


def test_rail_siding_in_the_zone_counts_as_zero_km(
    empty_engine: Engine, worked: dict[str, int]
) -> None:
    with empty_engine.begin() as conn:
        conn.execute(text("UPDATE zone SET rail_siding = true"))
    run_scoring(empty_engine, "logistics", standard=STANDARD, as_of=AS_OF)
    with empty_engine.connect() as conn:
        a2 = {c["id"]: c for c in explain_plot(conn, worked["P1"], "logistics")["criteria"]}["A2"]
    assert a2["raw"] == 0 and a2["score"] == 100


def test_a_regional_run_scores_only_that_region(
    empty_engine: Engine, worked: dict[str, int]
) -> None:
    with pytest.raises(InvalidInput, match="unknown region"):
        run_scoring(empty_engine, "logistics", standard=STANDARD, region="AT221")
    run = run_scoring(empty_engine, "logistics", standard=STANDARD, region="SI042", as_of=AS_OF)
    assert run.plots == 6 and run.region == "SI042"


def test_a_newer_regional_run_supersedes_the_older_full_run(
    empty_engine: Engine, worked: dict[str, int]
) -> None:
    full = run_scoring(empty_engine, "logistics", standard=STANDARD, as_of=AS_OF)
    with empty_engine.begin() as conn:
        # P2 loses its brownfield flag: G1 drops from 100 to 0, its total by 5 points.
        conn.execute(text("UPDATE plot SET brownfield = false WHERE id = :id"),
                     {"id": worked["P2"]})
    regional = run_scoring(empty_engine, "logistics", standard=STANDARD, region="SI042",
                           as_of=AS_OF)
    with empty_engine.connect() as conn:
        ranked = {p["id"]: p["score"] for p in rankings(conn, "logistics")["plots"]}
        current = dict(conn.execute(text(
            "SELECT plot_id, run_id FROM current_plot_score WHERE profile = 'logistics'")).all())
    assert ranked[worked["P2"]] == pytest.approx(total(EXPECTED_P2) - 5, abs=0.02)
    assert ranked[worked["P1"]] == pytest.approx(total(EXPECTED_P1), abs=0.02)
    assert set(current.values()) == {regional.run_id} and full.run_id != regional.run_id
    assert len(current) == 6


def test_detail_view_gives_the_breakdown_as_jsonb(
    empty_engine: Engine, worked: dict[str, int]
) -> None:
    run = run_scoring(empty_engine, "logistics", standard=STANDARD, as_of=AS_OF)
    with empty_engine.connect() as conn:
        detail = conn.execute(text(
            "SELECT breakdown, missing, total FROM plot_score_detail "
            "WHERE run_id = :r AND plot_id = :p"), {"r": run.run_id, "p": worked["P4"]}).one()
    by_id = {item["id"]: item for item in detail.breakdown}
    assert list(by_id) == list(STANDARD.criteria)
    assert detail.missing == ["D1", "D2", "E1", "F2"]
    assert by_id["E1"]["raw"] is None and by_id["E1"]["score"] == 0
    assert sum(item["contribution"] for item in detail.breakdown) == pytest.approx(
        detail.total, abs=0.01)


def _kept(conn, run_id: int) -> tuple[dict, dict, dict]:
    """Site metrics, distances and the run's scores as stored, by plot (no timestamps)."""
    metrics = {row[0]: tuple(row[1:]) for row in conn.execute(text(
        "SELECT plot_id, compactness, constraint_share, flood_high_share, labour_pool "
        "FROM plot_site_metrics"))}
    distances = {row[0]: tuple(row[1:]) for row in conn.execute(text(
        "SELECT plot_id, motorway_km, rail_station_km, rail_freight_km, airport_km, "
        "public_transport_km FROM plot_proximity"))}
    scores = {row[0]: tuple(row[1:]) for row in conn.execute(text(
        "SELECT plot_id, total, completeness, passed, gates_failed, raw, score "
        "FROM plot_score WHERE run_id = :r"), {"r": run_id})}
    return metrics, distances, scores


def test_kept_metrics_and_distances_refreshed_as_things_change_equal_a_full_recomputation(
    empty_engine: Engine, worked: dict[str, int]
) -> None:
    """Whatever changed between runs, what the triggers and the next run keep is exactly
    what computing everything anew gives: no stale share, pool or distance survives."""
    run_scoring(empty_engine, "logistics", standard=STANDARD, as_of=AS_OF)
    with empty_engine.begin() as conn:
        # A plot grows over the flood area's edge, another plot joins the zone.
        conn.execute(text("UPDATE plot SET boundary = ST_Multi(ST_GeomFromText(:w, 3035)) "
                          "WHERE id = :id"),
                     {"w": box(X0 + 560, Y0, X0 + 700, Y0 + 100).wkt, "id": worked["P5"]})
        conn.execute(text(
            "INSERT INTO plot (zone_id, cadastral_ref, boundary, status) "
            "VALUES (:z, '2100-99', ST_Multi(ST_GeomFromText(:w, 3035)), 'available')"),
            {"z": worked["zone"], "w": box(X0 + 820, Y0, X0 + 950, Y0 + 120).wkt})
        # Constraint areas move, go and come.
        conn.execute(text("UPDATE constraint_area SET boundary = ST_Multi(ST_GeomFromText(:w, 3035)) "
                          "WHERE name = 'River'"),
                     {"w": box(X0 + 600, Y0 - 10, X0 + 760, Y0 + 110).wkt})
        conn.execute(text("DELETE FROM constraint_area WHERE name = 'Meadow'"))
        conn.execute(text(
            "INSERT INTO constraint_area (kind, name, boundary) "
            "VALUES ('water_protection', 'Well', ST_Multi(ST_GeomFromText(:w, 3035)))"),
            {"w": box(X0 + 250, Y0 - 10, X0 + 380, Y0 + 300).wkt})
        # Populations change, a seat moves within 30 km, a new municipality counts.
        conn.execute(text("UPDATE municipality SET population = 120000 WHERE name = 'Home'"))
        conn.execute(text("UPDATE municipality SET seat = ST_SetSRID(ST_MakePoint(:x, :y), 3035) "
                          "WHERE name = 'Far'"), {"x": X0 + 29_900, "y": Y0 + 100})
        conn.execute(text(
            "INSERT INTO municipality (code, name, region_id, country, population, seat) "
            "SELECT '9', 'New', region_id, 'SI', 7000, ST_SetSRID(ST_MakePoint(:x, :y), 3035) "
            "FROM municipality WHERE name = 'Home'"), {"x": X0 + 500, "y": Y0 - 25_000})
        # A motorway junction opens nearer, the airport closes.
        conn.execute(text("INSERT INTO infrastructure (kind, name, geom) VALUES "
                          "('motorway_junction', 'new', ST_SetSRID(ST_MakePoint(:x, :y), 3035))"),
                     {"x": X0 + 400, "y": Y0 - 3_000})
        conn.execute(text("DELETE FROM infrastructure WHERE kind = 'airport'"))
    incremental = run_scoring(empty_engine, "logistics", standard=STANDARD, as_of=AS_OF)
    with empty_engine.connect() as conn:
        kept_metrics, kept_distances, kept_scores = _kept(conn, incremental.run_id)
    with empty_engine.begin() as conn:
        conn.execute(text("TRUNCATE plot_site_metrics, plot_proximity"))
        conn.execute(text("SELECT plot_proximity_refresh(NULL)"))
    full = run_scoring(empty_engine, "logistics", standard=STANDARD, as_of=AS_OF)
    with empty_engine.connect() as conn:
        metrics, distances, scores = _kept(conn, full.run_id)

    assert len(metrics) == len(distances) == len(scores) == 7
    assert kept_metrics == metrics
    assert kept_distances == distances
    assert kept_scores == scores
    # The changes reached the scores: P5's flood share, P1's lifted Natura area, the pools.
    p5 = kept_metrics[worked["P5"]]
    assert p5[2] == pytest.approx(100 / 140) and kept_metrics[worked["P1"]][1] == 0
    assert kept_metrics[worked["P1"]][3] == 120_000 + 50_000 + 60_000 + 7_000


def test_a_warm_run_measures_again_the_one_plot_whose_outline_changed(
    empty_engine: Engine, worked: dict[str, int]
) -> None:
    """A run with every other plot's site metrics kept (a warm run) still measures the plot
    that lost its metrics, as a run measuring everything anew does."""
    first = run_scoring(empty_engine, "logistics", standard=STANDARD, as_of=AS_OF)
    with empty_engine.begin() as conn:
        before, _, _ = _kept(conn, first.run_id)
        plots = conn.execute(text("SELECT count(*) FROM plot WHERE retired_at IS NULL")).scalar_one()
        # The plot grows over the flood area's edge: only its own metrics are dropped.
        conn.execute(text("UPDATE plot SET boundary = ST_Multi(ST_GeomFromText(:w, 3035)) "
                          "WHERE id = :id"),
                     {"w": box(X0 + 560, Y0, X0 + 700, Y0 + 100).wkt, "id": worked["P5"]})
        kept_before = conn.execute(text("SELECT count(*) FROM plot_site_metrics")).scalar_one()
    assert kept_before == plots - 1
    warm = run_scoring(empty_engine, "logistics", standard=STANDARD, as_of=AS_OF)
    with empty_engine.connect() as conn:
        kept_metrics, _, kept_scores = _kept(conn, warm.run_id)
    with empty_engine.begin() as conn:
        conn.execute(text("TRUNCATE plot_site_metrics"))
    full = run_scoring(empty_engine, "logistics", standard=STANDARD, as_of=AS_OF)
    with empty_engine.connect() as conn:
        metrics, _, scores = _kept(conn, full.run_id)

    assert len(kept_metrics) == plots
    assert kept_metrics == metrics
    assert kept_scores == scores
    # The change reached it: part of it lies in the flood area now, none did before.
    assert kept_metrics[worked["P5"]][2] > 0 == before[worked["P5"]][2]


# Every plot against every seat and constraint area, one plot at a time: what the kept site
# metrics must equal, however the run settles them (per zone where it can).
_SITE_METRICS_ONE_BY_ONE = """
SELECT p.id, 4 * pi() * p.area_m2 / (ST_Perimeter(p.boundary) ^ 2),
       least(1, coalesce((SELECT ST_Area(ST_Union(ST_Intersection(ca.boundary, p.boundary)))
                          FROM constraint_area ca
                          WHERE ST_Intersects(ca.boundary, p.boundary)), 0) / p.area_m2),
       least(1, coalesce((SELECT ST_Area(ST_Union(ST_Intersection(ca.boundary, p.boundary)))
                          FROM constraint_area ca
                          WHERE ca.kind = 'flood_risk' AND ca.severity = 'high'
                            AND ST_Intersects(ca.boundary, p.boundary)), 0) / p.area_m2),
       (SELECT sum(m.population) FROM municipality m
        WHERE m.population IS NOT NULL AND ST_DWithin(m.seat, p.boundary, 30000))
FROM plot p WHERE p.retired_at IS NULL
"""


def test_site_metrics_settled_per_zone_equal_each_plot_tested_alone(
    empty_engine: Engine, worked: dict[str, int]
) -> None:
    """The labour pool is summed per zone for the seats that reach all its plots or none,
    and plot by plot only for seats on the edge of the zone's reach; constraint shares are
    looked for only in zones near an area. Each kept figure still equals testing each plot
    against every seat and area on its own: seats reaching some of a zone's plots and not
    others, a seat exactly 30 km from a plot, a zone no seat reaches inside an area."""
    with empty_engine.begin() as conn:
        home = conn.execute(text("SELECT id, region_id FROM municipality WHERE name = 'Home'")).one()
        for code, population, x in (
            # 29.5 km east of P6, exactly 30 km of P2, 30.1 km of P1: not every plot.
            ("21", 7_000, X0 + 30_300),
            # Exactly 30 km west of P1: within reach (ST_DWithin counts equal), P2 not.
            ("22", 900, X0 - 30_000),
            # 29.9 km west of P1, 30.1 km of P2: one plot of the zone only.
            ("23", 40, X0 - 29_900),
        ):
            conn.execute(text(
                "INSERT INTO municipality (code, name, region_id, country, population, seat) "
                "VALUES (:c, :c, :r, 'SI', :pop, ST_SetSRID(ST_MakePoint(:x, :y), 3035))"),
                {"c": code, "r": home.region_id, "pop": population, "x": x, "y": Y0 + 100})
        # A zone 200 km east, out of every seat's reach, with a plot half in a constraint area.
        far = conn.execute(text(
            "INSERT INTO zone (municipality_id, name, kind, boundary) VALUES "
            "(:m, 'Remote', 'industrial', ST_Multi(ST_GeomFromText(:w, 3035))) RETURNING id"),
            {"m": home.id, "w": box(X0 + 200_000, Y0, X0 + 201_000, Y0 + 300).wkt}).scalar_one()
        conn.execute(text(
            "INSERT INTO plot (zone_id, cadastral_ref, boundary) "
            "VALUES (:z, 'far-1', ST_Multi(ST_GeomFromText(:w, 3035)))"),
            {"z": far, "w": box(X0 + 200_000, Y0, X0 + 200_100, Y0 + 100).wkt})
        conn.execute(text(
            "INSERT INTO constraint_area (kind, severity, name, boundary) "
            "VALUES ('flood_risk', 'high', 'Remote river', ST_Multi(ST_GeomFromText(:w, 3035)))"),
            {"w": box(X0 + 200_050, Y0 - 10, X0 + 200_300, Y0 + 110).wkt})
    run_scoring(empty_engine, "logistics", standard=STANDARD, as_of=AS_OF)
    with empty_engine.connect() as conn:
        kept = {row[0]: row[1:] for row in conn.execute(text(
            "SELECT plot_id, compactness, constraint_share, flood_high_share, labour_pool "
            "FROM plot_site_metrics"))}
        alone = {row[0]: row[1:] for row in conn.execute(text(_SITE_METRICS_ONE_BY_ONE))}
        remote = conn.execute(text("SELECT id FROM plot WHERE cadastral_ref = 'far-1'")).scalar_one()
    assert set(kept) == set(alone) and len(kept) == 7
    for plot_id, figures in alone.items():
        compactness, share, flood, pool = kept[plot_id]
        assert compactness == pytest.approx(figures[0], rel=1e-12)
        assert share == pytest.approx(figures[1], abs=1e-9)
        assert flood == pytest.approx(figures[2], abs=1e-9)
        assert pool == figures[3], plot_id
    pools = {name: kept[worked[name]][3] for name in ("P1", "P2", "P4", "P6")}
    # Home, Near and the two seats west reach P1; the one east does not, and P2 only that.
    assert pools["P1"] == 100_000 + 50_000 + 900 + 40
    assert pools["P2"] == 100_000 + 50_000 + 7_000
    assert pools["P4"] == 100_000 + 50_000 + 7_000
    assert pools["P6"] == 100_000 + 50_000 + 7_000
    assert kept[remote][3] is None and kept[remote][2] == pytest.approx(0.5)
