"""Failed authentications and uploads: the limit never locks out a valid token, forwarded
addresses count only from trusted proxies, and an upload is refused before it is read."""

from __future__ import annotations

import select
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import Engine, text

from locations.accounts import MAX_AUTH_FAILURES
from cli.main import uvicorn_proxy_options
from locations.settings import Settings, get_settings
from tests.test_plot_updates import make_account, plot_in

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "samples" / "plots-generic.geojson"
BAD = {"Authorization": "Bearer guessed-token"}


@contextmanager
def serving(engine: Engine, settings: Settings) -> Iterator[str]:
    """The API on a real uvicorn, configured as `locations serve` configures it."""
    from api.app import create_app

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(create_app(engine), host="127.0.0.1", port=port, log_level="warning",
                            **uvicorn_proxy_options(settings))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def failures_by_client(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(text(
            "SELECT client, count(*) FROM auth_failure GROUP BY client")).all())


# -- the failed-authentication limit ------------------------------------------------------------


def test_a_valid_token_is_accepted_from_an_address_that_failed_too_often(fresh_client,
                                                                         fresh_engine):
    plot_id = plot_in(fresh_engine, "Kranj")
    good = make_account(fresh_engine, "kranj", "municipality", municipalities=["Kranj"])
    history = f"/plots/{plot_id}/history"
    for _ in range(MAX_AUTH_FAILURES):
        assert fresh_client.get(history, headers=BAD).status_code == 401
    limited = fresh_client.get(history, headers=BAD)
    assert limited.status_code == 429
    assert 0 < int(limited.headers["Retry-After"]) <= 600
    assert "retry in" in limited.json()["detail"]
    # A stranger's failures from the same address (a shared office NAT) cost the editor nothing.
    assert fresh_client.get(history, headers=good).status_code == 200
    # The wrong token stays limited; failures while limited are not counted on top.
    assert fresh_client.get(history, headers=BAD).status_code == 429
    assert sum(failures_by_client(fresh_engine).values()) == MAX_AUTH_FAILURES
    assert fresh_client.get(f"/plots/{plot_id}").status_code == 200


def test_forwarded_addresses_are_ignored_unless_the_proxy_is_trusted(fresh_engine):
    """By default a client cannot pose as other addresses: with X-Forwarded-For made up
    anew for every attempt, its failures still count against its own address, and nobody
    else's allowance is spent."""
    plot_id = plot_in(fresh_engine, "Kranj")
    good = make_account(fresh_engine, "admin", "admin")
    history = f"/plots/{plot_id}/history"
    with serving(fresh_engine, Settings()) as url, httpx.Client(base_url=url) as client:
        for attempt in range(MAX_AUTH_FAILURES):
            spoofed = {"X-Forwarded-For": f"198.51.100.{attempt}"}
            assert client.get(history, headers=BAD | spoofed).status_code == 401
        fresh = client.get(history, headers=BAD | {"X-Forwarded-For": "203.0.113.77"})
        assert fresh.status_code == 429
        assert client.get(history, headers=good).status_code == 200
    assert failures_by_client(fresh_engine) == {"127.0.0.1": MAX_AUTH_FAILURES}


def test_behind_a_trusted_proxy_the_right_most_untrusted_address_counts(fresh_engine):
    """Proxies append the address they saw: the left part of the header is whatever the
    client claimed, so the client is the right-most address no trusted proxy added."""
    plot_id = plot_in(fresh_engine, "Kranj")
    history = f"/plots/{plot_id}/history"
    settings = Settings(trusted_proxies="127.0.0.1, 10.0.0.0/8")
    with serving(fresh_engine, settings) as url, httpx.Client(base_url=url) as client:
        for attempt in range(MAX_AUTH_FAILURES):
            # The client claims a new address each time; the proxies saw 198.51.100.7.
            chain = f"192.0.2.{attempt}, 198.51.100.7, 10.1.2.3"
            assert client.get(history, headers=BAD | {"X-Forwarded-For": chain}).status_code == 401
        limited = client.get(history, headers=BAD | {"X-Forwarded-For": "198.51.100.7"})
        assert limited.status_code == 429
        # Another client behind the same proxy is not limited.
        other = client.get(history, headers=BAD | {"X-Forwarded-For": "198.51.100.8"})
        assert other.status_code == 401
        # IPv6 counts by /64: one host holds a whole /64 and could try from each address.
        for attempt in range(MAX_AUTH_FAILURES):
            v6 = {"X-Forwarded-For": f"2001:db8:0:7::{attempt + 1:x}"}
            assert client.get(history, headers=BAD | v6).status_code == 401
        v6 = {"X-Forwarded-For": "2001:db8:0:7:ffff::1"}
        assert client.get(history, headers=BAD | v6).status_code == 429
    assert failures_by_client(fresh_engine) == {"198.51.100.7": MAX_AUTH_FAILURES,
                                                "198.51.100.8": 1,
                                                "2001:db8:0:7::/64": MAX_AUTH_FAILURES}


