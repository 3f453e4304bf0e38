"""The municipality's workspace as its editors meet it, below the browser: their plots (stale
first, counts, filters, scope), the form's reading of what they typed, what someone else
changed meanwhile, and a plot's history as the public and as the editors see it."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, text

from locations import history, plot_updates, vocabulary, workspace
from locations.accounts import account_by_name, create_account
from locations.errors import Forbidden, PreconditionFailed


def _account(engine: Engine, name: str, role: str, **scope):
    with engine.begin() as conn:
        create_account(conn, name, role, **scope)
        return account_by_name(conn, name)


def _plots_of(engine: Engine, municipality: str) -> list[dict]:
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(text("""
            SELECT p.id, p.status, p.last_verified, p.zone_id, p.cadastral_ref
            FROM plot p JOIN zone z ON z.id = p.zone_id
            JOIN municipality m ON m.id = z.municipality_id
            WHERE m.name = :m AND p.retired_at IS NULL ORDER BY p.id"""), {"m": municipality})
            .mappings()]


@pytest.fixture(scope="module")
def people(pg_server, template_db):
    """A private copy of the demo with a Kranj editor, a Gorenjska analyst, an investor and
    an admin; the module's tests only read, or write to plots no other test reads."""
    from tests.conftest import _drop_database, _engine_from_template

    name, engine = _engine_from_template(pg_server, template_db, "locations_test_workspace")
    accounts = {
        "kranj": _account(engine, "kranj-editor", "municipality", municipalities=["Kranj"]),
        "agency": _account(engine, "gorenjska-analyst", "agency", regions=["SI042"]),
        "investor": _account(engine, "an-investor", "investor"),
        "admin": _account(engine, "the-admin", "admin"),
    }
    yield engine, accounts
    engine.dispose()
    _drop_database(pg_server, name)


def test_an_editor_lists_only_the_municipality_s_live_plots_stale_first(people):
    engine, accounts = people
    kranj = _plots_of(engine, "Kranj")
    with engine.connect() as conn:
        result = workspace.my_plots(conn, accounts["kranj"], workspace.PlotListFilter(), 12)
        today = conn.execute(text("SELECT current_date")).scalar_one()
    assert {p["id"] for p in result["plots"]} == {p["id"] for p in kranj}
    assert result["total"] == len(kranj)
    assert [place["name"] for place in result["municipalities"]] == ["Kranj"]
    # The counts are the municipality's, status by status.
    for status, count in result["counts"].items():
        assert count == sum(1 for p in kranj if p["status"] == status), status
    # Longest unverified first; a plot verified within 12 months is never above a stale one.
    verified = [dt.date.fromisoformat(p["last_verified"]) for p in result["plots"]]
    assert verified == sorted(verified)
    limit = dt.date(today.year - 1, today.month, min(today.day, 28))
    stale = [p for p in result["plots"] if p["stale"]]
    assert stale and all(dt.date.fromisoformat(p["last_verified"]) <= limit for p in stale)
    assert result["stale_count"] == len(stale)
    assert result["plots"][: len(stale)] == stale


def test_the_list_filters_by_status_zone_text_and_staleness(people):
    engine, accounts = people
    kranj = _plots_of(engine, "Kranj")
    editor = accounts["kranj"]
    with engine.connect() as conn:
        available = workspace.my_plots(
            conn, editor, workspace.PlotListFilter(statuses=("available",)), 12)
        zone_id = kranj[0]["zone_id"]
        in_zone = workspace.my_plots(conn, editor, workspace.PlotListFilter(zone_id=zone_id), 12)
        ref = kranj[3]["cadastral_ref"]
        by_text = workspace.my_plots(conn, editor, workspace.PlotListFilter(text=ref), 12)
        # % and _ are letters here, not wildcards.
        wildcard = workspace.my_plots(conn, editor, workspace.PlotListFilter(text="%"), 12)
        stale = workspace.my_plots(conn, editor, workspace.PlotListFilter(stale_only=True), 12)
        fresh_months = workspace.my_plots(conn, editor, workspace.PlotListFilter(stale_only=True),
                                          240)
    assert {p["id"] for p in available["plots"]} == {
        p["id"] for p in kranj if p["status"] == "available"}
    # The counts stay the municipality's whatever the list shows.
    assert available["counts"]["sold"] == sum(1 for p in kranj if p["status"] == "sold")
    assert {p["id"] for p in in_zone["plots"]} == {p["id"] for p in kranj
                                                    if p["zone_id"] == zone_id}
    assert ref in [p["cadastral_ref"] for p in by_text["plots"]]
    assert all(ref in p["cadastral_ref"] for p in by_text["plots"])
    assert wildcard["plots"] == []
    assert stale["plots"] and all(p["stale"] for p in stale["plots"])
    assert fresh_months["plots"] == []


