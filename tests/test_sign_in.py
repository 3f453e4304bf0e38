"""Signing in as people do it: an invitation link sets the password, the header shows who is
signed in, sign-out ends the session; used and expired links are refused; wrong passwords
are rate-limited per address and per (account, address) without locking the owner out
elsewhere; forms need their token; cookie flags; the admin's accounts page."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import sync_playwright
from sqlalchemy import Engine, text

from locations.accounts import MAX_AUTH_FAILURES, create_account
from locations.settings import get_settings
from locations.sign_in import MAX_SIGN_IN_FAILURES, invite
from tests.page_ready import wait_until_drawn
from tests.people import PASSWORD, invitation_link, invite_and_sign_in
from tests.servers import serving
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS

SHOTS = Path(os.environ.get("SHOTS_DIR", "/tmp/shots-signin"))
AXE = Path(__file__).resolve().parent.parent / "maps" / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


@pytest.fixture(scope="module")
def people_engine(pg_server: str, template_db: str) -> Iterator[Engine]:
    """A private copy of the demo database for this module's accounts."""
    from tests.conftest import _drop_database, _engine_from_template

    name, engine = _engine_from_template(pg_server, template_db, "locations_test_people")
    yield engine
    engine.dispose()
    _drop_database(pg_server, name)


@pytest.fixture(scope="module")
def server(people_engine) -> Iterator[str]:
    with serving(people_engine) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context
    context.close()


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def session_rows(engine: Engine, name: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT count(*) FROM account_session s JOIN account a ON a.id = s.account_id "
            "WHERE a.name = :n"), {"n": name}).scalar_one()


def axe_violations(page) -> list[str]:
    page.evaluate(AXE.read_text(encoding="utf-8"))
    results = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS)
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])})" for v in results["violations"]
            if v["impact"] in ("serious", "critical")]


# -- the walk -----------------------------------------------------------------------------

def test_an_invited_kranj_editor_sets_a_password_signs_in_and_out(context, server, people_engine):
    link = invitation_link(people_engine, server, "Kranj editor", "municipality",
                           municipalities=["Kranj"])
    page = context.new_page()
    page.goto(link + "?lang=sl")
    assert page.locator("h1").inner_text() == "Nastavite geslo"
    assert page.locator("#invitation-name").input_value() == "Kranj editor"
    # A password too short, then two that differ: said next to the form, nothing stored.
    page.fill("#invitation-password", "short")
    page.fill("#invitation-repeat", "short")
    page.eval_on_selector("form.person-form", "f => f.noValidate = true")
    page.click("form.person-form button[type=submit]")
    assert "prekratko" in page.locator(".problem").inner_text()
    page.eval_on_selector("form.person-form", "f => f.noValidate = true")
    page.fill("#invitation-password", PASSWORD)
    page.fill("#invitation-repeat", PASSWORD + "!")
    page.click("form.person-form button[type=submit]")
    assert "ne ujemata" in page.locator(".problem").inner_text()
    with people_engine.connect() as conn:
        assert conn.execute(text("SELECT password_hash FROM account WHERE name = 'Kranj editor'")
                            ).scalar_one() is None
    shoot(page, "invitation-sl")

    page.fill("#invitation-password", PASSWORD)
    page.fill("#invitation-repeat", PASSWORD)
    page.click("form.person-form button[type=submit]")
    page.wait_for_load_state()
    # Signed in at once, on their plots: the header names the person and offers their pages.
    assert page.url == server + "/maps/my/plots?lang=sl"
    header = page.locator("header.site nav.account")
    assert header.locator(".person").inner_text() == "Kranj editor"
    assert header.get_by_role("link", name="Moja zemljišča").count() == 1
    assert header.get_by_role("link", name="Računi").count() == 0  # admins only
    with people_engine.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM account WHERE name = 'Kranj editor'")
                              ).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored

    # The link worked once.
    again = context.new_page()
    again.goto(link)
    assert again.locator("h1").inner_text() == "This link no longer works"
    again.close()

    # Sign out: the session ends on the server, the header offers to sign in again.
    header.get_by_role("button", name="Odjava").click()
    page.wait_for_load_state()
    assert page.locator("header.site nav.account .sign-in").inner_text() == "Prijava"
    assert page.locator(".notice").inner_text() == "Odjavljeni ste."
    assert session_rows(people_engine, "Kranj editor") == 0

    # And in again with the name and password.
    page.goto(server + "/maps/zones/1?lang=en")
    page.get_by_role("link", name="Sign in").click()
    page.fill("#sign-in-name", "Kranj editor")
    page.fill("#sign-in-password", PASSWORD)
    shoot(page, "sign-in-en")
    page.click("form.person-form button[type=submit]")
    page.wait_for_load_state()
    # Back on the page signing in started from, in its language.
    assert page.url == server + "/maps/zones/1?lang=en"
    assert page.locator("header.site nav.account .person").inner_text() == "Kranj editor"
    assert session_rows(people_engine, "Kranj editor") == 1
    shoot(page, "zone-signed-in")


