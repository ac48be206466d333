"""``GET /anomalies``: filters by run, symbol, type, minimum severity and time."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from alphapulse.anomaly.config import Severity
from alphapulse.anomaly.records import Anomaly, to_frame
from alphapulse.anomaly.sinks import store_frame
from alphapulse.store import open_store
from tests.api.conftest import AUTH, make_client

DAY = 86_400_000_000_000
T0 = int(pd.Timestamp("2020-01-01", tz="UTC").value)


def _rows(n: int) -> pd.DataFrame:
    kinds = ("price_jump", "gap", "volume_spike")
    rows = [
        Anomaly(T0 + i * DAY, ("AAPL", "MSFT")[i % 2], kinds[i % 3], Severity(1 + i % 4),
                5.0 + i, f"message {i}", {"return": 0.01 * i, "sigma": 0.01})
        for i in range(n)
    ]  # fmt: skip
    return store_frame(to_frame(rows))


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_filters(backend: str, request: pytest.FixtureRequest) -> None:
    url = str(request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url"))
    with open_store(url) as store:
        r1, r2 = store.record_run("a/x"), store.record_run("b/y")
        store.record_anomalies(r1, _rows(24))
        store.record_anomalies(r2, _rows(4))
    with make_client(url, job_mode="thread") as client:

        def get(**q: object) -> dict:
            res = client.get("/anomalies", params=q, headers=AUTH)
            assert res.status_code == 200, res.text
            return res.json()

        assert get()["total"] == 28
        body = get(run=r1, limit=5)
        assert body["total"] == 24 and len(body["items"]) == 5
        first = body["items"][0]
        assert first["timestamp"].startswith("2020-01-24") and first["run_id"] == r1  # newest
        assert first["message"] == "message 23" and first["values"]["return"] == pytest.approx(0.23)
        assert {i["symbol"] for i in get(run=r1, symbol="MSFT", limit=100)["items"]} == {"MSFT"}
        assert get(run=r1, type="gap")["total"] == 8
        high = get(run=r1, severity="high")
        assert high["total"] == 12 and {i["severity"] for i in high["items"]} == {
            "HIGH",
            "CRITICAL",
        }
        assert get(run=r1, start="2020-01-05", end="2020-01-10T00:00:00Z")["total"] == 6
        assert (
            client.get("/anomalies", params={"severity": "huge"}, headers=AUTH).status_code == 422
        )
        assert client.get("/anomalies", params={"start": "soon"}, headers=AUTH).status_code == 422
        assert client.get("/anomalies").status_code == 401
        assert json.dumps(get(type="nothing")) and get(type="nothing")["total"] == 0
