"""The live page of a paper session (in-process): signals, positions marked at the last
close, and the regimes and anomalies panels when the session is configured for them
(started through the API, and from the page's form)."""

from __future__ import annotations

import re
from typing import Any

from tests.dashboard.conftest import AUTH, PAPER_RUN, csrf_of, login, wait_session
from tests.live.test_paper_journal_records import ANOMALIES, HYBRID

WINDOW = {"source": "sp500_daily_2013_2018", "symbols": ["AAPL", "MSFT", "XOM"],
          "start": "2015-06-01", "end": "2015-09-30"}  # fmt: skip


def _rows(html: str, table_id: str) -> list[str]:
    """The non-empty body rows of table ``table_id`` (none: the table is absent)."""
    found = re.search(rf'<table id="{table_id}">.*?<tbody>(.*?)</tbody>', html, re.S)
    assert found, f"no #{table_id} on the page"
    return [r for r in re.findall(r"<tr>(.*?)</tr>", found.group(1), re.S) if "empty" not in r]


def test_live_page_shows_signals_regimes_and_anomalies(ui) -> None:  # type: ignore[no-untyped-def]
    client, _ = ui
    body: dict[str, Any] = {"name": "ui-hyb", "data": WINDOW, "strategies": [HYBRID],
                            "anomalies": ANOMALIES}  # fmt: skip
    r = client.post("/sessions", json=body, headers=AUTH)
    assert r.status_code == 202, r.text
    assert wait_session(client, "ui-hyb")["status"] == "finished"
    client.cookies.clear()
    login(client)
    html = client.get("/ui/sessions/ui-hyb").text
    signals = _rows(html, "signals")
    assert signals and all("paper:ui-hyb:hyb" in row for row in signals)
    assert "direction" in html
    regimes = _rows(html, "live-regimes")
    assert regimes and all(re.search(r"<td>(calm|high_vol|warmup)</td>", r) for r in regimes)
    assert _rows(html, "live-anomalies")
    stored = client.get("/runs/paper:ui-hyb:hyb/signals?limit=5", headers=AUTH).json()
    assert stored["total"] >= len(signals) and stored["items"][0]["name"] == "direction"


def test_form_session_without_regimes_or_anomalies_hides_those_panels(ui) -> None:  # type: ignore[no-untyped-def]
    client, _ = ui
    client.cookies.clear()
    csrf = login(client)
    data = PAPER_RUN["data"]
    form = {"csrf": csrf, "name": "ui-form", "source": data["source"],
            "symbols": ",".join(data["symbols"]), "start": data["start"], "end": data["end"],
            "strategy": "buy_and_hold", "params": "{}", "speed": "0"}  # fmt: skip
    r = client.post("/ui/sessions", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/ui/sessions/ui-form"
    assert wait_session(client, "ui-form")["status"] == "finished"
    html = client.get("/ui/sessions/ui-form").text
    assert _rows(html, "signals") and _rows(html, "positions")
    assert 'id="live-regimes"' not in html and 'id="live-anomalies"' not in html
    bad = client.post("/ui/sessions", data={**form, "name": "ui-bad", "anomalies": "{"})
    assert bad.status_code == 422
    hook = '{"alerts": {"webhook": {"url": "http://example.invalid/"}}}'
    refused = client.post("/ui/sessions", data={**form, "name": "ui-bad", "anomalies": hook})
    assert refused.status_code == 422 and "webhook" in refused.text
    assert csrf_of(html)


def test_form_json_too_deep_and_nul_filters_are_refused(ui) -> None:  # type: ignore[no-untyped-def]
    """A form's JSON field nested past Python's parser is a 422 page naming the field (was
    a 500), and a run filter with a NUL is a 422 before the database sees it (PostgreSQL
    refuses NUL: it was a 503 there)."""
    client, _ = ui
    client.cookies.clear()
    csrf = login(client)
    deep = "[" * 10_000 + "]" * 10_000
    for field in ("params", "anomalies"):
        r = client.post("/ui/sessions", data={"csrf": csrf, field: deep})
        assert r.status_code == 422 and f"{field}: not valid JSON" in r.text
    for url in ("/ui/runs?name=a%00b", "/ui/compare?ids=x&ids=a%00b"):
        r = client.get(url)
        assert r.status_code == 422 and "NUL" in r.text