def test_the_helper_signs_a_person_in_for_other_tests(context, server, people_engine):
    invite_and_sign_in(context, server, people_engine, "Helper admin", "admin")
    page = context.new_page()
    page.goto(server + "/?lang=de")
    header = page.locator("header.site nav.account")
    assert header.locator(".person").inner_text() == "Helper admin"
    assert header.get_by_role("link", name="Konten").count() == 1


def test_an_expired_or_replaced_invitation_is_refused(server, people_engine):
    with people_engine.begin() as conn:
        create_account(conn, "late", "municipality", municipalities=["Kranj"])
        first = invite(conn, "late", hours=1)
        second = invite(conn, "late", hours=1)
        conn.execute(text("UPDATE account_invitation SET expires_at = now() - interval '1 s' "
                          "WHERE account_id = (SELECT id FROM account WHERE name = 'late')"))
    with _client(people_engine) as client:
        for token in (first, second, "no-such-token"):
            answer = client.get(f"/maps/invitations/{token}?lang=en")
            assert answer.status_code == 404
            assert "This link no longer works" in answer.text
            form = client.get("/maps/sign-in").text
            csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
            posted = client.post(f"/maps/invitations/{token}",
                                 data={"password": PASSWORD, "repeat": PASSWORD, "csrf": csrf})
            assert posted.status_code == 404
    with people_engine.connect() as conn:
        assert conn.execute(text("SELECT password_hash FROM account WHERE name = 'late'")
                            ).scalar_one() is None


def _client(engine: Engine, **kwargs) -> TestClient:
    from api.app import create_app

    return TestClient(create_app(engine), follow_redirects=False, **kwargs)


def _signed_in_client(engine: Engine, name: str, role: str, *, address: str = "10.0.0.1",
                      base_url: str = "http://testserver", **scope) -> TestClient:
    """A client signed in as a new account (its password set directly), with its cookie."""
    from locations.accounts import account_by_name
    from locations.sign_in import set_password

    with engine.begin() as conn:
        create_account(conn, name, role, **scope)
        set_password(conn, account_by_name(conn, name).id, PASSWORD)
    client = _client(engine, client=(address, 50000), base_url=base_url)
    client.__enter__()
    answer = _sign_in(client, name, PASSWORD)
    assert answer.status_code == 303, answer.text
    return client


def _form_token(client: TestClient, path: str = "/maps/sign-in") -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get(path).text).group(1)


def _sign_in(client: TestClient, name: str, password: str):
    return client.post("/maps/sign-in", data={"name": name, "password": password,
                                              "csrf": _form_token(client)})


# -- failed sign-ins ------------------------------------------------------------------------

