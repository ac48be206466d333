"""A local HTTP server that replays recorded provider responses ("cassettes").

A cassette (``fixtures/*.json``) is a list of interactions: a request pattern (method,
path, query constraints; a ``null`` constraint means the key must be absent) and the
recorded response (status, headers, JSON or text body). The server answers each request
with the matching interaction that constrains the most query keys. Tests can queue
failures ahead of the recorded answers and inspect every request the server saw.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from alphapulse.data.providers.retry import RateLimiter, RetryPolicy

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass(frozen=True)
class Reply:
    """One HTTP response to send."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> tuple[bytes, str]:
        if isinstance(self.body, str):
            return self.body.encode(), "text/plain; charset=utf-8"
        return json.dumps(self.body).encode(), "application/json"


@dataclass(frozen=True)
class SeenRequest:
    """A request the server received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class _Interaction:
    method: str
    path: str
    query: dict[str, str | None]
    reply: Reply

    def matches(self, method: str, path: str, query: dict[str, str]) -> bool:
        if method != self.method or path != self.path:
            return False
        for key, want in self.query.items():
            if want is None:
                if key in query:
                    return False
            elif query.get(key) != want:
                return False
        return True


@dataclass
class _Injected:
    path: str
    where: dict[str, str]
    replies: list[Reply]

    def matches(self, path: str, query: dict[str, str]) -> bool:
        return path == self.path and all(query.get(k) == v for k, v in self.where.items())


class RecordedServer:
    """Replays cassettes on ``http://127.0.0.1:<random port>``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._interactions: list[_Interaction] = []
        self._injected: list[_Injected] = []
        self.seen: list[SeenRequest] = []
        self.unmatched: list[SeenRequest] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> RecordedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def load(self, *names: str) -> RecordedServer:
        """Add the interactions of cassettes ``fixtures/<name>.json``."""
        for name in names:
            cassette = json.loads((FIXTURES / f"{name}.json").read_text())
            for item in cassette["interactions"]:
                req, resp = item["request"], item["response"]
                self._interactions.append(
                    _Interaction(
                        method=req.get("method", "GET"),
                        path=req["path"],
                        query=dict(req.get("query", {})),
                        reply=Reply(
                            resp["status"], resp.get("body"), dict(resp.get("headers", {}))
                        ),
                    )
                )
        return self

    def inject(
        self,
        path: str,
        *replies: tuple[int, Any] | tuple[int, Any, dict[str, str]],
        where: dict[str, str] | None = None,
    ) -> None:
        """Answer the next requests to ``path`` (whose query contains ``where``) with
        ``(status, body[, headers])`` replies, in order, before the cassettes."""
        queued = [Reply(r[0], r[1], dict(r[2]) if len(r) > 2 else {}) for r in replies]
        with self._lock:
            self._injected.append(_Injected(path, dict(where or {}), queued))

    def requests_to(self, path: str, **where: str) -> list[SeenRequest]:
        """Requests seen for ``path`` whose query contains ``where``."""
        with self._lock:
            return [
                r
                for r in self.seen
                if r.path == path and all(r.query.get(k) == v for k, v in where.items())
            ]

    def _answer(self, method: str, target: str, headers: dict[str, str]) -> Reply:
        parts = urlsplit(target)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        seen = SeenRequest(method, parts.path, query, headers)
        with self._lock:
            self.seen.append(seen)
            for injected in self._injected:
                if injected.replies and injected.matches(parts.path, query):
                    return injected.replies.pop(0)
            candidates = [i for i in self._interactions if i.matches(method, parts.path, query)]
            if not candidates:
                self.unmatched.append(seen)
                return Reply(404, {"error": f"no recorded response for {method} {target}"})
        return max(candidates, key=lambda i: len(i.query)).reply

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        answer = self._answer

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                self._reply()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                self._reply()

            def _reply(self) -> None:
                reply = answer(self.command, self.path, dict(self.headers.items()))
                payload, content_type = reply.encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                for key, value in reply.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        return Handler


class FakeClock:
    """A monotonic clock that only moves when something sleeps on it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def recorded_server() -> Iterator[Callable[..., RecordedServer]]:
    """Factory: ``recorded_server("cassette", ...)`` starts a server replaying them."""
    servers: list[RecordedServer] = []

    def start(*cassettes: str) -> RecordedServer:
        server = RecordedServer().load(*cassettes).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@dataclass
class FastIO:
    """Provider keyword arguments that never really sleep.

    Retry sleeps land in ``retry_sleeps``; the rate limiter runs on ``clock``.
    """

    clock: FakeClock
    retry_sleeps: list[float] = field(default_factory=list)

    @property
    def kwargs(self) -> dict[str, Any]:
        return {
            "sleep": self.retry_sleeps.append,
            "rate_limiter": RateLimiter.every(0.25, clock=self.clock, sleep=self.clock.sleep),
            "retry_policy": RetryPolicy(max_attempts=4, base_delay=0.5, jitter=0.0),
        }


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fast(fake_clock: FakeClock) -> FastIO:
    return FastIO(fake_clock)


@pytest.fixture(autouse=True, scope="session")
def _yfinance_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Keep yfinance's timezone/cookie caches out of the user's home directory."""
    import yfinance as yf

    yf.set_tz_cache_location(str(tmp_path_factory.mktemp("yfinance-cache")))
