"""Local stand-ins for the network services, serving recorded responses: a Binance
spot API (klines filtered from recorded candles), an Alpaca market-data websocket
(msgpack bar messages) and the Alpaca trading API (recorded order objects)."""

from __future__ import annotations

import asyncio
import copy
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import msgpack
import websockets

PROVIDER_FIXTURES = Path(__file__).parents[1] / "data" / "providers" / "fixtures"
FIXTURES = Path(__file__).parent / "fixtures"
Handler = Callable[[str, str, dict[str, str], bytes], tuple[int, Any]]


class HttpServer:
    """A threaded HTTP server on 127.0.0.1 answering through ``handle``."""

    def __init__(self, handle: Handler) -> None:
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        outer = self

        class _H(BaseHTTPRequestHandler):
            def _any(self) -> None:
                parts = urlsplit(self.path)
                query = dict(parse_qsl(parts.query))
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.seen.append((self.command, parts.path, query))
                status, payload = handle(self.command, parts.path, query, body)
                data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _any

            def log_message(self, *args: Any) -> None:
                return None

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _H)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def recorded_klines() -> list[list[Any]]:
    cassette = json.loads((PROVIDER_FIXTURES / "binance_klines_BTCUSDT_1h.json").read_text())
    return [k for item in cassette["interactions"] for k in item["response"]["body"]]


class FakeBinance:
    """exchangeInfo and klines (BTCUSDT recorded; ETHUSDT the same candles / 20, with
    ``eth_lag`` candles withheld at the end). ``failures`` answers the next N kline
    requests with HTTP 503."""

    def __init__(self, eth_lag: int = 0) -> None:
        info = json.loads((PROVIDER_FIXTURES / "binance_exchange_info.json").read_text())
        self.info = info["interactions"][0]["response"]["body"]
        btc = recorded_klines()
        eth = [[k[0], *(str(float(v) / 20) for v in k[1:5]), *k[5:]] for k in btc]
        self.klines = {"BTCUSDT": btc, "ETHUSDT": eth[: len(eth) - eth_lag] if eth_lag else eth}
        self.failures = 0
        self.server = HttpServer(self.handle)

    def handle(self, method: str, path: str, q: dict[str, str], body: bytes) -> tuple[int, Any]:
        if path == "/api/v3/exchangeInfo":
            return 200, self.info
        if path == "/api/v3/klines":
            if self.failures > 0:
                self.failures -= 1
                return 503, {"code": -1001, "msg": "Internal error; unable to process"}
            rows = [k for k in self.klines[q["symbol"]] if k[0] >= int(q.get("startTime", 0))]
            if "endTime" in q:
                rows = [k for k in rows if k[0] <= int(q["endTime"])]
            return 200, rows[: int(q.get("limit", 500))]
        return 404, {"code": -1, "msg": "not found"}


class FakeAlpacaStream:
    """Alpaca's data websocket: each connection plays the next list of bar messages,
    then closes (a disconnect) unless it is the last one, which stays open."""

    def __init__(self, sessions: list[list[dict[str, Any]]]) -> None:
        self.sessions = sessions
        self.connections = 0
        self.subscribed: list[Any] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def start() -> Any:
            return await websockets.serve(self._session, "127.0.0.1", 0)

        self._server = self._loop.run_until_complete(start())
        self.port = next(iter(self._server.sockets)).getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v2/iex"

    async def _session(self, ws: Any, *args: Any) -> None:
        n = self.connections
        self.connections += 1
        await ws.send(msgpack.packb([{"T": "success", "msg": "connected"}]))
        await ws.recv()  # auth
        await ws.send(msgpack.packb([{"T": "success", "msg": "authenticated"}]))
        sub = msgpack.unpackb(await ws.recv())
        self.subscribed.append(sub)
        await ws.send(msgpack.packb([{"T": "subscription", "bars": sub.get("bars", [])}]))
        bars = self.sessions[n] if n < len(self.sessions) else []
        for msg in bars:
            packed = {**msg, "t": msgpack.Timestamp.from_unix_nano(msg["t"])}
            await ws.send(msgpack.packb([packed], datetime=False))
            await asyncio.sleep(0.005)
        if n < len(self.sessions) - 1:
            await ws.close()
            return
        await ws.wait_closed()

    def stop(self) -> None:
        async def shutdown() -> None:
            self._server.close()
            await self._server.wait_closed()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


class FakeAlpacaTrading:
    """Alpaca's trading API over recorded order objects (``fixtures/alpaca_orders.json``):
    a submitted market order is ``accepted``; polls of it answer the recorded
    progression (``partially_filled`` then ``filled``); a client order id seen before is
    a 422; ``poll_failures`` answers the next N polls with HTTP 500."""

    def __init__(self) -> None:
        self.recorded = json.loads((FIXTURES / "alpaca_orders.json").read_text())
        self.orders: dict[str, dict[str, Any]] = {}
        self.polls: dict[str, int] = {}
        self.poll_failures = 0
        self.server = HttpServer(self.handle)

    def handle(self, method: str, path: str, q: dict[str, str], body: bytes) -> tuple[int, Any]:
        if method == "POST" and path == "/v2/orders":
            req = json.loads(body)
            cid = req["client_order_id"]
            if any(o["client_order_id"] == cid for o in self.orders.values()):
                return 422, {"code": 40010001, "message": "client_order_id must be unique"}
            order = copy.deepcopy(self.recorded["accepted"])
            oid = f"00000000-0000-4000-8000-{len(self.orders) + 1:012d}"
            order.update(
                id=oid, client_order_id=cid, symbol=req["symbol"], side=req["side"],
                qty=_text(req.get("qty")), notional=_text(req.get("notional")),
                time_in_force=req["time_in_force"], type=req["type"],
                order_type=req["type"],
            )  # fmt: skip
            self.orders[oid] = order
            return 200, order
        if method == "GET" and path == "/v2/orders:by_client_order_id":
            for o in self.orders.values():
                if o["client_order_id"] == q["client_order_id"]:
                    return 200, o
            return 404, {"code": 40410000, "message": "order not found"}
        if path.startswith("/v2/orders/"):
            oid = path.rsplit("/", 1)[1]
            if oid not in self.orders:
                return 404, {"code": 40410000, "message": "order not found"}
            if method == "DELETE":
                self.orders[oid].update(status="canceled")
                return 204, None
            if self.poll_failures > 0:
                self.poll_failures -= 1
                return 500, {"code": 50010000, "message": "internal server error"}
            n = self.polls[oid] = self.polls.get(oid, 0) + 1
            stage = self.recorded["progression"][min(n, len(self.recorded["progression"])) - 1]
            order = self.orders[oid]
            if order["status"] != "canceled":
                order.update(stage)
            return 200, order
        return 404, {"code": 40410000, "message": "not found"}


def _text(value: Any) -> str | None:
    """Alpaca sends decimal amounts as strings."""
    return None if value is None else str(value)
