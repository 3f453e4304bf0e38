"""A lean HTTP/1.1 client for the load benchmark: keep-alive connections, GET only.

The benchmark's client runs on the same two cores as the server it measures. With httpx it
spent 3-4 ms of CPU per request, more than the server spent answering a regional search
(2.8-3.3 ms), and its one event loop, shared by 32 clients, queued their requests: laid
beside the server's own log of each request (``bench/load/timing.py``), a request's
time from the client's start to its request written out was 353 ms on average (1.6 s for
the slowest 5 %) at load 15, against 140 ms in the server's app. Here a request is a few
bytes written on a connection the client holds, and the answer is parsed by httptools (the
C parser uvicorn itself reads requests with), so the figures are the server's, not the
client's.

Each connection carries one request at a time, as a browser's does; a connection the
server closes (``Connection: close``, or closed while idle) is opened again for the next
request.
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlencode, urlsplit

import httptools

#: What httpx sent with every request, so the server is asked the same.
HEADERS = (b"Accept: */*\r\nAccept-Encoding: gzip, deflate, br\r\nConnection: keep-alive\r\n"
           b"User-Agent: bench-load\r\n")


class WireError(Exception):
    """A request that got no answer: the connection failed or closed under it."""


class _Answer:
    """httptools' callbacks for one answer."""

    __slots__ = ("body", "done", "keep_alive", "parser", "status")

    def __init__(self) -> None:
        self.body: list[bytes] = []
        self.done = False
        self.keep_alive = False
        self.status = 0
        self.parser = httptools.HttpResponseParser(self)

    def on_headers_complete(self) -> None:
        # Read here, as uvicorn reads it: once the message is complete the parser has reset.
        self.keep_alive = self.parser.should_keep_alive()
        self.status = self.parser.get_status_code()

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.done = True


class Connection:
    """One keep-alive connection to ``base`` (http://host:port)."""

    def __init__(self, base: str) -> None:
        parts = urlsplit(base)
        self.host, self.port = parts.hostname, parts.port or 80
        self.host_header = f"Host: {parts.netloc}\r\n".encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def get(self, path: str, params: dict | None = None,
                  headers: dict[str, str] | None = None) -> tuple[int, bytes, bool, float]:
        """GET ``path`` with ``params``: the status, the body, whether the connection was
        new, and when the request was written (perf_counter)."""
        target = path + ("?" + urlencode(params) if params else "")
        extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        request = (f"GET {target} HTTP/1.1\r\n".encode() + self.host_header + HEADERS
                   + extra.encode() + b"\r\n")
        new = self.writer is None
        try:
            if new:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            self.writer.write(request)
            sent = time.perf_counter()
            answer = _Answer()
            while not answer.done:
                data = await self.reader.read(65536)
                if not data:
                    raise WireError("the server closed the connection before its answer ended")
                answer.parser.feed_data(data)
            if not answer.keep_alive:
                self.close()
            return answer.status, b"".join(answer.body), new, sent
        except (OSError, WireError, httptools.HttpParserError) as exc:
            self.close()
            raise WireError(f"{type(exc).__name__}: {exc} ({'new' if new else 'reused'} "
                            "connection)") from exc
