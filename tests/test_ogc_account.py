"""The OGC feature routes read the caller's token themselves (api.auth.request_account) rather
than through FastAPI's dependencies: whatever Authorization header a client sends, they must
answer as GET /plots, which declares the optional account, answers the same header (the same
status, the same internal fields), and document the token in OpenAPI as it does."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import text

JSON_CLIENT = {"Accept": "application/json"}


@pytest.fixture
def tokens(fresh_engine) -> dict[str, str]:
    from locations.accounts import create_account

    with fresh_engine.begin() as conn:
        admin = create_account(conn, "ogc-account-admin", "admin")
        investor = create_account(conn, "ogc-account-investor", "investor")
    return {"admin": admin, "investor": investor}


def _headers(tokens: dict[str, str]) -> dict[str, dict[str, str]]:
    admin = tokens["admin"]
    return {
        "none": {},
        "admin": {"Authorization": f"Bearer {admin}"},
        "admin, scheme in lower case": {"Authorization": f"bearer {admin}"},
        "admin, spaces around the token": {"Authorization": f"Bearer   {admin}  "},
        "investor": {"Authorization": f"Bearer {tokens['investor']}"},
        "another scheme": {"Authorization": "Basic " + base64.b64encode(b"a:b").decode()},
        "the scheme alone": {"Authorization": "Bearer"},
        "the scheme and blanks": {"Authorization": "Bearer   "},
        "empty": {"Authorization": ""},
        "a wrong token": {"Authorization": "Bearer not-a-token"},
    }


def _answer(response) -> tuple[int, bool | None]:
    """The status, and for a page whether it carries internal fields."""
    if response.status_code != 200:
        return response.status_code, None
    body = response.json()
    features = body.get("features", [body])
    return 200, any("owner_contact" in f["properties"] for f in features)


def test_ogc_items_read_every_authorization_header_as_get_plots_does(fresh_client, tokens):
    with_contact = None
    answers = {}
    for name, headers in _headers(tokens).items():
        plots = fresh_client.get("/plots", params={"limit": 20}, headers=JSON_CLIENT | headers)
        items = fresh_client.get("/collections/plots/items", params={"limit": 20},
                                 headers=JSON_CLIENT | headers)
        answers[name] = _answer(items)
        assert answers[name] == _answer(plots), name
        if name == "admin":
            with_contact = items.json()["features"][0]["id"]
        one = fresh_client.get(f"/collections/plots/items/{with_contact or 1}",
                               headers=JSON_CLIENT | headers)
        assert _answer(one) == _answer(fresh_client.get(
            f"/plots/{with_contact or 1}", headers=JSON_CLIENT | headers)), name
    # What a user notices: internal fields with an admin's token however it is written, none
    # for an investor or without a token, and a wrong token refused rather than read anonymous.
    assert answers["admin"] == answers["admin, scheme in lower case"] == (200, True)
    assert answers["admin, spaces around the token"] == (200, True)
    assert answers["investor"] == answers["none"] == answers["another scheme"] == (200, False)
    assert answers["the scheme alone"] == answers["empty"] == (200, False)
    assert answers["a wrong token"][0] == 401


def test_ogc_items_count_wrong_tokens_towards_the_limit(fresh_client, fresh_engine):
    """A wrong token through the OGC routes is a failure like any other: enough of them from
    one address and the answer is 429 with Retry-After, on GET /plots as well."""
    statuses = [fresh_client.get("/collections/plots/items",
                                 headers={"Authorization": "Bearer wrong"}).status_code
                for _ in range(30)]
    assert statuses[0] == 401
    assert 429 in statuses
    limited = fresh_client.get("/plots", headers={"Authorization": "Bearer wrong"})
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    with fresh_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM auth_failure")).scalar_one() > 0


def test_ogc_feature_routes_document_the_optional_token_as_get_plots(fresh_client):
    paths = fresh_client.get("/openapi.json").json()["paths"]
    expected = paths["/plots"]["get"]["security"]
    assert expected == [{"HTTPBearer": []}, {}]
    for collection in ("plots", "zones", "municipalities"):
        assert paths[f"/collections/{collection}/items"]["get"]["security"] == expected
        assert paths[f"/collections/{collection}/items/{{feature_id}}"]["get"][
            "security"] == expected
