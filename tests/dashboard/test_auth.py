"""Login, the session cookie, CSRF and the offline assets (in-process client)."""

from __future__ import annotations

import json
import re
import warnings

from tests.dashboard.conftest import AUTH, TOKEN, csrf_of, login

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


def test_pages_send_a_browser_to_login_and_the_api_still_refuses(ui) -> None:  # type: ignore[no-untyped-def]
    client, _ = ui
    client.cookies.clear()
    r = client.get("/ui/runs", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert client.get("/runs").status_code == 401
    assert client.get("/login").status_code == 200


def test_wrong_token_is_refused_and_sets_no_cookie(ui) -> None:  # type: ignore[no-untyped-def]
    client, _ = ui
    client.cookies.clear()
    form = csrf_of(client.get("/login").text)
    data = {"token": TOKEN[:-1] + "x", "csrf": form}
    r = client.post("/login", data=data, follow_redirects=False)
    assert r.status_code == 401 and "Wrong token" in r.text
    assert "alphapulse_session" not in r.headers.get("set-cookie", "")
    assert client.get("/runs").status_code == 401


def test_login_form_is_csrf_protected(ui) -> None:  # type: ignore[no-untyped-def]
    client, _ = ui
    client.cookies.clear()
    page = client.get("/login")
    nonce = page.headers["set-cookie"]
    assert "alphapulse_login=" in nonce and "HttpOnly" in nonce and "SameSite=strict" in nonce
    form = csrf_of(page.text)
    # a cross-site post: no token field, or the right field without the nonce cookie
    no_field = client.post("/login", data={"token": TOKEN}, follow_redirects=False)
    assert no_field.status_code == 403 and "another site" in no_field.text
    other = TestClient(client.app)
    stolen = other.post("/login", data={"token": TOKEN, "csrf": form}, follow_redirects=False)
    assert stolen.status_code == 403
    forged = {"token": TOKEN, "csrf": form[:-1] + ("0" if form[-1] != "0" else "1")}
    assert client.post("/login", data=forged, follow_redirects=False).status_code == 403
    for r in (no_field, stolen):
        assert "alphapulse_session" not in r.headers.get("set-cookie", "")
    assert other.get("/runs").status_code == 401
    ok = client.post("/login", data={"token": TOKEN, "csrf": form}, follow_redirects=False)
    assert ok.status_code == 303 and client.get("/runs").status_code == 200


def test_cookie_is_signed_httponly_samesite_and_not_the_token(ui) -> None:  # type: ignore[no-untyped-def]
    client, _ = ui
    client.cookies.clear()
    form = csrf_of(client.get("/login").text)
    r = client.post("/login", data={"token": TOKEN, "csrf": form}, follow_redirects=False)
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert TOKEN not in cookie
    value = re.search(r"alphapulse_session=([^;]+)", cookie).group(1)  # type: ignore[union-attr]
    assert client.get("/runs").status_code == 200  # the cookie authenticates reads
    forged = value[:-1] + ("0" if value[-1] != "0" else "1")
    other = TestClient(client.app)
    other.cookies.set("alphapulse_session", forged)
    assert other.get("/runs").status_code == 401


def test_csrf_is_required_on_forms_and_api_writes_need_the_token(ui) -> None:  # type: ignore[no-untyped-def]
    client, _ = ui
    client.cookies.clear()
    csrf = login(client)
    assert client.post("/ui/strategies/sma_cross/disable", data={}).status_code == 403
    bad = client.post("/ui/strategies/sma_cross/disable", data={"csrf": "x" * 64})
    assert bad.status_code == 403
    assert client.post("/strategies/sma_cross/disable").status_code == 401  # cookie: read-only
    ok = client.post("/ui/strategies/sma_cross/disable", data={"csrf": csrf})
    assert ok.status_code == 200 and '<td class="state">disabled</td>' in ok.text
    states = {s["name"]: s["enabled"] for s in client.get("/strategies", headers=AUTH).json()}
    assert states["sma_cross"] is False
    client.post("/ui/strategies/sma_cross/enable", data={"csrf": csrf})
    states = {s["name"]: s["enabled"] for s in client.get("/strategies", headers=AUTH).json()}
    assert states["sma_cross"] is True


def test_logout_ends_the_session(ui) -> None:  # type: ignore[no-untyped-def]
    client, _ = ui
    client.cookies.clear()
    csrf = login(client)
    old = client.cookies.get("alphapulse_session")
    r = client.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    replay = TestClient(client.app)
    replay.cookies.set("alphapulse_session", old or "")
    assert replay.get("/runs").status_code == 401


def test_docs_and_assets_are_local(ui) -> None:  # type: ignore[no-untyped-def]
    client, _ = ui
    client.cookies.clear()
    docs = client.get("/docs").text
    urls = re.findall(r"(?:src|href|url)\s*[:=]\s*['\"]([^'\"]+)['\"]", docs)
    assert urls and all(u.startswith("/") for u in urls), urls
    for asset in ("/docs/static/swagger-ui-bundle.js", "/ui/static/plotly.min.js",
                  "/ui/static/app.js", "/ui/static/app.css"):  # fmt: skip
        assert client.get(asset).status_code == 200, asset
    assert "/login" not in client.get("/openapi.json").json()["paths"]


def test_every_page_renders_with_a_finished_run(ui) -> None:  # type: ignore[no-untyped-def]
    client, run_id = ui
    client.cookies.clear()
    login(client)
    for page in ("/", "/ui/runs", "/ui/strategies", "/ui/models", "/ui/data"):
        r = client.get(page)
        assert r.status_code == 200 and csrf_of(r.text), page
    detail = client.get(f"/ui/runs/{run_id}").text
    equity = re.search(r'id="curve">(.*?)</script>', detail, re.S).group(1)  # type: ignore[union-attr]
    assert '"equity": [' in equity and equity.count(",") > 200
    assert run_id in client.get("/ui/runs?status=finished&name=api-test").text
    assert "no runs" in client.get("/ui/runs?status=failed").text
    compare = client.get(f"/ui/compare?ids={run_id}").text
    assert "total_return" in compare and "api-test/sma_fast" in compare
    sheet = client.get(f"/ui/runs/{run_id}/tearsheet")
    assert sheet.status_code == 200 and "tearsheet" in sheet.text


def test_compare_draws_one_curve_per_run_and_fees_are_shown(ui) -> None:  # type: ignore[no-untyped-def]
    """Two runs of the same name (here the same run twice) keep a curve each; the fees
    column reads summary.json's ``total_fees``."""
    client, run_id = ui
    client.cookies.clear()
    login(client)
    page = client.get(f"/ui/compare?ids={run_id}&ids={run_id}").text
    curves = json.loads(re.search(r'id="curves">(.*?)</script>', page, re.S).group(1))  # type: ignore[union-attr]
    assert sorted(curves) == ["api-test/sma_fast #1", "api-test/sma_fast #2"]
    detail = client.get(f"/ui/runs/{run_id}").text
    table = re.search(r'id="metrics".*?</table>', detail, re.S).group(0)  # type: ignore[union-attr]
    head = re.findall(r"<th[^>]*>([^<]*)</th>", table)
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", table)
    fees = cells[head.index("total_fees")].strip()
    assert fees and float(fees.replace(",", "")) > 0
