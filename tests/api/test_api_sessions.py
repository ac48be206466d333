"""``/sessions``: a paper session a client starts can be addressed by its name."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from .conftest import AUTH, TINY_RUN

ONE = {**TINY_RUN, "strategies": [{"strategy": "buy_and_hold"}]}


def test_a_run_name_that_is_no_session_name_needs_a_session(
    client: TestClient, shared_data: Path
) -> None:
    """Without ``session`` the run name names the session, which must then fit
    ``/sessions/{name}`` (else it could not be read or stopped) and its run ids."""
    res = client.post("/sessions", json={**ONE, "name": "my paper test"}, headers=AUTH)
    assert res.status_code == 422, res.text
    assert [f["field"] for f in res.json()["fields"]] == ["session"]
    assert client.get("/sessions", headers=AUTH).json() == []


def test_a_session_is_addressed_by_its_name(client: TestClient, shared_data: Path) -> None:
    body = {**ONE, "name": "my paper test", "session": "mine"}
    res = client.post("/sessions", json=body, headers=AUTH)
    assert res.status_code == 202, res.text
    assert res.json()["name"] == "mine"
    stopped = client.post("/sessions/mine/stop", headers=AUTH)
    assert stopped.status_code == 200 and stopped.json()["status"] != "running"


def test_anomaly_settings_a_run_cannot_hold_are_refused(client: TestClient) -> None:
    """The ``anomalies`` section joins the run config unvalidated: its whole numbers are
    checked here (a seed beyond 64 bits started a session)."""
    body = {**ONE, "session": "big", "anomalies": {"pattern": {"seed": 2**70}}}
    res = client.post("/sessions", json=body, headers=AUTH)
    assert res.status_code == 422, res.text
    assert res.json()["fields"] == [
        {
            "field": "anomalies",
            "message": "pattern.seed: a whole number beyond 64 bits (from -2**63 to 2**63 - 1)",
        }
    ]
    assert client.get("/sessions", headers=AUTH).json() == []


def test_sessions_declare_their_errors(client: TestClient) -> None:
    """As every route behind the token (docs/api.md, Errors): 401, 413 and 503 declared,
    and each error status with the ``ErrorBody`` the server actually sends."""
    paths = client.get("/openapi.json").json()["paths"]
    ops = [op for path, by in paths.items() if path.startswith("/sessions") for op in by.values()]
    assert len(ops) == 5
    for op in ops:
        responses = op["responses"]
        assert {"401", "413", "503"} <= set(responses), op["summary"]
        for code, resp in responses.items():
            if int(code) >= 400:
                ref = resp["content"]["application/json"]["schema"]["$ref"]
                assert ref.endswith("/ErrorBody"), (op["summary"], code)