def test_wrong_passwords_are_limited_per_address_without_locking_the_owner_out(people_engine):
    from locations.accounts import account_by_name
    from locations.sign_in import set_password

    with people_engine.begin() as conn:
        conn.execute(text("DELETE FROM auth_failure"))
        create_account(conn, "Limited editor", "municipality", municipalities=["Kranj"])
        set_password(conn, account_by_name(conn, "Limited editor").id, PASSWORD)
    with _client(people_engine, client=("192.0.2.7", 1)) as stranger:
        for _ in range(MAX_SIGN_IN_FAILURES):
            wrong = _sign_in(stranger, "Limited editor", "not the password")
            assert wrong.status_code == 401
            assert "The account name or the password is wrong." in wrong.text
        # Now even the right password from that address waits, and is told how long.
        limited = _sign_in(stranger, "Limited editor", PASSWORD)
        assert limited.status_code == 429
        assert int(limited.headers["Retry-After"]) > 0
        assert "Too many failed sign-ins from this address. Try again in 10 min." in limited.text
        assert "locations_session" not in limited.headers.get("set-cookie", "")
    # The owner, elsewhere, signs in at once.
    with _client(people_engine, client=("198.51.100.20", 1)) as owner:
        assert _sign_in(owner, "Limited editor", PASSWORD).status_code == 303
    # An address trying many names is stopped after MAX_AUTH_FAILURES over all of them.
    with _client(people_engine, client=("203.0.113.9", 1)) as sprayer:
        for attempt in range(MAX_AUTH_FAILURES):
            assert _sign_in(sprayer, f"name {attempt}", "guess").status_code == 401
        assert _sign_in(sprayer, "Limited editor", PASSWORD).status_code == 429
    with people_engine.connect() as conn:
        # Nothing typed is stored: no password, only keys of address and name.
        stored = " ".join(conn.execute(text("SELECT client FROM auth_failure")).scalars())
    assert "not the password" not in stored and "guess" not in stored


# -- form tokens and expired sessions ----------------------------------------------------------

def test_a_form_without_its_token_or_with_an_expired_session_changes_nothing(people_engine):
    admin = _signed_in_client(people_engine, "Token admin", "admin")
    try:
        page = admin.get("/maps/admin/accounts")
        assert page.status_code == 200
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
        new = {"name": "Never made", "role": "investor"}
        # Without the token, or with another session's: refused, nothing created.
        for sent in ({}, {"csrf": ""}, {"csrf": "0" * 64}):
            refused = admin.post("/maps/admin/accounts", data=new | sent)
            assert refused.status_code == 403
        assert admin.post("/maps/sign-out", data={}).status_code == 403
        assert session_rows(people_engine, "Token admin") == 1
        # The session expires (idle): the same form with its token now leads to signing in.
        with people_engine.begin() as conn:
            conn.execute(text(
                "UPDATE account_session SET last_seen_at = now() - interval '2 hours' "
                "WHERE account_id = (SELECT id FROM account WHERE name = 'Token admin')"))
        expired = admin.post("/maps/admin/accounts?lang=de", data=new | {"csrf": token},
                             headers={"Accept": "text/html,*/*;q=0.8"})
        assert expired.status_code == 303
        assert expired.headers["location"] == (
            "/maps/sign-in?lang=de&next=%2Fmaps%2Fadmin%2Faccounts%3Flang%3Dde")
        # ... and the browser is told to forget the dead cookie.
        assert "locations_session=;" in expired.headers["set-cookie"]
        with people_engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM account WHERE name = 'Never made'")
                                ).scalar_one() == 0
    finally:
        admin.__exit__(None, None, None)


def test_sign_in_after_the_limit_of_hours_needs_the_password_again(people_engine):
    client = _signed_in_client(people_engine, "Long day", "municipality",
                               municipalities=["Kranj"])
    try:
        assert "Long day" in client.get("/?lang=en").text
        with people_engine.begin() as conn:
            conn.execute(text(
                "UPDATE account_session SET created_at = now() - interval '13 hours' "
                "WHERE account_id = (SELECT id FROM account WHERE name = 'Long day')"))
        page = client.get("/?lang=en")
        assert "Long day" not in page.text and ">Sign in</a>" in page.text
    finally:
        client.__exit__(None, None, None)


# -- the cookie ------------------------------------------------------------------------------

def _session_cookie(answer) -> str:
    cookies = [c for c in answer.headers.get_list("set-cookie")
               if c.startswith("locations_session=")]
    assert len(cookies) == 1, answer.headers
    return cookies[0]


