"""``alphapulse serve``: run the REST API with uvicorn."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated

import typer

from alphapulse.cli_data import DbOpt


def serve(
    host: Annotated[str, typer.Option(help="interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    db: DbOpt = None,
    env_file: Annotated[Path, typer.Option(help="dotenv file with ALPHAPULSE_API_TOKEN")] = Path(
        ".env"
    ),
    max_jobs: Annotated[int | None, typer.Option(help="backtests run at the same time")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
    gen_token: Annotated[
        bool, typer.Option("--gen-token", help="print a new random token and exit")
    ] = False,
) -> None:
    """Serve the REST API (bearer token from $ALPHAPULSE_API_TOKEN or the .env file, at
    least 32 characters)."""
    if gen_token:
        typer.echo(secrets.token_urlsafe(32))
        return
    import uvicorn

    from alphapulse.api import ApiSettings, create_app
    from alphapulse.api.logs import uvicorn_log_config
    from alphapulse.api.metrics import Metrics
    from alphapulse.services.health import service_registry

    settings = ApiSettings.from_env(env_file, db_url=db, max_jobs=max_jobs)
    metrics = Metrics(service_registry("api"))  # + process CPU and memory
    token = settings.token.get_secret_value()
    uvicorn.run(
        create_app(settings, metrics),
        host=host,
        port=port,
        log_level=log_level,
        log_config=uvicorn_log_config((token,)),
    )
