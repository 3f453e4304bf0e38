"""Bulk plot updates from CSV and XLSX: a dry run row by row, all or nothing, audited, in scope only."""

from __future__ import annotations

import io

import pandas as pd
from sqlalchemy import Engine, text

from tests.test_accounts import run_cli
from tests.test_authorisation import fingerprint
from tests.test_plot_updates import make_account


def kranj_plots(engine: Engine, status: str, count: int) -> list[dict]:
    with engine.connect() as conn:
        return [dict(row) for row in conn.execute(text(
            "SELECT p.id, p.cadastral_ref, p.price_eur_m2, p.version FROM plot p "
            "JOIN zone z ON z.id = p.zone_id JOIN municipality m ON m.id = z.municipality_id "
            "WHERE m.name = 'Kranj' AND p.status = :s AND p.retired_at IS NULL "
            "ORDER BY p.id LIMIT :n"), {"s": status, "n": count}).mappings()]


def upload(client, headers, content: bytes | str, name: str = "changes.csv", dry_run: bool = False):
    return client.post("/imports/plot-updates", params={"dry_run": dry_run},
                       files={"file": (name, content)}, headers=headers)


def test_one_bad_row_changes_nothing_and_the_dry_run_names_it(fresh_client, fresh_engine):
    kranj = make_account(fresh_engine, "kranj", "municipality", municipalities=["Kranj"])
    a, b, c = kranj_plots(fresh_engine, "available", 3)
    (sold,) = kranj_plots(fresh_engine, "sold", 1)
    csv = (
        "cadastral_ref;status;price_eur_m2;note\n"
        f"{a['cadastral_ref']};reserved;;first buyer\n"
        f"{b['cadastral_ref']};;77.5;\n"
        f"{sold['cadastral_ref']};reserved;;\n"          # sold -> reserved is forbidden
        f"{c['cadastral_ref']};under_negotiation;-4;\n"  # a negative price
        "9999-0/0;reserved;;\n"                           # no such plot
    )
    before = fingerprint(fresh_engine)
    applied = upload(fresh_client, kranj, csv)
    assert applied.status_code == 400
    detail = applied.json()["detail"]
    for row in ("row 4", "row 5", "row 6"):
        assert row in detail
    assert fingerprint(fresh_engine) == before

    dry = upload(fresh_client, kranj, csv, dry_run=True)
    assert dry.status_code == 200
    report = dry.json()
    assert report["applied"] is False
    rows = {row["row"]: row for row in report["rows"]}
    assert rows[2]["changes"] == {"status": {"old": "available", "new": "reserved"}}
    assert rows[3]["changes"] == {"price_eur_m2": {"old": float(b["price_eur_m2"]), "new": 77.5}}
    assert rows[2]["problems"] == [] and rows[3]["problems"] == []
    assert "occupied" in " ".join(rows[4]["problems"])  # names what sold may become
    assert any("price_eur_m2" in p for p in rows[5]["problems"])
    assert any("no plot" in p for p in rows[6]["problems"])
    assert report["rows_with_problems"] == 3
    assert fingerprint(fresh_engine) == before


def test_a_good_xlsx_applies_every_row_audited(fresh_client, fresh_engine):
    kranj = make_account(fresh_engine, "kranj", "municipality", municipalities=["Kranj"])
    plots = kranj_plots(fresh_engine, "available", 3)
    frame = pd.DataFrame({
        "cadastral_ref": [p["cadastral_ref"] for p in plots],
        "status": ["reserved", "not_for_sale", ""],
        "price_eur_m2": ["", "", "123.4"],
        "version": [str(p["version"]) for p in plots],
    })
    buffer = io.BytesIO()
    frame.to_excel(buffer, index=False)
    response = upload(fresh_client, kranj, buffer.getvalue(), name="spring.xlsx")
    assert response.status_code == 200, response.text
    assert response.json()["applied"] is True
    with fresh_engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT p.id, p.status, p.price_eur_m2, e.action, e.actor, e.note "
            # The demo's own history of these plots is older and by others: only this file's.
            "FROM plot p JOIN plot_event e ON e.plot_id = p.id "
            "WHERE p.id = ANY(:ids) AND e.actor = 'kranj' ORDER BY p.id"),
            {"ids": [p["id"] for p in plots]}).all()
    assert [(r.status, r.action, r.actor, r.note) for r in rows] == [
        ("reserved", "import", "kranj", "spring.xlsx"),
        ("not_for_sale", "import", "kranj", "spring.xlsx"),
        ("available", "import", "kranj", "spring.xlsx"),
    ]
    assert float(rows[2].price_eur_m2) == 123.4


def test_a_row_outside_the_editors_municipality_is_forbidden(fresh_client, fresh_engine):
    kranj = make_account(fresh_engine, "kranj", "municipality", municipalities=["Kranj"])
    (own,) = kranj_plots(fresh_engine, "available", 1)
    with fresh_engine.connect() as conn:
        foreign = conn.execute(text(
            "SELECT p.cadastral_ref FROM plot p JOIN zone z ON z.id = p.zone_id "
            "JOIN municipality m ON m.id = z.municipality_id WHERE m.name = 'Maribor' "
            "AND p.status = 'available' LIMIT 1")).scalar_one()
    before = fingerprint(fresh_engine)
    csv = f"cadastral_ref,status\n{own['cadastral_ref']},reserved\n{foreign},reserved\n"
    response = upload(fresh_client, kranj, csv)
    assert response.status_code == 403
    assert "Maribor" in response.json()["detail"]
    assert fingerprint(fresh_engine) == before


def test_unreadable_files_are_explained(fresh_client, fresh_engine):
    kranj = make_account(fresh_engine, "kranj", "municipality", municipalities=["Kranj"])
    no_key = upload(fresh_client, kranj, "parcel,status\n1,sold\n")
    assert no_key.status_code == 400 and "cadastral_ref" in no_key.json()["detail"]
    unknown = upload(fresh_client, kranj, "cadastral_ref,colour\n1,red\n")
    assert unknown.status_code == 400 and "colour" in unknown.json()["detail"]
    not_excel = upload(fresh_client, kranj, b"\x00\x01garbage", name="x.xlsx")
    assert not_excel.status_code == 400 and "x.xlsx" in not_excel.json()["detail"]


def test_cli_dry_run_then_apply(fresh_engine, tmp_path):
    make_account(fresh_engine, "kranj", "municipality", municipalities=["Kranj"])
    (plot,) = kranj_plots(fresh_engine, "available", 1)
    changes = tmp_path / "changes.csv"
    changes.write_text(f"cadastral_ref;status\n{plot['cadastral_ref']};under_negotiation\n")
    before = fingerprint(fresh_engine)
    dry = run_cli(fresh_engine, "plots", "update", str(changes), "--dry-run", "--account", "kranj")
    assert dry.returncode == 0, dry.stderr
    assert "would change 1 plots" in dry.stdout
    assert fingerprint(fresh_engine) == before
    applied = run_cli(fresh_engine, "plots", "update", str(changes), "--account", "kranj")
    assert applied.returncode == 0, applied.stderr
    with fresh_engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM plot WHERE id = :id"),
                            {"id": plot["id"]}).scalar_one() == "under_negotiation"
    nobody = run_cli(fresh_engine, "plots", "update", str(changes), "--account", "sekret-token-x")
    assert nobody.returncode == 1 and "sekret-token-x" not in nobody.stderr
