"""Request bodies over the limit are refused with 413, whether announced or streamed."""

from __future__ import annotations

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
