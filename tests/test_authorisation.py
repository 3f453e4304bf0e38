"""The authorisation matrix: every write endpoint by every role, own and other scope; nothing leaks."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import mapping
from sqlalchemy import Engine, text

from tests.plot_shapes import split_body, split_pair
from tests.test_plot_updates import free_square, make_account, plot_in, zone_in


def fingerprint(engine: Engine) -> tuple:
    """Everything a write could change, as digests: plots, zones and both audit trails."""
    with engine.connect() as conn:
        return tuple(conn.execute(text(
            """
            SELECT (SELECT md5(string_agg(p::text, ',' ORDER BY p.id)) FROM plot p),
                   (SELECT md5(string_agg(z::text, ',' ORDER BY z.id)) FROM zone z),
                   (SELECT count(*) FROM plot_event), (SELECT count(*) FROM zone_event)
            """)).one())


def cadastral_ref(engine: Engine, plot_id: int) -> str:
    with engine.connect() as conn:
        return conn.execute(text("SELECT cadastral_ref FROM plot WHERE id = :id"),
                            {"id": plot_id}).scalar_one()


def if_match(client: TestClient, path: str) -> dict[str, str]:
    return {"If-Match": client.get(path).headers["ETag"]}


# Each write endpoint as (request maker, success status); a target is the plot and zone to act on.
Write = Callable[[TestClient, Engine, dict, dict], object]


def patch_plot(client, engine, target, headers):
    return client.patch(f"/plots/{target['plot']}", json={"status": "reserved"},
                        headers=headers | if_match(client, f"/plots/{target['plot']}"))


def verify_plot(client, engine, target, headers):
    return client.post(f"/plots/{target['plot']}/verify",
                       headers=headers | if_match(client, f"/plots/{target['plot']}"))


def retire_plot(client, engine, target, headers):
    return client.post(f"/plots/{target['plot']}/retire", json={"note": "split"},
                       headers=headers | if_match(client, f"/plots/{target['plot']}"))


def create_plot(client, engine, target, headers):
    return client.post(
        f"/zones/{target['zone']}/plots",
        json={"cadastral_ref": f"NEW-{target['zone']}", "geometry": mapping(target["square"]),
              "crs": "EPSG:3035"},
        headers=headers | if_match(client, f"/zones/{target['zone']}"),
    )


def patch_zone(client, engine, target, headers):
    return client.patch(f"/zones/{target['zone']}", json={"power_mw": 7.5},
                        headers=headers | if_match(client, f"/zones/{target['zone']}"))


def bulk_import(client, engine, target, headers):
    csv = f"cadastral_ref;status\n{cadastral_ref(engine, target['plot'])};reserved\n"
    return client.post("/imports/plot-updates", files={"file": ("changes.csv", csv, "text/csv")},
                       headers=headers)


def split_plot(client, engine, target, headers):
    return client.post(f"/plots/{target['plot']}/split", json=split_body(engine, target["plot"]),
                       headers=headers | if_match(client, f"/plots/{target['plot']}"))


def merge_plots(client, engine, target, headers):
    plots = [{"id": plot, "version": int(if_match(client, f"/plots/{plot}")["If-Match"].strip('"'))}
             for plot in target["pair"]]
    return client.post("/plots/merge", json={"plots": plots, "cadastral_ref": f"MERGED-{target['zone']}",
                                             "note": "one buyer"}, headers=headers)


WRITES = {
    "PATCH /plots/{id}": (patch_plot, 200),
    "POST /plots/{id}/verify": (verify_plot, 200),
    "POST /plots/{id}/retire": (retire_plot, 200),
    "POST /zones/{id}/plots": (create_plot, 201),
    "PATCH /zones/{id}": (patch_zone, 200),
    "POST /imports/plot-updates": (bulk_import, 200),
    "POST /plots/{id}/split": (split_plot, 201),
    "POST /plots/merge": (merge_plots, 201),
}


def target_in(engine: Engine, municipality: str) -> dict:
    zone = zone_in(engine, municipality)
    square = free_square(engine, zone)  # retires one plot to make room: done before any check
    with engine.connect() as conn:
        plot = conn.execute(text("SELECT min(id) FROM plot WHERE zone_id = :z AND retired_at IS NULL "
                                 "AND status = 'available'"), {"z": zone}).scalar_one()
    # Two plots sharing an edge, for merging: made by splitting another plot of the zone.
    pair = split_pair(engine, zone, besides=plot)
    return {"plot": plot, "zone": zone, "square": square, "pair": pair}


@pytest.mark.parametrize("endpoint", list(WRITES))
def test_write_endpoint_by_every_role_and_scope(fresh_client, fresh_engine, endpoint):
    write, success = WRITES[endpoint]
    kranj = target_in(fresh_engine, "Kranj")
    maribor = target_in(fresh_engine, "Maribor")
    kranj_editor = make_account(fresh_engine, "kranj", "municipality", municipalities=["Kranj"])
    denied = [
        ("anonymous", {}, kranj, 401),
        ("unknown token", {"Authorization": "Bearer not-a-token"}, kranj, 401),
        ("investor", make_account(fresh_engine, "investor", "investor"), kranj, 403),
        ("agency of the region", make_account(fresh_engine, "gorenjska", "agency", regions=["SI042"]),
         kranj, 403),
        ("editor of another municipality",
         make_account(fresh_engine, "maribor", "municipality", municipalities=["Maribor"]), kranj, 403),
        ("editor on another municipality's item", kranj_editor, maribor, 403),
    ]
    before = fingerprint(fresh_engine)
    for caller, headers, target, expected in denied:
        response = write(fresh_client, fresh_engine, target, headers)
        assert response.status_code == expected, (caller, response.text)
        assert fingerprint(fresh_engine) == before, f"{caller} changed something"

    own = write(fresh_client, fresh_engine, kranj, kranj_editor)
    assert own.status_code == success, own.text
    after_own = fingerprint(fresh_engine)
    assert after_own != before

    admin = make_account(fresh_engine, "admin", "admin")
    anywhere = write(fresh_client, fresh_engine, maribor, admin)
    assert anywhere.status_code == success, anywhere.text
    assert fingerprint(fresh_engine) != after_own


def test_audit_reads_by_every_role_and_scope(fresh_client, fresh_engine):
    plot_id = plot_in(fresh_engine, "Kranj")
    callers = [
        ("anonymous", {}, 401),
        ("investor", make_account(fresh_engine, "investor", "investor"), 403),
        ("agency of the region", make_account(fresh_engine, "gorenjska", "agency", regions=["SI042"]),
         200),
        ("agency of another region", make_account(fresh_engine, "graz", "agency", regions=["AT221"]),
         403),
        ("editor of another municipality",
         make_account(fresh_engine, "maribor", "municipality", municipalities=["Maribor"]), 403),
        ("own editor", make_account(fresh_engine, "kranj", "municipality", municipalities=["Kranj"]),
         200),
        ("admin", make_account(fresh_engine, "admin", "admin"), 200),
    ]
    for caller, headers, expected in callers:
        for path in (f"/plots/{plot_id}/history", "/municipalities/Kranj/changes",
                     "/municipalities/Kranj/stale?months=12"):
            response = fresh_client.get(path, headers=headers)
            assert response.status_code == expected, (caller, path, response.text)


# -- imports and scoring runs ---------------------------------------------------------------------

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "samples" / "plots-generic.geojson"


def sample_plots(*refs: str) -> bytes:
    """The sample file's plots with those cadastral references, as a GeoJSON file."""
    collection = json.loads(SAMPLE.read_text())
    collection["features"] = [f for f in collection["features"]
                              if f["properties"]["cadastral_ref"] in refs]
    assert len(collection["features"]) == len(refs)
    return json.dumps(collection).encode()