def test_the_cookie_is_secure_only_behind_a_trusted_https_proxy(people_engine, monkeypatch):
    import httpx

    from api.app import create_app
    from locations.accounts import account_by_name
    from cli.main import uvicorn_proxy_options
    from locations.sign_in import set_password
    from tests.servers import serving_app

    with people_engine.begin() as conn:
        create_account(conn, "Cookie editor", "investor")
        set_password(conn, account_by_name(conn, "Cookie editor").id, PASSWORD)

    def sign_in_through(proxies: str) -> tuple[str, str]:
        """The form cookie and the session cookie as set through a proxy saying https."""
        monkeypatch.setenv("LOCATIONS_TRUSTED_PROXIES", proxies)
        get_settings.cache_clear()
        try:
            settings = get_settings()
            with serving_app(create_app(people_engine), **uvicorn_proxy_options(settings)) as url, \
                    httpx.Client(base_url=url, headers={"X-Forwarded-Proto": "https"}) as http:
                form = http.get("/maps/sign-in")
                form_cookie = form.headers["set-cookie"]
                csrf = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
                # Sent by hand: httpx keeps a Secure cookie from a plain-http server.
                answer = http.post(
                    "/maps/sign-in",
                    data={"name": "Cookie editor", "password": PASSWORD, "csrf": csrf},
                    headers={"Cookie": form_cookie.split(";")[0]})
                assert answer.status_code == 303, answer.text
                return form_cookie, _session_cookie(answer)
        finally:
            get_settings.cache_clear()

    trusted_form, trusted = sign_in_through("127.0.0.1")
    untrusted_form, untrusted = sign_in_through("")
    for cookie in (trusted, untrusted):
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
        assert "Max-Age=43200" in cookie  # LOCATIONS_SESSION_MAX_HOURS
    assert "Secure" in trusted and "Secure" in trusted_form
    # Anybody can send the header: from a client that is no trusted proxy it is ignored.
    assert "Secure" not in untrusted and "Secure" not in untrusted_form
    # Only the hash of the cookie's value is stored.
    value = trusted.split(";")[0].split("=", 1)[1]
    with people_engine.connect() as conn:
        stored = conn.execute(text("SELECT string_agg(token_hash, ' ') FROM account_session")
                              ).scalar_one()
    assert value not in stored
    assert hashlib.sha256(value.encode()).hexdigest() in stored


# -- the admin's accounts page --------------------------------------------------------------

def test_an_admin_creates_resets_and_revokes_accounts_in_the_browser(browser, server,
                                                                      people_engine):
    admin = browser.new_context(viewport={"width": 1280, "height": 900})
    invite_and_sign_in(admin, server, people_engine, "Page admin", "admin")
    page = admin.new_page()
    page.goto(server + "/?lang=en")
    page.locator("header.site nav.account").get_by_role("link", name="Accounts").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Accounts"

    # A form whose token was lost (or another site's) changes nothing.
    page.fill("#account-name", "Forged editor")
    page.eval_on_selector("form.person-form input[name=csrf]", "input => input.remove()")
    page.click("form.person-form button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Not allowed"
    assert "nothing was changed" in page.locator("main").inner_text()
    with people_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM account WHERE name = 'Forged editor'")
                            ).scalar_one() == 0
    page.goto(server + "/maps/admin/accounts?lang=en")

    # Create a Maribor editor: the link is shown once, on this answer only.
    page.fill("#account-name", "Maribor editor")
    page.select_option("#account-role", "municipality")
    page.select_option("#account-municipalities", label="Maribor")
    page.click("form.person-form button[type=submit]")
    page.wait_for_load_state()
    link = page.locator("#invitation-link output.link").inner_text()
    assert link.startswith(server + "/maps/invitations/")
    assert page.locator("tr[data-account='Maribor editor']").count() == 1
    assert "invited" in page.locator("tr[data-account='Maribor editor']").inner_text()
    shoot(page, "accounts-created")
    page.goto(server + "/maps/admin/accounts?lang=en")
    assert page.locator("#invitation-link").count() == 0

    # The person sets a password through the link and is signed in.
    person = browser.new_context()
    tab = person.new_page()
    tab.goto(link)
    tab.fill("#invitation-password", PASSWORD)
    tab.fill("#invitation-repeat", PASSWORD)
    tab.click("form.person-form button[type=submit]")
    tab.wait_for_load_state()
    assert tab.locator("header.site .person").inner_text() == "Maribor editor"
    # Not an admin: the accounts page is refused, on a page in the person's language.
    refused = tab.goto(server + "/maps/admin/accounts?lang=sl")
    assert refused.status == 403
    assert tab.locator("h1").inner_text() == "Ni dovoljeno"
    assert tab.locator("header.site .person").inner_text() == "Maribor editor"
    assert axe_violations(tab) == []
    shoot(tab, "accounts-403-sl")

    # Reset: a new link; the person is signed out and the old password no longer works.
    row = page.locator("tr[data-account='Maribor editor']")
    row.get_by_role("button", name="New invitation: Maribor editor").click()
    page.wait_for_load_state()
    new_link = page.locator("#invitation-link output.link").inner_text()
    assert new_link != link and new_link.startswith(server + "/maps/invitations/")
    tab.goto(server + "/?lang=en")
    assert tab.locator("header.site .sign-in").count() == 1
    with _client(people_engine) as client:
        assert _sign_in(client, "Maribor editor", PASSWORD).status_code == 401

    # Revoke, behind its own confirmation: the row says revoked and offers nothing more.
    row = page.locator("tr[data-account='Maribor editor']")
    row.locator("details.revoke summary").click()
    row.get_by_role("button", name="Revoke Maribor editor for good").click()
    page.wait_for_load_state()
    assert "Maribor editor is revoked" in page.locator(".notice").inner_text()
    row = page.locator("tr[data-account='Maribor editor']")
    assert "revoked" in row.inner_text() and row.locator("button").count() == 0
    tab.goto(new_link)
    assert tab.locator("h1").inner_text() == "This link no longer works"
    # One's own account has no revoke button.
    assert page.locator("tr[data-account='Page admin'] details.revoke").count() == 0
    person.close()

    # Nobody signed in: on to the sign-in page, and back to the accounts once signed in.
    anonymous = browser.new_context()
    tab = anonymous.new_page()
    tab.goto(server + "/maps/admin/accounts?lang=en")
    assert tab.url.startswith(server + "/maps/sign-in?")
    tab.fill("#sign-in-name", "Page admin")
    tab.fill("#sign-in-password", PASSWORD)
    tab.click("form.person-form button[type=submit]")
    tab.wait_for_load_state()
    assert tab.url == server + "/maps/admin/accounts?lang=en"
    anonymous.close()
    admin.close()


