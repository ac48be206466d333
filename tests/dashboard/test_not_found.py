"""A 404 under ``/ui/`` is the dashboard's HTML page; elsewhere the API's JSON."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import AUTH, make_client


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with make_client(f"sqlite:///{tmp_path / 'ui.sqlite'}", job_mode="thread") as c:
        yield c


#: (method, path, the page's message: the route's own, else a generic one)
MISSING = [
    ("GET", "/ui/no-such-page", "No such page."),
    ("GET", "/ui/runs/r1/no-such-tab", "No such page."),
    ("POST", "/ui/sessions/nope/stop", "no paper session &#39;nope&#39; on this server"),
]


@pytest.mark.parametrize(("method", "path", "message"), MISSING)
def test_unknown_dashboard_paths_get_the_html_page(
    client: TestClient, method: str, path: str, message: str
) -> None:
    res = client.request(method, path, headers=AUTH)
    assert res.status_code == 404
    assert res.headers["content-type"].startswith("text/html")
    assert "<h1>Not found</h1>" in res.text
    assert f'<p class="error" id="error">{message}</p>' in res.text


def test_api_paths_keep_the_json_404(client: TestClient) -> None:
    res = client.get("/no-such-path", headers=AUTH)
    assert res.status_code == 404
    assert res.json() == {"error": "Not Found", "fields": []}