def post_import(client: TestClient, headers: dict, file: bytes, target: str = "plots"):
    return client.post("/imports", headers=headers, data={"target": target},
                       files={"file": ("plots.geojson", file, "application/geo+json")})


def test_imports_by_every_role_and_scope(fresh_client, fresh_engine):
    kranj_plot = sample_plots("SAMPLE-1/1")  # PC Hrastje, Kranj (Gorenjska, SI042)
    loka_plot = sample_plots("SAMPLE-2/1")  # IC Trata, Skofja Loka (Gorenjska)
    maribor_plot = sample_plots("SAMPLE-3/1")  # PC Tezno, Maribor (Podravje, SI032)
    kranj = make_account(fresh_engine, "kranj", "municipality", municipalities=["Kranj"])
    gorenjska = make_account(fresh_engine, "gorenjska", "agency", regions=["SI042"])
    denied = [
        ("anonymous", {}, kranj_plot, "plots", 401),
        ("unknown token", {"Authorization": "Bearer not-a-token"}, kranj_plot, "plots", 401),
        ("investor", make_account(fresh_engine, "investor", "investor"), kranj_plot, "plots", 403),
        ("editor of another municipality",
         make_account(fresh_engine, "maribor", "municipality", municipalities=["Maribor"]),
         kranj_plot, "plots", 403),
        ("editor, another municipality's plot", kranj, loka_plot, "plots", 403),
        ("editor, a target only admins import", kranj, kranj_plot, "infrastructure", 403),
        ("agency of another region", make_account(fresh_engine, "graz", "agency", regions=["AT221"]),
         kranj_plot, "plots", 403),
        ("agency, another region's plot", gorenjska, maribor_plot, "plots", 403),
        ("agency, a target only admins import", gorenjska, kranj_plot, "regions", 403),
    ]
    before = fingerprint(fresh_engine)
    for caller, headers, file, target, expected in denied:
        response = post_import(fresh_client, headers, file, target)
        assert response.status_code == expected, (caller, response.text)
        assert fingerprint(fresh_engine) == before, f"{caller} changed something"

    allowed = [("own editor", kranj, kranj_plot), ("agency of the region", gorenjska, loka_plot),
               ("admin", make_account(fresh_engine, "admin", "admin"), maribor_plot)]
    for caller, headers, file in allowed:
        response = post_import(fresh_client, headers, file)
        assert response.status_code == 200, (caller, response.text)
        assert response.json()["created"] == 1, caller
        assert fingerprint(fresh_engine) != before, f"{caller} changed nothing"
        before = fingerprint(fresh_engine)