def test_who_sees_which_plots(people):
    engine, accounts = people
    with engine.connect() as conn:
        maribor = conn.execute(text("SELECT id FROM municipality WHERE name = 'Maribor'")
                               ).scalar_one()
        with pytest.raises(Forbidden):
            workspace.my_plots(conn, accounts["investor"], workspace.PlotListFilter(), 12)
        with pytest.raises(Forbidden):
            workspace.my_plots(conn, accounts["kranj"],
                               workspace.PlotListFilter(municipality_id=maribor), 12)
        everything = workspace.my_plots(conn, accounts["admin"], workspace.PlotListFilter(), 12)
        only_maribor = workspace.my_plots(
            conn, accounts["admin"], workspace.PlotListFilter(municipality_id=maribor), 12)
        gorenjska = workspace.my_plots(conn, accounts["agency"], workspace.PlotListFilter(), 12)
        live = conn.execute(text("SELECT count(*) FROM plot WHERE retired_at IS NULL")
                            ).scalar_one()
    assert everything["total"] == live
    assert len(everything["municipalities"]) > 10
    assert {p["municipality_name"] for p in only_maribor["plots"]} == {"Maribor"}
    assert "Kranj" in {p["municipality_name"] for p in gorenjska["plots"]}
    assert "Maribor" not in {p["municipality_name"] for p in gorenjska["plots"]}


def test_the_form_is_refused_for_another_municipality_and_for_readers(people):
    engine, accounts = people
    maribor_plot = _plots_of(engine, "Maribor")[0]["id"]
    kranj_plot = _plots_of(engine, "Kranj")[0]["id"]
    with engine.connect() as conn:
        with pytest.raises(workspace.PlotOutOfReach) as refused:
            workspace.plot_for_form(conn, accounts["kranj"], maribor_plot)
        assert refused.value.municipality_name == "Maribor"
        with pytest.raises(workspace.PlotOutOfReach) as reader:
            workspace.plot_for_form(conn, accounts["agency"], kranj_plot)
        assert reader.value.reader
        form = workspace.plot_for_form(conn, accounts["kranj"], kranj_plot)
    assert form["next_statuses"] == vocabulary.STATUS_TRANSITIONS[form["status"]]


def test_the_form_reads_every_field_and_names_each_problem():
    parsed, problems = workspace.read_form({
        "status": "reserved", "price_eur_m2": "80,5", "offer": "lease",
        "available_from": "1. 3. 2027", "readiness": "serviced",
        "allowed_uses": ["logistics", "manufacturing"], "power_mw": "",
        "max_building_height_m": "18,5", "owner_contact": " ",
        "internal_note": "call first"})
    assert problems == {}
    assert parsed["price_eur_m2"] == 80.5
    assert parsed["available_from"] == dt.date(2027, 3, 1)
    assert parsed["power_mw"] is None and parsed["owner_contact"] is None
    assert parsed["max_building_height_m"] == 18.5
    _, problems = workspace.read_form({
        "status": "", "price_eur_m2": "cheap", "offer": "gift", "available_from": "soon",
        "readiness": "serviced", "allowed_uses": ["casino"], "power_mw": "20000",
        "max_building_height_m": "0,5", "owner_contact": "a\x00b", "internal_note": "x" * 6000})
    assert {name: p.code for name, p in problems.items()} == {
        "status": "cleared", "price_eur_m2": "number", "offer": "choice",
        "available_from": "date", "allowed_uses": "choice", "power_mw": "number",
        "max_building_height_m": "number", "owner_contact": "control", "internal_note": "too_long"}
    assert workspace.transition_problem("occupied", "reserved").params["allowed"] == (
        "available",)
    assert workspace.transition_problem("available", "reserved") is None


def test_only_the_fields_the_editor_changed_are_theirs():
    opened = {"status": "available", "price_eur_m2": 80.0, "allowed_uses": ["a", "b"],
              "owner_contact": None}
    submitted = {"status": "available", "price_eur_m2": 80.0, "allowed_uses": ["b", "a"],
                 "owner_contact": "Ana, 041 000 000"}
    assert workspace.my_changes(opened, submitted) == {"owner_contact": "Ana, 041 000 000"}


