"""Inquiries from a plot's page: stored, mailed to the zone manager through a real local SMTP
server (aiosmtpd), read by the people who keep the plot, protected against bots, floods
and other sites, and deleted after the retention period or on request."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from locations import inquiries
from locations.settings import get_settings
from tests.servers import free_port, serving
from tests.test_plot_updates import make_account

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
HOSTILE = '</textarea><script>alert("x")</script><img src=x onerror=alert(1)> & "quotes"'


def body(mail: EmailMessage) -> str:
    """A mail's text as written, with SMTP's CRLF line ends back to \\n."""
    return mail.get_content().replace("\r\n", "\n")


class Inbox:
    """An aiosmtpd handler keeping every message it is handed."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append((list(envelope.rcpt_tos),
                              message_from_bytes(envelope.content, policy=policy.default)))
        return "250 Message accepted"


@pytest.fixture
def smtp() -> Iterator[tuple[str, Inbox]]:
    """A real SMTP server on loopback: its URL and what it received."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}", inbox
    finally:
        controller.stop()


@pytest.fixture
def configure():
    """Set LOCATIONS_* variables for one test (the settings are read per request)."""
    saved = dict(os.environ)

    def set_env(**values: str) -> None:
        os.environ.update({f"LOCATIONS_{k.upper()}": v for k, v in values.items()})
        get_settings.cache_clear()

    yield set_env
    os.environ.clear()
    os.environ.update(saved)
    get_settings.cache_clear()


def plot_in(engine: Engine, municipality: str) -> dict:
    """A live plot in ``municipality`` whose zone has a manager's e-mail."""
    with engine.connect() as conn:
        row = conn.execute(text(
            """
            SELECT p.id, p.cadastral_ref, z.name AS zone_name, z.manager_email
            FROM plot p JOIN zone z ON z.id = p.zone_id
            JOIN municipality m ON m.id = z.municipality_id
            WHERE m.name = :m AND p.retired_at IS NULL AND z.manager_email IS NOT NULL
            ORDER BY p.id LIMIT 1
            """), {"m": municipality}).mappings().one()
    return dict(row)


def form(**changes: str) -> dict[str, str]:
    return {"name": "Ana Novak", "company": "Novak Logistika d.o.o.",
            "email": "ana.novak@novak-logistika.si", "phone": "+386 41 123 456",
            "message": "We need 2 ha for a warehouse from spring 2027.\nIs rail possible?",
            "consent": "yes", **changes}


def send(client: TestClient, plot_id: int, lang: str = "en", **changes: str):
    return client.post(f"/maps/plots/{plot_id}/inquiry?lang={lang}", data=form(**changes))


def stored(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(text("SELECT * FROM inquiry ORDER BY id")).mappings()]


def test_the_form_is_shown_in_each_language(fresh_client, fresh_engine):
    plot = plot_in(fresh_engine, "Kranj")
    for lang, title, consent, retention in (
            ("en", "Ask about this plot", "I agree", "after 365 days"),
            ("sl", "Povprašajte o tem zemljišču", "Soglašam", "po 365 dneh"),
            ("de", "Anfrage zu diesem Grundstück", "Ich bin einverstanden", "nach 365 Tagen")):
        page = fresh_client.get(f"/maps/plots/{plot['id']}/inquiry?lang={lang}")
        assert page.status_code == 200
        assert title in page.text and consent in page.text
        assert plot["cadastral_ref"] in page.text
        assert retention in page.text  # what the investor agrees to
    assert fresh_client.get("/maps/plots/999999999/inquiry").status_code == 404


