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
    # Unlimited by default: the same requests overlap.
    with serving_app(create_app(engine)) as base, ThreadPoolExecutor(4) as clients:
        paths = [f"{base}/plots?limit=1" for _ in range(4)]
        assert all(r.status_code == 200 for r in clients.map(httpx.get, paths))
