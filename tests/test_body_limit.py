"""Request bodies over the limit are refused with 413, whether announced or streamed."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from locations.settings import get_settings


def small_limit_client(engine, monkeypatch) -> TestClient:
    from api.app import create_app

    monkeypatch.setenv("LOCATIONS_MAX_BODY_BYTES", "1000")
    get_settings.cache_clear()
    try:
        return TestClient(create_app(engine))
    finally:
        monkeypatch.delenv("LOCATIONS_MAX_BODY_BYTES")
        get_settings.cache_clear()


def test_a_streamed_body_without_content_length_is_cut_off(engine, monkeypatch):
    client = small_limit_client(engine, monkeypatch)

    def chunks():
        # A generator body goes out chunked: the server learns its size only as it arrives.
        for _ in range(20):
            yield b'{"filler": "' + b"x" * 200 + b'"}'

    response = client.post("/plots/search", content=chunks(),
                           headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert "larger than 1000 bytes" in response.json()["detail"]


def test_a_small_body_passes_the_limit(engine, monkeypatch):
    client = small_limit_client(engine, monkeypatch)
    response = client.post("/plots/search", json={"status": ["available"], "limit": 5})
    assert response.status_code == 200
    assert response.json()["numberReturned"] == 5


def test_a_gis_file_may_be_larger_than_a_json_body_up_to_the_upload_limit(fresh_engine,
                                                                         monkeypatch):
    """A region's cadastral file is far larger than any JSON body: POST /imports takes it
    under its own limit, and names the setting and the CLI when a file is too large."""
    from api.app import create_app
    from locations.accounts import create_account
    with fresh_engine.begin() as conn:
        admin = create_account(conn, "boss", "admin")
    sample = Path(__file__).resolve().parent.parent / "data" / "samples" / "plots-generic.gpkg"
    size = sample.stat().st_size
    assert size > 1000

    def post(upload_limit: int):
        monkeypatch.setenv("LOCATIONS_MAX_BODY_BYTES", "1000")
        monkeypatch.setenv("LOCATIONS_MAX_UPLOAD_BYTES", str(upload_limit))
        get_settings.cache_clear()
        try:
            client = TestClient(create_app(fresh_engine))
        finally:
            get_settings.cache_clear()
        with sample.open("rb") as handle:
            return client.post("/imports", headers={"Authorization": f"Bearer {admin}"},
                               data={"target": "plots", "dry_run": "true"},
                               files={"file": ("plots.gpkg", handle, "application/geopackage+sqlite3")})

    accepted = post(10 * size)
    assert accepted.status_code == 200, accepted.json()
    assert accepted.json()["created"] == 5
    refused = post(size // 2)
    assert refused.status_code == 413
    assert "LOCATIONS_MAX_UPLOAD_BYTES" in refused.json()["detail"]
    assert "locations import" in refused.json()["detail"]


def _through_the_limit(http_version: str, headers: list[tuple[bytes, bytes]]) -> int:
    """The status of a POST of 5,000 bytes in one message, through a 1,000-byte limit,
    to an app that reads the whole body."""
    import asyncio

    from starlette.requests import Request
    from starlette.responses import PlainTextResponse

    from api.middleware import BodySizeLimit

    async def reads_its_body(scope, receive, send):
        body = await Request(scope, receive).body()
        await PlainTextResponse(str(len(body)))(scope, receive, send)

    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"x" * 5000, "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "http_version": http_version, "method": "POST", "path": "/plots",
             "headers": headers, "query_string": b""}
    asyncio.run(BodySizeLimit(reads_its_body, max_bytes=1000)(scope, receive, send))
    return sent[0]["status"]


def test_an_http2_body_without_length_or_chunking_is_still_counted():
    """HTTP/2 frames a body with neither Content-Length nor Transfer-Encoding: the limit
    counts it as it arrives (only HTTP/1 without either header is known to be empty)."""
    assert _through_the_limit("2", []) == 413
    assert _through_the_limit("1.1", [(b"content-length", b"5000")]) == 413
    assert _through_the_limit("1.1", [(b"transfer-encoding", b"chunked")]) == 413