def test_an_inquiry_is_stored_and_mailed_to_the_zone_manager(fresh_client, fresh_engine, smtp,
                                                             configure):
    url, inbox = smtp
    configure(smtp_url=url, smtp_from="platform@locations.example")
    plot = plot_in(fresh_engine, "Kranj")

    answer = send(fresh_client, plot["id"])

    assert answer.status_code == 200
    assert "Thank you: your inquiry is on its way" in answer.text
    assert "ana.novak@novak-logistika.si" in answer.text
    [row] = stored(fresh_engine)
    assert row["plot_id"] == plot["id"] and row["name"] == "Ana Novak"
    assert row["message"] == form()["message"]
    assert row["consent_text"].startswith("I agree") and "365 days" in row["consent_text"]
    assert row["notification"] == "sent" and row["notified_at"] is not None

    [(recipients, mail)] = inbox.messages
    assert recipients == [plot["manager_email"]]
    assert mail["To"] == plot["manager_email"]
    assert mail["From"] == "platform@locations.example"
    assert mail["Reply-To"].addresses[0].addr_spec == "ana.novak@novak-logistika.si"
    assert plot["cadastral_ref"] in mail["Subject"]
    text_ = body(mail)
    # A Slovenian zone's manager reads it in Slovenian.
    assert "sprašuje o zemljišču" in text_
    assert plot["cadastral_ref"] in text_
    assert form()["message"] in text_
    assert "+386 41 123 456" in text_


def test_with_the_mail_server_down_the_inquiry_is_kept_and_sent_later(fresh_client,
                                                                      fresh_engine, smtp,
                                                                      configure):
    configure(smtp_url=f"smtp://127.0.0.1:{free_port()}")  # nothing listens there
    plot = plot_in(fresh_engine, "Maribor")

    answer = send(fresh_client, plot["id"], lang="sl")

    assert answer.status_code == 200
    assert "Hvala: vaše povpraševanje je oddano" in answer.text
    [row] = stored(fresh_engine)
    assert row["notification"] == "failed"
    assert row["notified_at"] is None
    assert "127.0.0.1" in row["notification_error"]

    # Once the server is back, `locations inquiries send` (the same function) delivers it.
    url, inbox = smtp
    configure(smtp_url=url)
    assert inquiries.send_unsent(fresh_engine) == {"sent": 1, "failed": 0}
    assert [recipients for recipients, _ in inbox.messages] == [[plot["manager_email"]]]
    assert stored(fresh_engine)[0]["notification"] == "sent"


def test_without_a_mail_server_the_inquiry_is_stored_and_marked_off(fresh_client, fresh_engine):
    plot = plot_in(fresh_engine, "Kranj")
    assert send(fresh_client, plot["id"]).status_code == 200
    assert [row["notification"] for row in stored(fresh_engine)] == ["off"]


def test_a_bad_email_is_named_next_to_its_field_in_slovenian_and_the_form_keeps_the_rest(
        fresh_client, fresh_engine):
    plot = plot_in(fresh_engine, "Kranj")

    answer = send(fresh_client, plot["id"], lang="sl", email="ana.novak@")

    assert answer.status_code == 400
    html = answer.text
    problem = 'id="inquiry-email-problem">E-pošta: to ni veljaven e-poštni naslov'
    assert problem in html
    email_input = html[html.index('id="inquiry-email"'):].split(">", 1)[0]
    assert 'aria-invalid="true"' in email_input and 'value="ana.novak@"' in email_input
    assert 'value="Novak Logistika d.o.o."' in html
    assert "We need 2 ha for a warehouse" in html
    assert "Popravite označena polja" in html
    assert stored(fresh_engine) == []


@pytest.mark.parametrize("changes, field, words", [
    ({"name": "Ana\x07Novak"}, "name", "Name: contains control characters"),
    ({"company": "Novak\r\nBcc: everyone@example.org"}, "company",
     "Company: contains control characters"),
    ({"message": "x" * 5001}, "message", "Message: at most 5,000 characters"),
    ({"message": "   "}, "message", "Message: please fill in this field"),
    ({"phone": "call me maybe"}, "phone", "Phone (optional): digits, spaces"),
    ({"email": "ana novak@example.org"}, "email", "E-mail: this is not a valid e-mail address"),
    ({"email": "ana@localhost"}, "email", "E-mail: this is not a valid e-mail address"),
    ({"consent": ""}, "consent", "Consent: please agree"),
])
def test_each_bad_value_is_refused_with_its_field_named(fresh_client, fresh_engine, changes,
                                                        field, words):
    plot = plot_in(fresh_engine, "Kranj")
    answer = send(fresh_client, plot["id"], **changes)
    assert answer.status_code == 400
    assert f'id="inquiry-{field}-problem">{words}' in answer.text
    assert stored(fresh_engine) == []


