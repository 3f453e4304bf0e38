"""Every answer carries the security headers; every page a policy that allows only its own
scripts, and the frames the operator allows."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from api.security_headers import script_hashes

PAGE_TYPES = {
    "start page": "/",
    "map page": "/maps/overview",
    "API documentation": "/docs",
    "JSON": "/regions",
    "GeoJSON": "/plots?limit=1",
    "error": "/plots/999999999",
}


@pytest.mark.parametrize("kind", PAGE_TYPES)
def test_every_answer_has_the_basic_headers(client, kind):
    response = client.get(PAGE_TYPES[kind])
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert response.headers["x-frame-options"] == "SAMEORIGIN"


@pytest.mark.parametrize("path", ["/", "/maps/overview", "/maps/compare", "/docs", "/redoc"])
def test_pages_allow_only_their_own_scripts(client, path):
    response = client.get(path)
    policy = dict(part.strip().split(" ", 1) for part in
                  response.headers["content-security-policy"].split(";"))
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-eval'" not in policy["script-src"]
    assert policy["script-src"].startswith("'self'")
    assert policy["frame-ancestors"] == "'self'"
    assert policy["object-src"] == "'none'"
    # Each inline script of the page is allowed by its hash, and nothing else is.
    if "<script>" in response.text:
        assert "'sha256-" in policy["script-src"]
    # No base map is set: images come from the platform alone (tests/test_map_context.py
    # checks the operator's chosen host).
    assert policy["img-src"] == "'self' data: blob:"


def test_json_answers_carry_no_page_policy(client):
    assert "content-security-policy" not in client.get("/regions").headers


def test_an_operator_lets_a_municipality_embed_the_map(engine, monkeypatch):
    from api.app import create_app
    from locations.settings import get_settings

    monkeypatch.setenv("LOCATIONS_FRAME_ANCESTORS", "'self' https://www.kranj.si")
    get_settings.cache_clear()
    try:
        with TestClient(create_app(engine)) as client:
            response = client.get("/maps/overview")
    finally:
        get_settings.cache_clear()
    assert "frame-ancestors 'self' https://www.kranj.si" in \
        response.headers["content-security-policy"]
    # X-Frame-Options cannot name another site: left out, the CSP decides.
    assert "x-frame-options" not in response.headers


def test_the_documentation_comes_from_the_platform(client):
    page = client.get("/docs").text
    assert "/static/vendor/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn.jsdelivr.net" not in page
    assert client.get("/static/vendor/swagger-ui-dist/swagger-ui-bundle.js").status_code == 200
    redoc = client.get("/redoc").text
    assert "fonts.googleapis.com" not in redoc and "cdn" not in redoc
    bundle = client.get("/docs/redoc.standalone.js")
    assert bundle.status_code == 200 and b"cdn.redoc.ly" not in bundle.content


#: The one pattern the policy's hashes were first found by: the reference for the faster
#: search (api.security_headers._inline_scripts), which must find exactly the same scripts.
REFERENCE_SCRIPT = re.compile(
    rb"<script(?![^>]*\bsrc\s*=)[^>]*>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)
TRICKY_PAGES = [
    b"",
    b"<script>a</script>",
    b"<SCRIPT type='module'>a</Script >x<script src='/s.js'></script><script>b</script\n>",
    b"<script>unclosed",
    b"<script>one<script>two</script>",
    b"<script src=x>ignored</script><script\nsrc = 'y'>also</script><script>kept</script>",
    b"<script>a</script><script>a</script>",  # the same script twice: one hash
    b"<scripts>not a script</scripts><script data-x='>'>odd</script>",
    b"<script>\xff\xfe bytes</script>",
]


def _reference_hashes(html: bytes) -> list[str]:
    hashes: list[str] = []
    for match in REFERENCE_SCRIPT.finditer(html):
        digest = base64.b64encode(hashlib.sha256(match.group(1)).digest()).decode()
        if f"'sha256-{digest}'" not in hashes:
            hashes.append(f"'sha256-{digest}'")
    return hashes


@pytest.mark.parametrize("html", TRICKY_PAGES)
def test_script_hashes_find_what_the_single_pattern_finds(html):
    assert script_hashes(html) == _reference_hashes(html)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from([b"<script>", b"<SCRIPT type=x>", b"<script src=a>", b"</script>",
                                 b"</SCRIPT >", b"</script\n>", b"<scrip", b">", b"<", b"/",
                                 b" src=", b"js();", b"\n", b"\xc3\xa9"]), max_size=30))
def test_script_hashes_match_the_single_pattern_on_any_markup(parts):
    html = b"".join(parts)
    assert script_hashes(html) == _reference_hashes(html)


def test_every_served_page_script_is_hashed(client, engine):
    """A plot page's policy lists each of its inline scripts, as the reference finds them."""
    from sqlalchemy import text

    with engine.connect() as conn:
        plot_id = conn.execute(text("SELECT min(id) FROM plot")).scalar_one()
    response = client.get(f"/maps/plots/{plot_id}")
    hashes = _reference_hashes(response.content)
    assert len(hashes) >= 2
    assert all(h in response.headers["content-security-policy"] for h in hashes)
