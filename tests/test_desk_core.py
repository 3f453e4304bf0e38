"""The desk's core: bulk files in the pages' words, a plot's photos and documents checked by
their content, the inquiry inbox's statuses audited, files staged per session."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from locations import attachments, inquiry_inbox, staged_uploads
from locations.accounts import account_by_name, create_account
from locations.errors import Forbidden, InvalidInput, NotFound
from locations.vocabulary import PLOT_STATUS, READINESS, USE
from tests import desk_files
from tests.test_accounts import run_cli
from tests.test_bulk_updates import kranj_plots, upload
from tests.test_plot_updates import make_account, plot_in


def account(engine: Engine, name: str, role: str, **scope):
    with engine.begin() as conn:
        create_account(conn, name, role, **scope)
        return account_by_name(conn, name)


@pytest.mark.parametrize("word, code", [
    ("rezervirano", "reserved"), ("Reserviert", "reserved"), ("RESERVED", "reserved"),
    ("v pogajanjih", "under_negotiation"), ("in Verhandlung", "under_negotiation"),
    ("under-negotiation", "under_negotiation"), ("ni naprodaj", "not_for_sale"),
    ("prodano", "sold")])
def test_a_status_is_known_by_its_code_and_its_label_in_every_language(word, code):
    assert PLOT_STATUS.code_for(word) == code


def test_accents_may_be_left_out_but_no_word_is_guessed():
    assert USE.code_for("mesano") == "mixed" and USE.code_for("mešano") == "mixed"
    assert READINESS.code_for("komunalno opremljeno") == "serviced"
    assert PLOT_STATUS.code_for("rezerv") is None
    assert PLOT_STATUS.code_for("") is None


def test_a_bulk_file_in_slovenian_and_german_words_is_applied_by_the_api_and_the_cli(
        fresh_client, fresh_engine, tmp_path):
    kranj = make_account(fresh_engine, "kranj-bulk", "municipality", municipalities=["Kranj"])
    a, b, c = kranj_plots(fresh_engine, "available", 3)
    csv = ("cadastral_ref;status;offer;readiness;allowed_uses;brownfield\n"
           f"{a['cadastral_ref']};Rezervirano;v najem;komunalno opremljeno;proizvodnja, Logistik;da\n"
           f"{b['cadastral_ref']};reserviert;;;;\n")
    answer = upload(fresh_client, kranj, csv)
    assert answer.status_code == 200, answer.text
    with fresh_engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(text(
            "SELECT id, status, offer, readiness, allowed_uses, brownfield FROM plot "
            "WHERE id = ANY(:ids)"), {"ids": [a["id"], b["id"]]})}
    assert rows[a["id"]].status == "reserved" and rows[a["id"]].offer == "lease"
    assert rows[a["id"]].readiness == "serviced" and rows[a["id"]].brownfield is True
    assert sorted(rows[a["id"]].allowed_uses) == ["logistics", "manufacturing"]
    assert rows[b["id"]].status == "reserved"

    sheet = tmp_path / "changes.csv"
    sheet.write_text(f"cadastral_ref;status\n{c['cadastral_ref']};V pogajanjih\n", "utf-8")
    result = run_cli(fresh_engine, "plots", "update", str(sheet), "--account", "kranj-bulk")
    assert result.returncode == 0, result.stderr + result.stdout
    with fresh_engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM plot WHERE id = :id"),
                            {"id": c["id"]}).scalar_one() == "under_negotiation"


def test_a_word_naming_no_status_is_refused_naming_the_row_and_field(fresh_client, fresh_engine):
    kranj = make_account(fresh_engine, "kranj-typo", "municipality", municipalities=["Kranj"])
    (a,) = kranj_plots(fresh_engine, "available", 1)
    answer = upload(fresh_client, kranj, f"cadastral_ref;status\n{a['cadastral_ref']};rezervrano\n",
                    dry_run=True)
    (row,) = answer.json()["rows"]
    assert row["row"] == 2 and any(p.startswith("status:") and "rezervrano" in p
                                   for p in row["problems"])


# -- photos and documents --------------------------------------------------------------------

def test_pdf_jpeg_and_png_are_attached_by_the_plots_editors_only(fresh_engine):
    kranj = account(fresh_engine, "kranj-files", "municipality", municipalities=["Kranj"])
    maribor = account(fresh_engine, "maribor-files", "municipality", municipalities=["Maribor"])
    agency = account(fresh_engine, "agency-files", "agency", regions=["SI042"])
    plot = plot_in(fresh_engine, "Kranj")
    with fresh_engine.begin() as conn:
        photo = attachments.add(conn, kranj, plot, desk_files.jpeg(), "C:\\Photos\\site.jpeg",
                                "View from the road")
        plan = attachments.add(conn, kranj, plot, desk_files.pdf(), "../../etc/plan.PDF")
        attachments.add(conn, kranj, plot, desk_files.png(), "aerial.png")
    with fresh_engine.connect() as conn:
        listed = attachments.list_for_plot(conn, plot)
        assert [(a["kind"], a["file_name"]) for a in listed] == [
            ("jpeg", "site.jpg"), ("png", "aerial.png"), ("pdf", "plan.pdf")]
        assert listed[0]["width"] == 80 and listed[0]["title"] == "View from the road"
        assert attachments.get(conn, plot, plan)["content"].startswith(b"%PDF-")
        history = conn.execute(text("SELECT new_values FROM plot_event WHERE plot_id = :p "
                                    "ORDER BY id DESC LIMIT 3"), {"p": plot}).scalars().all()
        assert {"attachment": "plan.pdf"} in history
    for stranger in (maribor, agency):
        with fresh_engine.begin() as conn, pytest.raises(Forbidden):
            attachments.add(conn, stranger, plot, desk_files.png(), "x.png")
        with fresh_engine.begin() as conn, pytest.raises(Forbidden):
            attachments.remove(conn, stranger, plot, photo)
    with fresh_engine.begin() as conn:
        attachments.remove(conn, kranj, plot, photo)
    with fresh_engine.connect() as conn, pytest.raises(NotFound):
        attachments.get(conn, plot, photo)


@pytest.mark.parametrize("content, reason", [
    (desk_files.HTML_AS_PNG, "HTML"),
    (desk_files.SVG, "SVG"),
    (b"GIF89a" + b"\x00" * 40, "GIF"),
    (b"", "empty"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "broken"),
    (desk_files.broken_png(), "broken"),
    (desk_files.png_bomb(), "megapixels"),
    (b"\xff\xd8\xff" + b"x" * (10 * 1024 * 1024), "at most 10.0 MB"),
    (b"%PDF-1.7\n garbage", "PDF cannot be read"),
    (desk_files.pdf_with_script(), "scripts"),
])
def test_hostile_files_are_refused_saying_why_and_nothing_is_stored(fresh_engine, content,
                                                                     reason):
    kranj = account(fresh_engine, "kranj-hostile", "municipality", municipalities=["Kranj"])
    plot = plot_in(fresh_engine, "Kranj")
    with fresh_engine.begin() as conn, pytest.raises(InvalidInput) as refused:
        attachments.add(conn, kranj, plot, content, "photo.png")
    assert reason in str(refused.value)
    with fresh_engine.connect() as conn:
        assert attachments.list_for_plot(conn, plot) == []


# -- the inquiry inbox -----------------------------------------------------------------------

def stored_inquiry(engine: Engine, municipality: str) -> int:
    plot = plot_in(engine, municipality)
    with engine.begin() as conn:
        return conn.execute(text(
            "INSERT INTO inquiry (plot_id, lang, name, company, email, message, consent_text, "
            "notification) VALUES (:p, 'sl', 'Ana Novak', 'Novak d.o.o.', 'ana@novak.si', "
            "'Ali je zemljišče še prosto?', 'consent', 'off') RETURNING id"),
            {"p": plot}).scalar_one()


def test_status_changes_are_audited_and_only_the_plots_municipality_makes_them(fresh_engine):
    kranj = account(fresh_engine, "kranj-inbox", "municipality", municipalities=["Kranj"])
    maribor = account(fresh_engine, "maribor-inbox", "municipality", municipalities=["Maribor"])
    agency = account(fresh_engine, "agency-inbox", "agency", regions=["SI042"])
    inquiry = stored_inquiry(fresh_engine, "Kranj")
    with fresh_engine.begin() as conn:
        assert inquiry_inbox.counts(conn, kranj)["new"] == 1
        assert inquiry_inbox.set_status(conn, kranj, inquiry, "answered", via="mailto")
        assert not inquiry_inbox.set_status(conn, kranj, inquiry, "answered")
        assert inquiry_inbox.set_status(conn, kranj, inquiry, "closed")
    for stranger in (maribor, agency):
        with fresh_engine.begin() as conn, pytest.raises(Forbidden):
            inquiry_inbox.set_status(conn, stranger, inquiry, "new")
    with fresh_engine.connect() as conn:
        assert [(e["old_status"], e["new_status"], e["via"], e["actor"])
                for e in inquiry_inbox.events(conn, inquiry)] == [
            ("new", "answered", "mailto", "kranj-inbox"), ("answered", "closed", "page",
                                                           "kranj-inbox")]
        assert inquiry_inbox.counts(conn, kranj) == {"new": 0, "answered": 0, "closed": 1}


def test_the_prepared_answer_is_in_the_investors_language_and_fits_a_mailto_link(fresh_engine):
    kranj = account(fresh_engine, "kranj-mailto", "municipality", municipalities=["Kranj"])
    inquiry_id = stored_inquiry(fresh_engine, "Kranj")
    with fresh_engine.begin() as conn:
        conn.execute(text("UPDATE inquiry SET message = :m WHERE id = :id"),
                     {"m": "Dolgo sporočilo. " * 280, "id": inquiry_id})
        inquiry = inquiry_inbox.writable_inquiry(conn, kranj, inquiry_id)
    draft = inquiry_inbox.reply_draft(inquiry, "Občina Kranj")
    assert draft.startswith("Spoštovani Ana Novak,") and "> Dolgo sporočilo." in draft
    link = inquiry_inbox.mailto_link(inquiry, "Občina Kranj")
    assert link.startswith("mailto:ana@novak.si?subject=Re%3A%20va%C5%A1e")
    assert len(link) <= inquiry_inbox.MAX_MAILTO_CHARS


# -- staged files ----------------------------------------------------------------------------

def test_a_staged_file_is_only_found_by_its_account_in_its_session(fresh_engine):
    kranj = account(fresh_engine, "kranj-stage", "municipality", municipalities=["Kranj"])
    other = account(fresh_engine, "kranj-stage-2", "municipality", municipalities=["Kranj"])
    with fresh_engine.begin() as conn:
        token = staged_uploads.stage(conn, kranj, "session-a", "plot_updates", "x.csv", b"a;b\n")
    with fresh_engine.begin() as conn:
        assert staged_uploads.take(conn, kranj, "session-a", "plot_updates", token)[
            "content"] == b"a;b\n"
        for who, session, purpose, key in ((kranj, "session-b", "plot_updates", token),
                                           (other, "session-a", "plot_updates", token),
                                           (kranj, "session-a", "import", token),
                                           (kranj, "session-a", "plot_updates", token[:-1] + "x")):
            with pytest.raises(NotFound):
                staged_uploads.take(conn, who, session, purpose, key)
        conn.execute(text("UPDATE staged_upload SET created_at = now() - interval '2 hours'"))
        with pytest.raises(NotFound):
            staged_uploads.take(conn, kranj, "session-a", "plot_updates", token)
