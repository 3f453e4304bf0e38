"""History a municipality can read back: complete and ordered, changes since a time, stale plots."""

from __future__ import annotations

from dateutil.relativedelta import relativedelta
from sqlalchemy import text

from locations.demo_load import DEMO_HISTORY_ACTOR
from tests.test_accounts import run_cli
from tests.test_plot_updates import make_account, plot_in, zone_in


def test_plot_history_is_complete_and_oldest_first(fresh_client, fresh_engine):
    kranj = make_account(fresh_engine, "kranj", "municipality", municipalities=["Kranj"])
    admin = make_account(fresh_engine, "admin", "admin")
    plot_id = plot_in(fresh_engine, "Kranj", "available")
    with fresh_engine.connect() as conn:
        old_price = float(conn.execute(text("SELECT price_eur_m2 FROM plot WHERE id = :id"),
                                       {"id": plot_id}).scalar_one())
    steps = [
        ("kranj", kranj, "PATCH", "", {"price_eur_m2": 71.5, "note": "new tariff"}),
        ("kranj", kranj, "PATCH", "", {"status": "reserved", "note": "Acme d.o.o. reserved"}),
        ("admin", admin, "POST", "/verify", {"note": "checked"}),
        ("kranj", kranj, "PATCH", "", {"status": "sold"}),
    ]
    for _, headers, method, suffix, body in steps:
        tag = fresh_client.get(f"/plots/{plot_id}").headers["ETag"]
        response = fresh_client.request(method, f"/plots/{plot_id}{suffix}", json=body,
                                        headers=headers | {"If-Match": tag})
        assert response.status_code == 200, response.text

    history = fresh_client.get(f"/plots/{plot_id}/history", headers=kranj).json()
    # The demo carries an illustrative trail of earlier years: it comes first, from the
    # plot's first load on; the changes made here follow it.
    demo = [e for e in history["events"] if e["actor"] == DEMO_HISTORY_ACTOR]
    assert demo and demo[0]["action"] == "import" and demo[0]["old_values"] is None
    assert history["events"][:len(demo)] == demo
    events = history["events"][len(demo):]
    assert [(e["actor"], e["action"]) for e in events] == [
        ("kranj", "update"), ("kranj", "update"), ("admin", "verify"), ("kranj", "update")]
    assert events[0]["old_values"] == {"price_eur_m2": old_price}
    assert events[0]["new_values"] == {"price_eur_m2": 71.5}
    assert events[0]["note"] == "new tariff"
    assert events[1]["old_values"] == {"status": "available"}
    assert events[1]["new_values"] == {"status": "reserved"}
    assert events[3]["old_values"] == {"status": "reserved"}
    assert events[3]["new_values"] == {"status": "sold"}
    times = [e["occurred_at"] for e in events]
    assert times == sorted(times)


def test_municipality_changes_since_a_time(fresh_client, fresh_engine):
    kranj = make_account(fresh_engine, "kranj", "municipality", municipalities=["Kranj"])
    plot_id = plot_in(fresh_engine, "Kranj", "available")
    zone_id = zone_in(fresh_engine, "Kranj")
    first = fresh_client.patch(f"/plots/{plot_id}", json={"price_eur_m2": 60},
                               headers=kranj | {"If-Match": fresh_client.get(f"/plots/{plot_id}").headers["ETag"]})
    assert first.status_code == 200
    with fresh_engine.connect() as conn:
        between = conn.execute(text("SELECT clock_timestamp()")).scalar_one()
    second = fresh_client.patch(f"/plots/{plot_id}", json={"status": "reserved"},
                                headers=kranj | {"If-Match": first.headers["ETag"]})
    zone = fresh_client.patch(f"/zones/{zone_id}", json={"broadband": "ftth", "gas": False},
                              headers=kranj | {"If-Match": fresh_client.get(f"/zones/{zone_id}").headers["ETag"]})
    assert second.status_code == 200 and zone.status_code == 200

    everything = fresh_client.get("/municipalities/Kranj/changes", headers=kranj).json()["changes"]
    # Besides the demo's illustrative trail of earlier years.
    assert len([c for c in everything if c["actor"] != DEMO_HISTORY_ACTOR]) == 3
    recent = fresh_client.get("/municipalities/Kranj/changes", params={"since": between.isoformat()},
                              headers=kranj).json()["changes"]
    assert [(c["subject"], c["subject_id"]) for c in recent] == [("plot", plot_id), ("zone", zone_id)]
    assert recent[0]["new_values"] == {"status": "reserved"}
    maribor = fresh_client.get("/municipalities/Maribor/changes",
                               headers=make_account(fresh_engine, "admin", "admin")).json()["changes"]
    assert {c["actor"] for c in maribor} == {DEMO_HISTORY_ACTOR}
    bad = fresh_client.get("/municipalities/Kranj/changes", params={"since": "last tuesday"},
                           headers=kranj)
    assert bad.status_code == 422 and "since" in bad.json()["detail"]


def test_stale_plots_are_listed_until_verified(fresh_client, fresh_engine):
    kranj = make_account(fresh_engine, "kranj", "municipality", municipalities=["Kranj"])
    with fresh_engine.connect() as conn:
        today = conn.execute(text("SELECT current_date")).scalar_one()
        plots = conn.execute(text(
            "SELECT p.id, p.last_verified FROM plot p JOIN zone z ON z.id = p.zone_id "
            "JOIN municipality m ON m.id = z.municipality_id "
            "WHERE m.name = 'Kranj' AND p.retired_at IS NULL")).all()
    cutoff = today - relativedelta(months=12)
    expected = {pid for pid, verified in plots if verified is None or verified < cutoff}
    assert expected, "the demo should have stale plots in Kranj"

    listed = fresh_client.get("/municipalities/Kranj/stale", params={"months": 12}, headers=kranj)
    assert {p["id"] for p in listed.json()["plots"]} == expected

    cli = run_cli(fresh_engine, "plots", "stale", "--municipality", "Kranj")
    assert cli.returncode == 0, cli.stderr
    assert f"{len(expected)} plots in Kranj" in cli.stdout

    one = min(expected)
    verified = fresh_client.post(f"/plots/{one}/verify", headers=kranj | {
        "If-Match": fresh_client.get(f"/plots/{one}").headers["ETag"]})
    assert verified.status_code == 200
    again = fresh_client.get("/municipalities/Kranj/stale", headers=kranj).json()["plots"]
    assert {p["id"] for p in again} == expected - {one}
    assert fresh_client.get("/municipalities/Kranj/stale", params={"months": 0},
                            headers=kranj).status_code == 422
