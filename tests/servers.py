"""The platform served by a real uvicorn on a free loopback port, for tests that need a
real socket (browsers, GDAL, concurrent clients, streamed uploads)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serving_app(app, **options) -> Iterator[str]:
    """``app`` on a free loopback port while the block runs: its base URL. ``options``
    go to uvicorn (e.g. ``cli.uvicorn_proxy_options``)."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                          log_level="warning", **options))
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


@contextmanager
def serving(engine) -> Iterator[str]:
    """The platform over ``engine`` on a free loopback port: its base URL."""
    from api.app import create_app

    with serving_app(create_app(engine)) as url:
        yield url