def test_the_honeypot_is_answered_like_a_person_but_nothing_is_stored_or_sent(
        fresh_client, fresh_engine, smtp, configure):
    url, inbox = smtp
    configure(smtp_url=url)
    plot = plot_in(fresh_engine, "Kranj")

    answer = fresh_client.post(f"/maps/plots/{plot['id']}/inquiry",
                               data=form(website="http://cheap-pills.example"))

    assert answer.status_code == 200
    assert "Thank you: your inquiry is on its way" in answer.text
    assert stored(fresh_engine) == []
    assert inbox.messages == []
    # People do not see the field: it sits off screen, out of the tab order and of
    # what screen readers read.
    page = fresh_client.get(f"/maps/plots/{plot['id']}/inquiry").text
    trap = page[page.index('<div class="trap"'):]
    assert trap.startswith('<div class="trap" aria-hidden="true">')
    assert 'name="website" type="text" value="" tabindex="-1"' in trap


def test_the_sixth_inquiry_in_an_hour_from_one_address_gets_429(fresh_engine):
    from api.app import create_app

    app = create_app(fresh_engine)
    plot = plot_in(fresh_engine, "Kranj")
    with TestClient(app, client=("203.0.113.9", 40000)) as flooding:
        answers = [send(flooding, plot["id"], lang="de") for _ in range(6)]
    assert [a.status_code for a in answers] == [200] * 5 + [429]
    refused = answers[-1]
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert "Zu viele Anfragen von Ihrer Adresse" in refused.text
    assert 'value="Ana Novak"' in refused.text  # nothing typed is lost
    assert len(stored(fresh_engine)) == 5
    # Another address is not held back by that one.
    with TestClient(app, client=("198.51.100.7", 40000)) as other:
        assert send(other, plot["id"]).status_code == 200
    assert len(stored(fresh_engine)) == 6


