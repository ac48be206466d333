"""API settings: from arguments, the environment and a ``.env`` file (environment wins)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from dotenv import dotenv_values
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from alphapulse.core.errors import ConfigError, validation_text
from alphapulse.store.engine import resolve_url

ENV_TOKEN = "ALPHAPULSE_API_TOKEN"
ENV_DB_URL = "ALPHAPULSE_DB_URL"
ENV_MAX_JOBS = "ALPHAPULSE_API_MAX_JOBS"
ENV_JOB_MODE = "ALPHAPULSE_API_JOB_MODE"
ENV_MAX_BODY = "ALPHAPULSE_API_MAX_BODY"
_ENV_FIELDS = {
    ENV_TOKEN: "token",
    ENV_DB_URL: "db_url",
    ENV_MAX_JOBS: "max_jobs",
    ENV_JOB_MODE: "job_mode",
    ENV_MAX_BODY: "max_body",
}
MIN_TOKEN = 32
TOKEN_HINT = f"at least {MIN_TOKEN} characters; generate one with `alphapulse serve --gen-token`"


class ApiSettings(BaseModel):
    """What the app needs. Secrets are ``SecretStr``: they print as ``**********``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    token: SecretStr = Field(description="bearer token every protected request must send")
    db_url: SecretStr | None = Field(None, description="database URL; None = store default")
    max_jobs: int = Field(2, ge=1, le=64, description="backtests run at the same time")
    job_mode: Literal["process", "thread"] = "process"
    max_body: int = Field(
        1 << 20, ge=1024, le=1 << 30, description="largest request body in bytes (else 413)"
    )
    docs: bool = True  # serve /docs and /openapi.json (public: they hold no data)

    @field_validator("token")
    @classmethod
    def _long_token(cls, token: SecretStr) -> SecretStr:
        if len(token.get_secret_value()) < MIN_TOKEN:
            raise ValueError(f"too short: {TOKEN_HINT}")
        return token

    def database_url(self) -> str:
        """The resolved database URL (contains the password: never log it; see mask_url)."""
        return resolve_url(None if self.db_url is None else self.db_url.get_secret_value())

    @classmethod
    def from_env(
        cls,
        env_file: str | Path | None = ".env",
        environ: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> ApiSettings:
        """Settings from ``environ`` (default ``os.environ``) over ``env_file`` (when it
        exists), with non-None ``overrides`` on top. Raises ``ConfigError`` naming what is
        wrong (without echoing any value)."""
        values: dict[str, Any] = {}
        layers: list[Mapping[str, str | None]] = []
        if env_file is not None and Path(env_file).is_file():
            layers.append(dotenv_values(env_file))
        layers.append(os.environ if environ is None else environ)
        for layer in layers:
            for key, field in _ENV_FIELDS.items():
                if layer.get(key):
                    values[field] = layer[key]
        values.update({k: v for k, v in overrides.items() if v is not None})
        if not values.get("token"):
            raise ConfigError(f"${ENV_TOKEN} is not set (environment or .env); the API needs it")
        if len(str(values["token"])) < MIN_TOKEN:
            raise ConfigError(f"${ENV_TOKEN} is too short: {TOKEN_HINT}")
        try:
            return cls.model_validate(values)
        except ValidationError as exc:  # messages name the limit, never the value
            raise ConfigError(f"invalid API settings: {validation_text(exc)}") from None