def test_trusted_proxies_are_addresses_or_networks_never_everyone():
    assert Settings(trusted_proxies="10.0.0.7,172.16.0.0/12").trusted_proxies == [
        "10.0.0.7/32", "172.16.0.0/12"]
    assert Settings().trusted_proxies == []
    assert uvicorn_proxy_options(Settings()) == {"proxy_headers": False}
    for wrong in ("*", "proxy.example.org"):
        with pytest.raises(ValidationError, match="address or CIDR"):
            Settings(trusted_proxies=wrong)


# -- uploads: the caller first, then the body ---------------------------------------------------


@pytest.fixture
def upload_tmp(tmp_path: Path, monkeypatch) -> Path:
    """A temporary folder of the test's own for uploads (others' tests share /tmp)."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def stream_upload(url: str, size: int, headers: dict[str, str] | None = None,
                  stop_after: int | None = None, timeout: float = 20,
                  path: str = "/imports") -> tuple[bytes, int, float]:
    """POST a ``size``-byte file to /imports as it is made up, piece by piece, until the
    server answers; the answer's head, the file bytes that went out, and the seconds
    taken. With ``stop_after`` the client hangs up after that many bytes instead."""
    host, port = url.removeprefix("http://").split(":")
    boundary = "locations-test-boundary"
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="target"\r\n\r\nplots\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            'filename="region.gpkg"\r\nContent-Type: application/octet-stream\r\n\r\n').encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}",
             f"Content-Type: multipart/form-data; boundary={boundary}",
             f"Content-Length: {len(head) + size + len(tail)}",
             *(f"{name}: {value}" for name, value in (headers or {}).items())]
    piece = b"\0" * (64 * 1024)
    sent, answer = 0, b""
    started = time.monotonic()
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + head)
        sock.setblocking(False)
        while time.monotonic() - started < timeout and b"\r\n\r\n" not in answer:
            if stop_after is not None and sent >= stop_after:
                break
            want_write = [sock] if sent < size else []
            readable, writable, _ = select.select([sock], want_write, [], 0.2)
            if readable:
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
            elif writable:
                try:
                    sent += sock.send(piece[:size - sent])
                except (BlockingIOError, InterruptedError):
                    pass
                except (BrokenPipeError, ConnectionResetError):
                    break
                if sent == size:
                    sock.setblocking(True)
                    sock.sendall(tail)
                    sock.setblocking(False)
    return answer, sent, time.monotonic() - started


def test_an_upload_is_refused_before_its_body_is_read(fresh_engine, upload_tmp):
    """An anonymous 50 MB upload is answered 401 while it is still being sent: the server
    reads a socket buffer's worth, not the file, and keeps nothing of it."""
    size = 50 * 1024 * 1024
    investor = make_account(fresh_engine, "investor", "investor")
    with serving(fresh_engine, Settings()) as url:
        for headers, status in ((None, b"401"), (investor, b"403")):
            answer, sent, seconds = stream_upload(url, size, headers)
            assert answer.startswith(b"HTTP/1.1 " + status), answer[:200]
            # Only what the kernel's socket buffers hold on loopback (a few MB) went out.
            assert sent < size // 4, f"{sent} of {size} bytes were sent before the answer"
            assert seconds < 5, seconds
            assert list(upload_tmp.iterdir()) == []