@pytest.mark.parametrize("headers", [
    {"Origin": "https://evil.example"},
    {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
    {"Sec-Fetch-Site": "same-site"},
    {"Origin": "null"},
])
def test_a_form_posted_from_another_site_is_refused(fresh_client, fresh_engine, headers):
    plot = plot_in(fresh_engine, "Kranj")
    answer = fresh_client.post(f"/maps/plots/{plot['id']}/inquiry", data=form(),
                               headers=headers)
    assert answer.status_code == 403
    assert "The form must be sent from this site&#39;s own page" in answer.text
    assert stored(fresh_engine) == []


def test_a_form_posted_from_its_own_page_is_accepted(fresh_client, fresh_engine):
    plot = plot_in(fresh_engine, "Kranj")
    for headers in ({"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
                    {"Origin": "http://testserver"}):
        answer = fresh_client.post(f"/maps/plots/{plot['id']}/inquiry", data=form(),
                                   headers=headers)
        assert answer.status_code == 200
    assert len(stored(fresh_engine)) == 2


def test_the_plots_municipality_reads_its_inquiries_and_nobody_else_does(fresh_client,
                                                                          fresh_engine):
    kranj, maribor = plot_in(fresh_engine, "Kranj"), plot_in(fresh_engine, "Maribor")
    send(fresh_client, kranj["id"], message="About Kranj")
    send(fresh_client, maribor["id"], message="About Maribor")
    kranj_id, maribor_id = (row["id"] for row in stored(fresh_engine))
    kranj_editor = make_account(fresh_engine, "kranj-editor", "municipality",
                                municipalities=["Kranj"])
    maribor_editor = make_account(fresh_engine, "maribor-editor", "municipality",
                                  municipalities=["Maribor"])
    gorenjska = make_account(fresh_engine, "gorenjska-agency", "agency", regions=["SI042"])
    admin = make_account(fresh_engine, "root", "admin")
    investor = make_account(fresh_engine, "investor", "investor")

    def messages(headers):
        answer = fresh_client.get("/inquiries", headers=headers)
        assert answer.status_code == 200
        return [item["message"] for item in answer.json()["inquiries"]]

    assert messages(kranj_editor) == ["About Kranj"]
    assert messages(maribor_editor) == ["About Maribor"]
    assert messages(gorenjska) == ["About Kranj"]
    assert messages(admin) == ["About Maribor", "About Kranj"]  # newest first

    one = fresh_client.get(f"/inquiries/{kranj_id}", headers=kranj_editor)
    assert one.status_code == 200
    assert one.json()["plot"]["cadastral_ref"] == kranj["cadastral_ref"]
    assert one.json()["email"] == "ana.novak@novak-logistika.si"
    assert fresh_client.get(f"/inquiries/{kranj_id}", headers=maribor_editor).status_code == 404
    assert fresh_client.get(f"/inquiries/{maribor_id}", headers=gorenjska).status_code == 404

    assert fresh_client.get("/inquiries", headers=investor).status_code == 403
    assert fresh_client.get(f"/inquiries/{kranj_id}", headers=investor).status_code == 403
    assert fresh_client.get("/inquiries").status_code == 401
    assert fresh_client.get(f"/inquiries/{kranj_id}").status_code == 401


def test_the_list_pages_on_with_next(fresh_client, fresh_engine):
    plot = plot_in(fresh_engine, "Kranj")
    for n in range(3):
        send(fresh_client, plot["id"], message=f"Inquiry {n}")
    admin = make_account(fresh_engine, "root", "admin")
    first = fresh_client.get("/inquiries?limit=2", headers=admin).json()
    assert [i["message"] for i in first["inquiries"]] == ["Inquiry 2", "Inquiry 1"]
    rest = fresh_client.get(first["next"], headers=admin).json()
    assert [i["message"] for i in rest["inquiries"]] == ["Inquiry 0"]
    assert rest["next"] is None


def run_cli(engine: Engine, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCATIONS_")}
    env["DATABASE_URL"] = engine.url.render_as_string(hide_password=False)
    return subprocess.run([sys.executable, "-m", "cli", "inquiries", *args],
                          capture_output=True, text=True, env=env, timeout=120, check=False)


def test_purge_deletes_inquiries_past_the_retention_and_keeps_newer_ones(fresh_client,
                                                                         fresh_engine):
    plot = plot_in(fresh_engine, "Kranj")
    for message in ("Old one", "Nearly old", "New one"):
        send(fresh_client, plot["id"], message=message)
    with fresh_engine.begin() as conn:
        conn.execute(text("UPDATE inquiry SET received_at = now() - interval '366 days' "
                          "WHERE message = 'Old one'"))
        conn.execute(text("UPDATE inquiry SET received_at = now() - interval '364 days' "
                          "WHERE message = 'Nearly old'"))

    result = run_cli(fresh_engine, "purge")

    assert result.returncode == 0, result.stderr
    assert "Deleted 1 inquiries received more than 365 days ago" in " ".join(result.stdout.split())
    assert [row["message"] for row in stored(fresh_engine)] == ["Nearly old", "New one"]
    shorter = run_cli(fresh_engine, "purge", "--days", "30")
    assert shorter.returncode == 0, shorter.stderr
    assert [row["message"] for row in stored(fresh_engine)] == ["New one"]


def test_an_investor_s_data_are_deleted_on_request(fresh_client, fresh_engine):
    plot = plot_in(fresh_engine, "Kranj")
    send(fresh_client, plot["id"], message="Mine")
    send(fresh_client, plot["id"], message="Mine too", email="Ana.Novak@Novak-Logistika.SI")
    send(fresh_client, plot["id"], message="Somebody else's", email="bor@example.org")

    result = run_cli(fresh_engine, "delete", "--email", "ANA.NOVAK@novak-logistika.si")

    assert result.returncode == 0, result.stderr
    assert "Deleted 2 inquiries" in result.stdout
    assert [row["message"] for row in stored(fresh_engine)] == ["Somebody else's"]


def test_hostile_text_is_shown_literally_in_the_page_the_api_and_the_mail(
        fresh_client, fresh_engine, smtp, configure):
    url, inbox = smtp
    configure(smtp_url=url)
    plot = plot_in(fresh_engine, "Kranj")
    name = '<b onmouseover="alert(1)">Mallory</b>'

    answer = send(fresh_client, plot["id"], name=name, company="<i>ACME</i> & Co",
                  message=HOSTILE)

    assert answer.status_code == 200
    assert "<script>alert" not in answer.text and "<img src=x" not in answer.text
    assert "<b onmouseover" not in answer.text
    assert "&lt;/textarea&gt;&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in answer.text
    # Refused values come back into the form escaped too, textarea and attributes alike.
    again = send(fresh_client, plot["id"], name=name, message=HOSTILE, email="nope")
    assert again.status_code == 400
    assert "<script>alert" not in again.text and "<b onmouseover" not in again.text
    assert 'value="&lt;b onmouseover=&#34;alert(1)&#34;&gt;Mallory&lt;/b&gt;"' in again.text

    editor = make_account(fresh_engine, "kranj-editor", "municipality", municipalities=["Kranj"])
    [item] = fresh_client.get("/inquiries", headers=editor).json()["inquiries"]
    assert item["message"] == HOSTILE and item["name"] == name
    assert item["company"] == "<i>ACME</i> & Co"
    [(_, mail)] = inbox.messages
    assert mail.get_content_type() == "text/plain"
    assert HOSTILE in body(mail)
    assert mail["Reply-To"].addresses[0].display_name == name


# -- in a browser -----------------------------------------------------------------------------

@pytest.fixture
def live_server(fresh_engine) -> Iterator[str]:
    """The platform on a free loopback port over a private copy of the demo database."""
    with serving(fresh_engine) as url:
        yield url


def test_an_investor_sends_an_inquiry_in_german_in_chromium(live_server, fresh_engine, smtp,
                                                            configure):
    from playwright.sync_api import sync_playwright

    url, inbox = smtp
    configure(smtp_url=url)
    plot = plot_in(fresh_engine, "Kranj")
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        tab = browser.new_page(viewport={"width": 1200, "height": 900})
        # CSP violations (an inline handler, a foreign form target) show as console errors.
        tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        tab.on("pageerror", lambda e: problems.append(str(e)))
        tab.goto(f"{live_server}/maps/plots/{plot['id']}/inquiry?lang=de")
        assert tab.locator("h1").inner_text() == "Anfrage zu diesem Grundstück"
        # The trap is off screen: a person never sees it.
        box = tab.locator("#inquiry-website").bounding_box()
        assert box is None or box["x"] + box["width"] < 0
        tab.get_by_role("textbox", name="Name", exact=True).fill("Jakob Huber")
        tab.get_by_role("textbox", name="Unternehmen", exact=True).fill("Huber Maschinenbau GmbH")
        tab.get_by_role("textbox", name="E-Mail", exact=True).fill("j.huber@huber-maschinenbau.at")
        tab.get_by_role("textbox", name="Telefon (optional)", exact=True).fill("+43 316 123456")
        tab.get_by_role("textbox", name="Nachricht", exact=True).fill("Wir suchen 3 ha für eine Fertigung. Ist Gas da?")
        tab.get_by_role("checkbox", name="Ich bin einverstanden", exact=False).check()
        tab.get_by_role("button", name="Anfrage senden").click()
        tab.wait_for_selector("#inquiry-sent")
        assert tab.locator("h1").inner_text() == "Danke: Ihre Anfrage ist unterwegs"
        assert "j.huber@huber-maschinenbau.at" in tab.locator("main").inner_text()
        ARTIFACTS.mkdir(exist_ok=True)
        tab.screenshot(path=str(ARTIFACTS / "inquiry-sent-de.png"), full_page=True)
        browser.close()
    assert problems == []
    [row] = stored(fresh_engine)
    assert row["lang"] == "de" and row["name"] == "Jakob Huber"
    assert row["consent_text"].startswith("Ich bin einverstanden")
    # The background send runs after the answer: give it a moment.
    deadline = time.monotonic() + 10
    while not inbox.messages and time.monotonic() < deadline:
        time.sleep(0.1)
    [(recipients, mail)] = inbox.messages
    assert recipients == [plot["manager_email"]]
    assert "Wir suchen 3 ha für eine Fertigung" in body(mail)