def test_what_changed_meanwhile_names_who_what_and_why(people):
    engine, accounts = people
    editor = accounts["kranj"]
    plot_id = [p for p in _plots_of(engine, "Kranj") if p["status"] == "available"][-1]["id"]
    with engine.connect() as conn:
        opened = workspace.plot_for_form(conn, editor, plot_id)
    other = _account(engine, "kranj-colleague", "municipality", municipalities=["Kranj"])
    with engine.begin() as conn:
        plot_updates.update_plot(conn, other, plot_id, opened["version"],
                                 {"status": "reserved", "price_eur_m2": 91},
                                 note="reserved for Acme")
    mine = {"status": "sold", "internal_note": "contract signed"}
    with engine.begin() as conn, pytest.raises(PreconditionFailed):
        plot_updates.update_plot(conn, editor, plot_id, opened["version"], mine)
    with engine.connect() as conn:
        meanwhile = workspace.changed_meanwhile(conn, editor, plot_id, opened["latest_event"],
                                                mine)
    [event] = meanwhile["events"]
    assert event["actor"] == "kranj-colleague" and event["note"] == "reserved for Acme"
    assert event["new_values"] == {"status": "reserved", "price_eur_m2": 91.0}
    assert meanwhile["fields"] == [
        {"field": "status", "theirs": "reserved", "mine": "sold", "same": False},
        {"field": "internal_note", "theirs": None, "mine": "contract signed", "same": False}]
    assert meanwhile["current"]["version"] == opened["version"] + 1


def test_the_public_history_hides_names_reasons_and_internal_fields(people):
    engine, accounts = people
    editor = accounts["kranj"]
    plot_id = next(p for p in _plots_of(engine, "Kranj") if p["status"] == "available")["id"]
    with engine.connect() as conn:
        version = workspace.plot_for_form(conn, editor, plot_id)["version"]
    with engine.begin() as conn:
        version = plot_updates.update_plot(conn, editor, plot_id, version,
                                           {"internal_note": "owner wants 95"},
                                           note="call with the owner")
        version = plot_updates.update_plot(conn, editor, plot_id, version,
                                           {"status": "reserved", "internal_note": "Acme"},
                                           note="reserved by Acme")
        plot_updates.verify_plot(conn, accounts["admin"], plot_id, version)
    with engine.connect() as conn:
        public = history.plot_changes(conn, None, plot_id)
        investor = history.plot_changes(conn, accounts["investor"], plot_id,
                                        actor="kranj-editor")
        internal = history.plot_changes(conn, editor, plot_id)
        by_admin = history.plot_changes(conn, editor, plot_id, actor="the-admin")
        by_editor = history.plot_changes(conn, editor, plot_id, actor="kranj-editor")
        today = conn.execute(text("SELECT current_date")).scalar_one()
        earlier = history.plot_changes(conn, editor, plot_id,
                                       until=today - dt.timedelta(days=1))
        today_only = history.plot_changes(conn, editor, plot_id, since=today)
    assert not public["internal"] and public["actors"] == []
    # Newest first. The change of the internal note alone is not shown to the public at all;
    # the reservation is, without its internal note; the demo's older history follows.
    assert [e["action"] for e in public["events"][:2]] == ["verify", "update"]
    assert len(public["events"]) == len(internal["events"]) - 1
    reservation = public["events"][1]
    assert reservation["new_values"] == {"status": "reserved"}
    assert reservation["actor"] is None and reservation["note"] is None
    assert "owner wants" not in str(public) and "Acme" not in str(public)
    assert all(e["actor"] is None and e["note"] is None for e in public["events"])
    assert investor == public
    assert internal["internal"] and {"kranj-editor", "the-admin"} <= set(internal["actors"])
    assert [e["note"] for e in internal["events"][:3]] == [None, "reserved by Acme",
                                                           "call with the owner"]
    assert [e["action"] for e in by_admin["events"]] == ["verify"]
    assert [e["note"] for e in by_editor["events"]] == ["reserved by Acme", "call with the owner"]
    # By day: the demo's trail lies before today, the three changes are today's.
    assert all(e["occurred_at"][:10] < today.isoformat() for e in earlier["events"])
    assert [e["id"] for e in today_only["events"]][:3] == [e["id"] for e in internal["events"][:3]]


def test_recent_changes_are_the_municipality_s_newest_first(people):
    engine, accounts = people
    editor = accounts["kranj"]
    plot_id = _plots_of(engine, "Kranj")[5]["id"]
    with engine.connect() as conn:
        version = workspace.plot_for_form(conn, editor, plot_id)["version"]
        kranj_id = conn.execute(text("SELECT id FROM municipality WHERE name = 'Kranj'")
                                ).scalar_one()
        maribor_id = conn.execute(text("SELECT id FROM municipality WHERE name = 'Maribor'")
                                  ).scalar_one()
    with engine.begin() as conn:
        plot_updates.verify_plot(conn, editor, plot_id, version, note="checked on site")
    with engine.connect() as conn:
        changes = history.recent_changes(conn, editor, [kranj_id])
        with pytest.raises(Forbidden):
            history.recent_changes(conn, editor, [maribor_id])
    assert changes[0]["plot_id"] == plot_id and changes[0]["note"] == "checked on site"
    times = [c["occurred_at"] for c in changes]
    assert times == sorted(times, reverse=True)
