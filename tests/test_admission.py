"""LOCATIONS_MAX_ACTIVE_REQUESTS: that many requests at work at once in a server process,
the others served after them in the order they came; liveness never waits."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from locations.settings import get_settings
from tests.servers import serving_app


def test_requests_beyond_the_limit_wait_their_turn_in_order(engine):
    from api.app import create_app

    os.environ["LOCATIONS_MAX_ACTIVE_REQUESTS"] = "1"
    get_settings.cache_clear()
    try:
        app = create_app(engine)
    finally:
        os.environ.pop("LOCATIONS_MAX_ACTIVE_REQUESTS", None)
        get_settings.cache_clear()
    lock = threading.Lock()
    at_work, most, order, arrived = [0], [0], [], []

    class Arrivals:  # outermost: the order the server received the requests in
        def __init__(self, inner):
            self.inner = inner

        async def __call__(self, scope, receive, send):
            if scope["path"].startswith("/test-slow/"):
                arrived.append(int(scope["path"].rsplit("/", 1)[1]))
            await self.inner(scope, receive, send)

    app.add_middleware(Arrivals)

    @app.get("/test-slow/{number}")
    def slow(number: int) -> dict:
        with lock:
            at_work[0] += 1
            most[0] = max(most[0], at_work[0])
            order.append(number)
        time.sleep(1.0)
        with lock:
            at_work[0] -= 1
        return {"number": number}

    with serving_app(app) as base, ThreadPoolExecutor(4) as clients:
        answers = []
        for number in range(4):
            answers.append(clients.submit(httpx.get, f"{base}/test-slow/{number}", timeout=30))
            time.sleep(0.05)
        alive = httpx.get(f"{base}/health/live", timeout=5)
        assert alive.status_code == 200
        assert not answers[-1].done()  # answered while the queue still waited
        assert [a.result().json()["number"] for a in answers] == [0, 1, 2, 3]
    assert most[0] == 1
    assert order == arrived and sorted(order) == [0, 1, 2, 3]
    # No limit (0): the same requests overlap.
    with serving_app(_limited_app(engine, 0)) as base, ThreadPoolExecutor(4) as clients:
        paths = [f"{base}/plots?limit=1" for _ in range(4)]
        assert all(r.status_code == 200 for r in clients.map(httpx.get, paths))


def _limited_app(engine, limit: int):
    from api.app import create_app

    os.environ["LOCATIONS_MAX_ACTIVE_REQUESTS"] = str(limit)
    get_settings.cache_clear()
    try:
        return create_app(engine)
    finally:
        os.environ.pop("LOCATIONS_MAX_ACTIVE_REQUESTS", None)
        get_settings.cache_clear()


def test_a_client_that_does_not_read_its_answer_holds_no_place(engine, tmp_path):
    """With one place, a request for a 32 MB file (a plot's document, a map asset) that is
    never read, so that sending it waits on the full socket part after part, lets the next
    request be served: the place is left once the answer is made, its length known. A
    streamed answer, made as it is sent, keeps its place until its end."""
    import socket

    from fastapi.responses import FileResponse, StreamingResponse

    app = _limited_app(engine, 1)
    streamed = threading.Event()
    document = tmp_path / "big.bin"
    document.write_bytes(b"x" * (32 << 20))

    @app.get("/test-big")
    def big() -> FileResponse:
        return FileResponse(document, media_type="application/octet-stream")

    @app.get("/test-streamed")
    def streaming() -> StreamingResponse:
        def parts():
            yield b"first "
            streamed.wait(10)  # made slowly: the place is still taken
            yield b"last"
        return StreamingResponse(parts(), media_type="text/plain")

    with serving_app(app) as base:
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port))) as idle_reader:
            idle_reader.sendall(b"GET /test-big HTTP/1.1\r\nHost: test\r\n\r\n")
            time.sleep(1.0)  # the answer is made and stuck in the socket's buffers
            started = time.monotonic()
            assert httpx.get(f"{base}/plots?limit=1", timeout=20).status_code == 200
            assert time.monotonic() - started < 10
        with ThreadPoolExecutor(2) as clients:
            slow = clients.submit(httpx.get, f"{base}/test-streamed", timeout=30)
            time.sleep(0.5)
            after = clients.submit(httpx.get, f"{base}/plots?limit=1", timeout=30)
            time.sleep(1.0)
            assert not after.done()  # waits for the streamed answer's place
            streamed.set()
            assert slow.result().text == "first last"
            assert after.result().status_code == 200
