"""The authorisation matrix: every write endpoint by every role, own and other scope; nothing leaks."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import mapping
from sqlalchemy import Engine, text

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


WRITES = {
    "PATCH /plots/{id}": (patch_plot, 200),
    "POST /plots/{id}/verify": (verify_plot, 200),
    "POST /plots/{id}/retire": (retire_plot, 200),
    "POST /zones/{id}/plots": (create_plot, 201),
    "PATCH /zones/{id}": (patch_zone, 200),
    "POST /imports/plot-updates": (bulk_import, 200),
}


def target_in(engine: Engine, municipality: str) -> dict:
    zone = zone_in(engine, municipality)
    square = free_square(engine, zone)  # retires one plot to make room: done before any check
    with engine.connect() as conn:
        plot = conn.execute(text("SELECT min(id) FROM plot WHERE zone_id = :z AND retired_at IS NULL "
                                 "AND status = 'available'"), {"z": zone}).scalar_one()
    return {"plot": plot, "zone": zone, "square": square}


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