def score_runs(engine: Engine) -> list[tuple]:
    with engine.connect() as conn:
        return conn.execute(text("SELECT region_code, requested_by, status FROM score_run "
                                 "ORDER BY id")).all()


def test_scoring_runs_by_every_role_with_and_without_region(fresh_client, fresh_engine):
    """A run without a region scores, and sets the public ranking of, every region: an
    agency may start one only if it covers them all, as it may name only its own."""
    with fresh_engine.connect() as conn:
        every_region = conn.execute(text("SELECT code FROM region ORDER BY code")).scalars().all()
    gorenjska = make_account(fresh_engine, "gorenjska", "agency", regions=["SI042"])
    kranj = make_account(fresh_engine, "kranj", "municipality", municipalities=["Kranj"])
    investor = make_account(fresh_engine, "investor", "investor")
    admin = make_account(fresh_engine, "admin", "admin")
    cases = [
        ("anonymous", {}, None, 401),
        ("anonymous", {}, "SI042", 401),
        ("unknown token", {"Authorization": "Bearer not-a-token"}, None, 401),
        ("investor", investor, None, 403),
        ("investor", investor, "SI042", 403),
        ("municipality editor", kranj, None, 403),
        ("municipality editor", kranj, "SI042", 403),
        ("agency", gorenjska, "AT221", 403),
        ("agency", gorenjska, None, 403),
        ("agency", gorenjska, "XX999", 400),
        ("agency", gorenjska, "SI042", 202),
        ("agency of every region",
         make_account(fresh_engine, "all-agency", "agency", regions=every_region), None, 202),
        ("admin", admin, "AT221", 202),
        ("admin", admin, None, 202),
    ]
    for caller, headers, region, expected in cases:
        before = score_runs(fresh_engine)
        body = {"profile": "logistics"} | ({"region": region} if region else {})
        response = fresh_client.post("/scores/runs", json=body, headers=headers)
        assert response.status_code == expected, (caller, region, response.text)
        after = score_runs(fresh_engine)
        if expected != 202:
            assert after == before, f"{caller} started a run over {region or 'all regions'}"
            continue
        assert len(after) == len(before) + 1
        assert after[-1][:2] == (region, response.json()["requested_by"])
        assert after[-1][2] == "finished", (caller, region)