def test_sign_in_invitation_and_accounts_pages_pass_axe_and_fit_a_phone(browser, server,
                                                                         people_engine):
    admin = browser.new_context(viewport={"width": 390, "height": 844})
    link = invitation_link(people_engine, server, "Phone admin", "admin")
    anonymous = browser.new_context(viewport={"width": 390, "height": 844})
    checked = []
    for context, path, name in ((anonymous, "/maps/sign-in?lang=sl", "sign-in-390"),
                                (anonymous, link.removeprefix(server) + "?lang=de",
                                 "invitation-390"),
                                (admin, None, "accounts-390")):
        page = context.new_page()
        if path is None:
            invite_and_sign_in(page, server, people_engine, "Phone editor", "admin")
            page.goto(server + "/maps/admin/accounts?lang=sl")
        else:
            page.goto(server + path)
        wait_until_drawn(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, name
        shoot(page, name)
        assert axe_violations(page) == [], name
        checked.append(name)
    # The header of a person signed in, in the longest labels (German), fits the phone too.
    page.goto(server + "/?lang=de")
    wait_until_drawn(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.locator("header.site nav.account").bounding_box()["height"] < 120
    shoot(page, "start-de-390-signed-in")
    assert len(checked) == 3
    admin.close()
    anonymous.close()


# -- the command line -----------------------------------------------------------------------

def test_the_cli_prints_an_invitation_link_resets_it_and_sets_a_password(people_engine):
    import subprocess
    import sys

    def cli(*args: str, typed: str | None = None) -> subprocess.CompletedProcess:
        url = people_engine.url.render_as_string(hide_password=False)
        return subprocess.run(
            [sys.executable, "-m", "cli", "accounts", *args], input=typed,
            check=False, capture_output=True, text=True, timeout=120, start_new_session=True,
            env=os.environ | {"DATABASE_URL": url, "COLUMNS": "200",
                              "LOCATIONS_PUBLIC_URL": "https://lokacije.example.si/"})

    created = cli("create", "CLI editor", "--role", "municipality", "--municipality", "Kranj")
    assert created.returncode == 0, created.stderr
    lines = created.stdout.strip().splitlines()
    link = next(line for line in lines if "/maps/invitations/" in line)
    assert link.startswith("https://lokacije.example.si/maps/invitations/")
    token = link.rsplit("/", 1)[1]
    api_token = lines[-1]  # the API token, alone on the last line as before
    assert len(api_token) >= 40 and " " not in api_token and api_token != token
    with _client(people_engine) as client:
        assert client.get(f"/maps/invitations/{token}").status_code == 200
        assert client.get("/plots/1/history", headers={"Authorization": f"Bearer {api_token}"}
                          ).status_code in (200, 403)

    reset = cli("reset", "CLI editor")
    assert reset.returncode == 0, reset.stderr
    new_token = reset.stdout.strip().splitlines()[-1].rsplit("/", 1)[1]
    with _client(people_engine) as client:
        assert client.get(f"/maps/invitations/{token}").status_code == 404
        assert client.get(f"/maps/invitations/{new_token}").status_code == 200
    assert cli("reset", "nobody").returncode == 1

    # --password: typed twice at the prompt (a refused one is asked again), no link.
    typed = cli("create", "CLI admin", "--role", "admin", "--password",
                typed="short\nshort\n" + f"{PASSWORD}\n{PASSWORD}\n")
    assert typed.returncode == 0, typed.stderr
    assert "/maps/invitations/" not in typed.stdout and PASSWORD not in typed.stdout
    with _client(people_engine, client=("10.9.9.9", 1)) as client:
        assert _sign_in(client, "CLI admin", PASSWORD).status_code == 303
    listed = cli("list")
    row = next(line for line in listed.stdout.splitlines() if "CLI admin" in line)
    assert " set " in row and PASSWORD not in listed.stdout


def test_a_password_hashed_with_other_parameters_works_and_is_rehashed(people_engine):
    from argon2 import PasswordHasher

    with people_engine.begin() as conn:
        create_account(conn, "Old hash", "investor")
        conn.execute(text("UPDATE account SET password_hash = :h WHERE name = 'Old hash'"),
                     {"h": PasswordHasher(memory_cost=65536, time_cost=3).hash(PASSWORD)})
    with _client(people_engine, client=("10.8.8.8", 1)) as client:
        assert _sign_in(client, "Old hash", PASSWORD).status_code == 303
    with people_engine.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM account WHERE name = 'Old hash'")
                              ).scalar_one()
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_revoking_an_account_ends_its_sessions_at_once(people_engine):
    from locations.accounts import revoke_account

    client = _signed_in_client(people_engine, "Leaving editor", "municipality",
                               municipalities=["Kranj"], address="10.7.7.7")
    try:
        assert '<span class="person">Leaving editor</span>' in client.get("/?lang=en").text
        with people_engine.begin() as conn:
            revoke_account(conn, "Leaving editor")
        assert session_rows(people_engine, "Leaving editor") == 0
        page = client.get("/?lang=en")
        assert "Leaving editor" not in page.text and ">Sign in</a>" in page.text
        assert _sign_in(client, "Leaving editor", PASSWORD).status_code == 401
    finally:
        client.__exit__(None, None, None)


def test_setting_a_password_on_a_shared_browser_signs_the_previous_person_out(people_engine):
    client = _signed_in_client(people_engine, "First person", "investor", address="10.6.6.6")
    try:
        link = invitation_link(people_engine, "", "Second person", "investor")
        csrf = _form_token(client, link)
        answer = client.post(link, data={"password": PASSWORD, "repeat": PASSWORD,
                                         "csrf": csrf})
        assert answer.status_code == 303
        assert session_rows(people_engine, "First person") == 0
        assert session_rows(people_engine, "Second person") == 1
        assert '<span class="person">Second person</span>' in client.get("/").text
    finally:
        client.__exit__(None, None, None)


@pytest.mark.parametrize("next_url, landing", [
    ("/maps/zones/1?lang=de", "/maps/zones/1?lang=de"),
    ("//evil.example/x", "/"), ("/\\evil.example", "/"), ("https://evil.example/", "/"),
    ("/maps/sign-in", "/"),
])
def test_signing_in_returns_only_to_a_page_of_this_site(people_engine, next_url, landing):
    from locations.accounts import account_by_name
    from locations.sign_in import set_password

    name = f"Returning {abs(hash(next_url))}"
    with people_engine.begin() as conn:
        create_account(conn, name, "investor")
        set_password(conn, account_by_name(conn, name).id, PASSWORD)
    with _client(people_engine, client=("10.5.5.5", 1)) as client:
        answer = client.post("/maps/sign-in", data={
            "name": name, "password": PASSWORD, "next": next_url, "csrf": _form_token(client)})
        assert answer.status_code == 303
        assert answer.headers["location"] == landing
