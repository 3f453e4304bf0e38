"""What an operator sees: a request id on every answer, one JSON access line per request
(route template, no query string), /metrics that move under load and are not public, and
liveness and readiness for an orchestrator."""

from __future__ import annotations

import json
import logging
import os
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from locations.settings import get_settings


@pytest.fixture
def observed_client(engine: Engine):
    from api.app import create_app

    os.environ["LOCATIONS_METRICS_TOKEN"] = "scrape-me-please"
    get_settings.cache_clear()
    try:
        with TestClient(create_app(engine)) as client:
            yield client
    finally:
        os.environ.pop("LOCATIONS_METRICS_TOKEN", None)
        get_settings.cache_clear()


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(record.getMessage()))


def sample(metrics: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in metrics.splitlines():
        if line.startswith(f"{name}{{{wanted}}} ") or (not labels and line.startswith(f"{name} ")):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_every_answer_has_a_request_id_and_one_access_line_without_the_query(observed_client):
    lines = Lines()
    logging.getLogger("locations.access").addHandler(lines)
    try:
        answer = observed_client.get("/plots/1?owner=secret@example.com")
        kept = observed_client.get("/health/live", headers={"X-Request-ID": "proxy-given-1234"})
        forged = observed_client.get("/health/live", headers={"X-Request-ID": "bad\nid {json}"})
    finally:
        logging.getLogger("locations.access").removeHandler(lines)
    assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["X-Request-ID"])
    assert kept.headers["X-Request-ID"] == "proxy-given-1234"
    assert forged.headers["X-Request-ID"] != "bad\nid {json}"
    first = lines.lines[0]
    assert first["request_id"] == answer.headers["X-Request-ID"]
    assert first["route"] == "/plots/{plot_id}" and first["method"] == "GET"
    assert first["status"] == answer.status_code and first["duration_ms"] >= 0
    assert "secret" not in json.dumps(lines.lines)


def test_metrics_move_under_requests_and_are_not_public(observed_client):
    assert observed_client.get("/metrics").status_code == 403  # the test client is no loopback
    token = {"Authorization": "Bearer scrape-me-please"}
    before = observed_client.get("/metrics", headers=token)
    assert before.status_code == 200 and before.headers["content-type"].startswith("text/plain")
    for _ in range(7):
        assert observed_client.get("/plots", params={"region": "SI042", "limit": 5}).status_code == 200
    observed_client.get("/plots/999999999")
    after = observed_client.get("/metrics", headers=token).text
    requests = "locations_http_requests_total"
    assert (sample(after, requests, method="GET", route="/plots", status="200")
            - sample(before.text, requests, method="GET", route="/plots", status="200")) == 7
    assert sample(after, requests, method="GET", route="/plots/{plot_id}", status="404") >= 1
    assert sample(after, "locations_http_request_duration_seconds_count", method="GET", route="/plots") >= 7
    assert sample(after, "locations_database_up") == 1
    assert "locations_db_pool_connections" in after and "locations_scoring_runs" in after
    assert "region=" not in after  # labels are route templates, never queries


def test_liveness_needs_no_database_and_readiness_does(observed_client):
    assert observed_client.get("/health/live").json() == {"status": "alive"}
    assert observed_client.get("/health/ready").json() == {"status": "ready"}


def test_metrics_add_up_every_worker(engine: Engine, tmp_path):
    """`locations serve --workers 2`: whichever worker answers a scrape, it counts the
    requests both answered (prometheus-client's multiprocess mode)."""
    import subprocess
    import sys
    import time

    import httpx

    from locations.settings import PROJECT_ROOT
    from tests.servers import free_port

    port = free_port()
    folder = tmp_path / "metrics"
    folder.mkdir()
    (folder / "counter_1.db").write_bytes(b"")  # an earlier run's file: emptied at start
    env = {**os.environ, "DATABASE_URL": engine.url.render_as_string(hide_password=False),
           "PROMETHEUS_MULTIPROC_DIR": str(folder), "PYTHONPATH": str(PROJECT_ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-m", "locations.cli", "serve", "--port", str(port), "--workers", "2"],
        env=env, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server did not start"
            try:
                if httpx.get(f"{base}/health/live", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        # Each request on a connection of its own, so the kernel hands them to both workers.
        for _ in range(40):
            assert httpx.get(f"{base}/plots", params={"limit": 1}).status_code == 200
        workers_counting = {path.name for path in folder.glob("counter_*.db")}
        assert len(workers_counting) >= 2, workers_counting  # both workers answered some
        assert "counter_1.db" not in workers_counting
        for _ in range(8):
            scraped = httpx.get(f"{base}/metrics").text
            assert sample(scraped, "locations_http_requests_total", method="GET",
                          route="/plots", status="200") == 40
            assert sample(scraped, "locations_database_up") == 1
            assert "locations_db_pool_connections" in scraped
    finally:
        server.terminate()
        server.wait(timeout=30)
