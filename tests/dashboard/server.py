"""A real HTTP server of the app (uvicorn in a thread) for browser tests and the benchmark."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from alphapulse.api import ApiSettings, create_app


@contextmanager
def serve(db_url: str, token: str) -> Iterator[str]:
    """The base URL of a running server on ``db_url``; stopped on exit."""
    app = create_app(ApiSettings(token=token, db_url=db_url, job_mode="thread"))
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
