"""Hostile inputs against the API: per class, cases tried, clean refusals, accepted
(unsafe) and tracebacks/5xx. Runs in-process on a temp SQLite store (thread jobs).

    .venv/bin/python benchmarks/bench_api_hostile.py
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from alphapulse.api import ApiSettings, create_app
from alphapulse.config import parse_config
from alphapulse.core.errors import ConfigError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.api.test_api_guard import call

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

TOKEN = "hostile-bench-token-0123456789abcdef0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DATA = {"source": "sp500_daily_2013_2018", "symbols": ["AAPL"], "start": "2015-01-01"}
BH = [{"strategy": "buy_and_hold"}]


def body(**over: Any) -> dict[str, Any]:
    return {"name": "hostile", "data": DATA, "strategies": BH, **over}


def verdict(res: httpx.Response) -> str:
    if res.status_code >= 500 or "Traceback" in res.text:
        return "traceback"
    if 400 <= res.status_code < 500 and "error" in res.json():
        return "refused"
    return "accepted"


def posts(client: TestClient, bodies: list[dict[str, Any]]) -> Counter[str]:
    return Counter(verdict(client.post("/runs", json=b, headers=AUTH)) for b in bodies)


def import_cases(client: TestClient) -> Counter[str]:
    out: Counter[str] = Counter()
    for mod in ("colorsys", "wave", "tabnanny", "sndhdr_x", "this"):
        before = mod in sys.modules
        res = client.post("/runs", json=body(strategies=[{"strategy": f"{mod}:X"}]), headers=AUTH)
        out[verdict(res)] += 1
        out["module imported"] += int(not before and mod in sys.modules)
    return out


def body_without_token(app: Any, total_mb: int = 150) -> int:
    """Bytes the app pulled from a ``total_mb`` body sent without a token."""
    return call(app, total_mb, [])[1]


def short_tokens() -> Counter[str]:
    out: Counter[str] = Counter()
    for tok in ("x", "abc", "0" * 16, "y" * 31):
        try:
            ApiSettings.from_env(None, environ={"ALPHAPULSE_API_TOKEN": tok})
            out["accepted"] += 1
        except ConfigError:
            out["refused"] += 1
    return out


def path_escape() -> Counter[str]:
    out: Counter[str] = Counter()
    for name in ("../../x", "/tmp/abs", "..", "a/../../b", "x\\..\\y"):
        try:
            parse_config(body(strategies=[{"strategy": "buy_and_hold", "name": name}]))
            out["accepted"] += 1
        except ConfigError:
            out["refused"] += 1
        except Exception:
            out["traceback"] += 1
    return out


def token_in_logs(tmp: Path) -> Counter[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {**os.environ, "ALPHAPULSE_API_TOKEN": TOKEN, "ALPHAPULSE_API_JOB_MODE": "thread"}
    cmd = [sys.executable, "-c", "from alphapulse.cli import main; main()", "serve"]
    args = ["--port", str(port), "--db", str(tmp / "s.sqlite"), "--log-level", "debug"]
    proc = subprocess.Popen(
        [*cmd, *args], env=env, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    tries = [f"/runs?token={TOKEN}", f"/runs?access_token={TOKEN}", f"/health?t={TOKEN}"]
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        for path in tries:
            httpx.get(base + path, timeout=5)
        httpx.get(f"{base}/runs", headers=AUTH, timeout=5)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    leaked = out.count(TOKEN.encode())
    return Counter({"tried": len(tries) + 1, "token occurrences in log": leaked})


def main() -> None:
    logging.disable(logging.WARNING)
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        settings = ApiSettings(
            token=TOKEN, db_url=f"sqlite:///{tmp / 'a.sqlite'}", job_mode="thread"
        )
        app = create_app(settings)
        with TestClient(app) as client:
            results["code import via strategy"] = import_cases(client)
            ml = "ml"
            results["model registry path"] = posts(
                client,
                [
                    body(
                        strategies=[
                            {
                                "strategy": ml,
                                "params": {"registry": {"name": "m", "root": str(tmp / "evil")}},
                            }
                        ]
                    ),
                    body(
                        strategies=[
                            {
                                "strategy": ml,
                                "params": {
                                    "registry": {
                                        "name": "m",
                                        "tracking_uri": f"sqlite:///{tmp}/e.db",
                                    }
                                },
                            }
                        ]
                    ),
                    body(strategies=[{"strategy": ml, "params": {"features": "/etc/passwd"}}]),
                ],
            )
            sources = [
                "/etc/passwd",
                "/etc",
                "../../etc/hosts",
                "/work/shared/data/sp500_daily_2013_2018",
                ".",
            ]
            results["data source path"] = posts(
                client, [body(data={**DATA, "source": s}) for s in sources]
            )
            evil = f"sqlite:///{tmp}/evil/x.sqlite"
            results["db_url"] = posts(
                client,
                [
                    body(data={**DATA, "source": "store", "db_url": evil}),
                    body(paper={"db_url": evil}),
                    body(data={**DATA, "root": "/etc"}),
                ],
            )
            results["db_url"]["sqlite file created"] = int((tmp / "evil").exists())
            results["unbounded workers"] = posts(
                client, [body(workers=n) for n in (10_000, 65, 1_000_000)]
            )
            names = [
                body(name="n" * 100_000),
                body(name="n" * 201),
                body(strategies=[{"strategy": "buy_and_hold", "name": "s" * 5000}]),
            ]
            results["long names"] = posts(client, names)
            big = {"name": "big", "data": DATA, "strategies": BH, "pad": "x" * 5_000_000}
            res = client.post(
                "/runs",
                content=json.dumps(big),
                headers={**AUTH, "content-type": "application/json"},
            )
            results["5 MB body with token"] = Counter({f"status {res.status_code}": 1})
            time.sleep(1)
        results["150 MB body without token: MB read before 401"] = (
            body_without_token(create_app(settings)) >> 20
        )
        results["short tokens"] = short_tokens()
        results["path escape via strategy name"] = path_escape()
        results["token in logs"] = token_in_logs(tmp)
    for k, v in results.items():
        print(f"{k}: {dict(v) if isinstance(v, Counter) else v}")


if __name__ == "__main__":
    main()
