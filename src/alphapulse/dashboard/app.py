"""Registers the dashboard on the API app: static assets, the offline ``/docs``, the
login and the pages."""

from __future__ import annotations

from pathlib import Path

import plotly
import swagger_ui_bundle
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.responses import FileResponse, HTMLResponse

from alphapulse.dashboard import auth, live, pages, settings_pages
from alphapulse.dashboard.web import HERE

PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
CACHE = {"cache-control": "public, max-age=86400"}


def install(app: FastAPI, docs: bool = True) -> None:
    """Add the dashboard's routes to ``app`` (``docs``: also the offline ``/docs``)."""

    @app.get("/ui/static/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(PLOTLY_JS, media_type="text/javascript", headers=CACHE)

    app.mount("/ui/static", StaticFiles(directory=HERE / "static"), name="ui-static")
    if docs:
        app.mount("/docs/static", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), "docs")

        @app.get("/docs", include_in_schema=False)
        def swagger() -> HTMLResponse:
            return get_swagger_ui_html(
                openapi_url="/openapi.json",
                title=f"{app.title} - docs",
                swagger_js_url="/docs/static/swagger-ui-bundle.js",
                swagger_css_url="/docs/static/swagger-ui.css",
                swagger_favicon_url="/docs/static/favicon-32x32.png",
            )

    for module in (auth, pages, live, settings_pages):
        app.include_router(module.build_router())