def test_a_bulk_update_file_is_refused_before_it_is_read(fresh_engine, upload_tmp):
    """The same for POST /imports/plot-updates: an anonymous or investor's 50 MB file is
    answered while it is still being sent, and nothing of it is kept."""
    size = 50 * 1024 * 1024
    investor = make_account(fresh_engine, "investor", "investor")
    with serving(fresh_engine, Settings()) as url:
        for headers, status in ((None, b"401"), (investor, b"403")):
            answer, sent, seconds = stream_upload(url, size, headers,
                                                  path="/imports/plot-updates")
            assert answer.startswith(b"HTTP/1.1 " + status), answer[:200]
            assert sent < size // 4, f"{sent} of {size} bytes were sent before the answer"
            assert seconds < 5, seconds
            assert list(upload_tmp.iterdir()) == []


def test_an_upload_cut_short_leaves_no_file(fresh_engine, upload_tmp):
    admin = make_account(fresh_engine, "admin", "admin")
    with serving(fresh_engine, Settings()) as url:
        # The client hangs up in the middle of the file: the server's read fails.
        answer, sent, _ = stream_upload(url, 20 * 1024 * 1024, admin, stop_after=4 * 1024 * 1024)
        assert answer == b"" and sent >= 4 * 1024 * 1024
        deadline = time.monotonic() + 10
        while list(upload_tmp.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert list(upload_tmp.iterdir()) == []


def test_no_upload_is_left_behind_whatever_the_outcome(fresh_client, fresh_engine, upload_tmp,
                                                       monkeypatch):
    admin = make_account(fresh_engine, "admin", "admin")
    kranj = make_account(fresh_engine, "kranj", "municipality", municipalities=["Kranj"])

    def post(client: TestClient, headers, name="plots.geojson", body=None, **form):
        content = SAMPLE.read_bytes() if body is None else body
        return client.post("/imports", headers=headers, data={"target": "plots", **form},
                           files={"file": (name, content, "application/geo+json")})

    outcomes = {
        "dry run": (post(fresh_client, admin, dry_run="true"), 200),
        "loaded": (post(fresh_client, admin), 200),
        "rows outside the scope": (post(fresh_client, kranj), 403),
        "unreadable rows": (post(fresh_client, admin, body=b'{"type": "FeatureCollection"'), 400),
        "unknown format": (post(fresh_client, admin, name="plots.txt"), 400),
        "unknown target": (post(fresh_client, admin, target="parks"), 422),
        "no file": (fresh_client.post("/imports", headers=admin, data={"target": "plots"},
                                      files={"other": ("x.csv", b"a", "text/csv")}), 400),
    }
    for outcome, (response, status) in outcomes.items():
        assert response.status_code == status, (outcome, response.text)
        assert list(upload_tmp.iterdir()) == [], outcome

    # Over the upload limit: refused part way through the file.
    from api.app import create_app

    monkeypatch.setenv("LOCATIONS_MAX_UPLOAD_BYTES", str(SAMPLE.stat().st_size // 2))
    get_settings.cache_clear()
    try:
        small = TestClient(create_app(fresh_engine))
    finally:
        get_settings.cache_clear()
    boundary = "cut-here"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="target"\r\n\r\nplots\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            'filename="plots.geojson"\r\n\r\n').encode() + SAMPLE.read_bytes() + (
        f"\r\n--{boundary}--\r\n").encode()
    # Sent in pieces without a length: the limit is met as the file streams to disk.
    too_large = small.post("/imports", headers=admin | {
        "Content-Type": f"multipart/form-data; boundary={boundary}"},
        content=(body[i:i + 4096] for i in range(0, len(body), 4096)))
    assert too_large.status_code == 413, too_large.text
    assert list(upload_tmp.iterdir()) == []

    # A job keeps its upload until it ends, then removes it.
    job = post(fresh_client, admin | {"Prefer": "respond-async"}, dry_run="true")
    assert job.status_code == 202, job.text
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = fresh_client.get(job.headers["Location"], headers=admin).json()["state"]
        if state not in ("queued", "running") and not list(upload_tmp.iterdir()):
            break
        time.sleep(0.1)
    assert state == "succeeded"
    assert list(upload_tmp.iterdir()) == []
