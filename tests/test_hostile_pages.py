"""The signed-in pages as an attacker tries them: a session cookie planted before signing in,
a photo that is also a web page, file names that hide their kind or climb folders.
(Forms without their token: tests/test_write_matrix.py; sign-in limits and open
redirects: tests/test_sign_in.py; hostile file contents: tests/test_desk_core.py.)"""

from __future__ import annotations

import io
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from locations.accounts import account_by_name, create_account
from locations.sign_in import set_password
from tests import hostile_inputs
from tests.desk_files import png
from tests.test_plot_updates import plot_in

PASSWORD = "correct horse battery staple"


def person(engine: Engine, name: str, role: str = "municipality", **scope) -> None:
    scope = scope or ({"municipalities": ["Kranj"]} if role == "municipality" else {})
    with engine.begin() as conn:
        create_account(conn, name, role, **scope)
        set_password(conn, account_by_name(conn, name).id, PASSWORD)


def form_token(client: TestClient, path: str = "/maps/sign-in") -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get(path).text).group(1)


def sign_in(client: TestClient, name: str):
    return client.post("/maps/sign-in", data={"name": name, "password": PASSWORD,
                                              "csrf": form_token(client)})


def session_cookie(answer) -> str:
    for header in answer.headers.get_list("set-cookie"):
        if header.startswith("locations_session=") and "Max-Age=0" not in header:
            return header.split(";", 1)[0].split("=", 1)[1]
    raise AssertionError(f"no session cookie set: {answer.headers}")


def who(app, cookie: str) -> str | None:
    """The person a browser holding only ``cookie`` is signed in as (None: nobody)."""
    with TestClient(app, follow_redirects=False) as browser:
        browser.cookies.set("locations_session", cookie)
        page = browser.get("/maps/my/plots", headers={"Accept": "text/html"})
        if page.status_code == 303:
            return None
        found = re.search(r'class="person"[^>]*>([^<]+)<', page.text)
        return found.group(1).strip() if found else page.text[:200]


@pytest.mark.parametrize("planted", ["attacker-chosen-value", "own-session"])
def test_a_session_cookie_planted_before_signing_in_never_becomes_the_victims(fresh_engine,
                                                                             planted):
    """Session fixation: whoever sets a browser's cookie before its owner signs in (a shared
    computer, a sibling site's cookie) must not be signed in as the owner afterwards. A
    value of the attacker's choosing is no session; the attacker's own live session is
    ended on the victim's sign-in, and the victim gets a new token either way."""
    from api.app import create_app

    app = create_app(fresh_engine)
    person(fresh_engine, "victim")
    cookie = planted
    if planted == "own-session":
        person(fresh_engine, "attacker")
        with TestClient(app, follow_redirects=False) as attacker:
            cookie = session_cookie(sign_in(attacker, "attacker"))
        assert who(app, cookie) == "attacker"
    with TestClient(app, follow_redirects=False) as victim:
        victim.cookies.set("locations_session", cookie)
        answer = sign_in(victim, "victim")
        assert answer.status_code == 303, answer.text
        issued = session_cookie(answer)
    assert issued != cookie
    assert who(app, issued) == "victim"
    assert who(app, cookie) is None  # the planted value leads nowhere, least of all to the victim


def test_a_photo_that_is_also_a_web_page_is_served_as_an_image_that_runs_nothing(fresh_client,
                                                                                fresh_engine):
    """A valid PNG with a web page after its end (a polyglot) passes as a PNG; it must be
    served as image/png that the browser may not sniff as HTML, in a sandbox that runs
    nothing, whatever the file was called."""
    from locations import attachments

    person(fresh_engine, "kranj-photos")
    plot = plot_in(fresh_engine, "Kranj")
    polyglot = png() + b"<html><script>alert(document.cookie)</script></html>"
    with fresh_engine.begin() as conn:
        editor = account_by_name(conn, "kranj-photos")
        file_id = attachments.add(conn, editor, plot, polyglot, "page.html")
    answer = fresh_client.get(f"/maps/plots/{plot}/files/{file_id}")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/png"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in answer.headers["content-security-policy"]
    assert "page.png" in answer.headers["content-disposition"]


