"""Malformed requests: a 4xx naming the field, never a 5xx, and nothing stored."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .conftest import AUTH, TINY_RUN, make_client

ONE: dict[str, Any] = {**TINY_RUN, "strategies": [{"strategy": "sma_cross"}]}
JSON = {**AUTH, "Content-Type": "application/json"}


def refused(client: TestClient, path: str, body: bytes, field: str, message: str) -> None:
    res = client.post(path, content=body, headers=JSON)
    assert res.status_code == 422, res.text
    assert {"field": field, "message": message} in res.json()["fields"]
    assert client.get("/runs", headers=AUTH).json()["total"] == 0
    assert client.get("/sessions", headers=AUTH).json() == []


def body(path: str, **extra: Any) -> dict[str, Any]:
    """A valid body for ``path`` (a session is named) with ``extra``."""
    return {**ONE, **({"session": "s"} if path == "/sessions" else {}), **extra}


@pytest.mark.parametrize("path", ["/runs", "/sessions"])
@pytest.mark.parametrize(
    ("key", "first", "field"),
    [
        ("name", '"other"', "name"),
        ("source", '"sp500_daily_2013_2018"', "data.source"),
        ("strategy", '"buy_and_hold"', "strategies.0.strategy"),
    ],
)
def test_a_key_given_twice_is_refused(
    client: TestClient, path: str, key: str, first: str, field: str
) -> None:
    """JSON keeps the last of two equal keys: the body would not mean what it says."""
    text = json.dumps(body(path)).replace(f'"{key}": ', f'"{key}": {first}, "{key}": ', 1)
    refused(client, path, text.encode(), field, "key given twice")


@pytest.mark.parametrize(
    ("path", "field", "value"),
    [
        ("/runs", "initial_cash", '"1e5"'),
        ("/runs", "initial_cash", "true"),
        ("/runs", "workers", '"2"'),
        ("/runs", "workers", "2.0"),
        ("/sessions", "speed", '"10"'),
        ("/sessions", "speed", "true"),
    ],
)
def test_numbers_are_json_numbers(client: TestClient, path: str, field: str, value: str) -> None:
    """As in ``params``: no text or boolean for a number."""
    text = json.dumps(body(path))[:-1] + f', "{field}": {value}}}'
    res = client.post(path, content=text.encode(), headers=JSON)
    assert res.status_code == 422, res.text
    assert [f["field"] for f in res.json()["fields"]] == [field]
    assert client.get("/runs", headers=AUTH).json()["total"] == 0


@pytest.mark.parametrize("path", ["/runs", "/sessions"])
@pytest.mark.parametrize(
    ("section", "value", "message"),
    [
        ("execution", {"slippage": {"model": "fixed_bps", "bps": "2"}}, "slippage.fixed_bps.bps"),
        ("execution", {"max_participation": True}, "max_participation"),
        ("risk", {"limits": {"max_position_pct": "0.05"}}, "limits.max_position_pct"),
        ("portfolio", {"method": "vol_target", "target_vol": "0.1"}, "vol_target.target_vol"),
    ],
)
def test_numbers_inside_sections_are_json_numbers(
    client: TestClient, path: str, section: str, value: dict[str, Any], message: str
) -> None:
    """At any depth of ``execution``, ``portfolio`` and ``risk``, as at the top."""
    res = client.post(path, json=body(path, **{section: value}), headers=AUTH)
    assert res.status_code == 422, res.text
    assert res.json()["fields"] == [
        {"field": f"{section}.{message}", "message": "Input should be a valid number"}
    ]
    assert client.get("/runs", headers=AUTH).json()["total"] == 0


def test_cash_beyond_exact_accounting_is_refused(client: TestClient) -> None:
    """2**70 was taken as the float 1.18e21, whose cents float64 cannot hold."""
    res = client.post("/runs", json=body("/runs", initial_cash=2**70), headers=AUTH)
    assert res.status_code == 422, res.text
    assert [f["field"] for f in res.json()["fields"]] == ["initial_cash"]
    assert client.get("/runs", headers=AUTH).json()["total"] == 0


@pytest.mark.parametrize("param", ["run", "symbol", "type"])
def test_anomaly_filters_with_a_nul_are_refused(backend_url: str, param: str) -> None:
    """PostgreSQL refuses a NUL in a compared text: that was a 503 'database unavailable'."""
    with make_client(backend_url, job_mode="thread") as client:
        res = client.get("/anomalies", params={param: "a\x00b"}, headers=AUTH)
        assert res.status_code == 422, res.text
        assert res.json()["fields"] == [
            {"field": param, "message": "text may not hold a NUL character"}
        ]
        assert client.get("/anomalies", params={param: "ab"}, headers=AUTH).status_code == 200


BAD_BODIES = {
    "array": b"[]",
    "scalar": b"42",
    "invalid": b'{"name": ',
    "nested": b"[" * 10_000 + b"]" * 10_000,
    "too large": b" " * (1 << 20) + b"{}",
}


@pytest.mark.parametrize("kind", sorted(BAD_BODIES))
def test_malformed_bodies_are_client_errors_everywhere(client: TestClient, kind: str) -> None:
    """Every operation of the schema: a 4xx with the JSON error body (bodiless routes
    may ignore the body), never a 5xx."""
    paths = client.get("/openapi.json").json()["paths"]
    for path, ops in paths.items():
        url = path.replace("{run_id}", "nope").replace("{name}", "nope")
        for method in ops:
            res = client.request(method, url, content=BAD_BODIES[kind], headers=JSON)
            assert res.status_code < 500, (method, path, res.text)
            if res.status_code >= 400 and path != "/metrics":
                assert set(res.json()) == {"error", "fields"}, (method, path)
            if kind == "too large":
                assert res.status_code == 413, (method, path)
    assert client.get("/runs", headers=AUTH).json()["total"] == 0