@pytest.mark.parametrize("name", [n for n, _ in hostile_inputs.FILE_NAMES],
                         ids=[w for _, w in hostile_inputs.FILE_NAMES])
def test_a_hostile_file_name_is_cleaned_or_refused_and_never_reaches_a_header(fresh_engine, name):
    from api.app import create_app

    person(fresh_engine, "kranj-names")
    plot = plot_in(fresh_engine, "Kranj")
    app = create_app(fresh_engine)
    with TestClient(app, follow_redirects=False) as browser:
        assert sign_in(browser, "kranj-names").status_code == 303
        csrf = form_token(browser, f"/maps/my/plots/{plot}/files")
        answer = browser.post(f"/maps/my/plots/{plot}/files", data={"csrf": csrf, "title": "x"},
                              files={"file": (name, io.BytesIO(png()), "image/png")})
        assert answer.status_code in (303, 400), answer.text[:300]
        with fresh_engine.connect() as conn:
            stored = conn.execute(text("SELECT id, file_name FROM plot_attachment "
                                       "WHERE plot_id = :p"), {"p": plot}).all()
        if answer.status_code == 400:
            assert stored == [] and "file" in answer.text
            return
        [(file_id, file_name)] = stored
        assert file_name.endswith(".png")
        assert not re.search(r"[/\\\x00-\x1f\u202a-\u202e\u2066-\u2069]", file_name), file_name
        served = browser.get(f"/maps/plots/{plot}/files/{file_id}")
        disposition = served.headers["content-disposition"]
        assert "\r" not in disposition and "\n" not in disposition
        assert re.fullmatch(r'inline; filename="[A-Za-z0-9._-]+"; filename\*=UTF-8\'\'[^\s";]+',
                            disposition), disposition
        assert "set-cookie" not in served.headers


def test_the_hostile_texts_never_stay_in_a_file_name(fresh_engine):
    """Each hostile text in a name is refused, or gone with the folder part it came in."""
    from locations import attachments
    from locations.errors import InvalidInput
    from locations.values import text_problem

    for value, why in hostile_inputs.TEXT:
        try:
            cleaned = attachments.clean_file_name(f"photo{value}.png", "png")
        except InvalidInput:
            continue
        assert text_problem(cleaned) is None and value not in cleaned, (why, cleaned)


def zip_bomb(path, unpacked_mb: int = 250) -> None:
    """A zipped 'Shapefile' whose .shp declares ``unpacked_mb`` MB of zeros: some 250 KB."""
    import zipfile

    chunk = b"\x00" * (1024 * 1024)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("plots.shp", "w", force_zip64=True) as shp:
            for _ in range(unpacked_mb):
                shp.write(chunk)
        archive.writestr("plots.dbf", b"\x03" + b"\x00" * 31)
        archive.writestr("plots.shx", b"\x00" * 100)


def test_a_zip_bomb_is_refused_before_it_is_read(fresh_client, fresh_engine, tmp_path):
    """A zip that unpacks to 1,000 times its size is refused by its declared sizes, by the
    API's import and by the outline page's reader alike, naming the file; nothing is read."""
    from locations import plot_outline
    from locations.errors import InvalidInput
    from tests.test_plot_updates import make_account

    bomb = tmp_path / "plots.zip"
    zip_bomb(bomb)
    assert bomb.stat().st_size < 2 * 1024 * 1024
    admin = make_account(fresh_engine, "bomb-admin", "admin")
    with bomb.open("rb") as handle:
        answer = fresh_client.post("/imports", headers=admin, data={"target": "plots"},
                                   files={"file": ("plots.zip", handle, "application/zip")})
    assert answer.status_code == 400, answer.text
    assert "the zip archive unpacks to 250 MB" in answer.json()["detail"]
    assert "zip bomb" in answer.json()["detail"]
    with pytest.raises(InvalidInput) as refused:
        plot_outline.read_outline_file(bomb)
    assert refused.value.field == "outline_file" and "unpacks to 250 MB" in refused.value.reason
