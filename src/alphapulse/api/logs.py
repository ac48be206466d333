"""Keep tokens out of every log line: access-log paths lose their query string, and
``Bearer ...``, ``token=...`` and the server's own token are masked in any message."""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

from alphapulse.api.security import MASK

_BEARER = re.compile(r"(?i)(bearer\s+)\S+")
_QUERY_SECRET = re.compile(r"(?i)((?:access_)?token|api_?key|secret|password)=[^&\s\"']*")


def scrub(text: str, secrets: tuple[str, ...] = ()) -> str:
    """``text`` with bearer credentials, secret-named query values and ``secrets`` masked."""
    out = _QUERY_SECRET.sub(rf"\1={MASK}", _BEARER.sub(rf"\1{MASK}", text))
    for secret in secrets:
        if secret:
            out = out.replace(secret, MASK)
    return out


class ScrubFilter(logging.Filter):
    """A handler filter: uvicorn access records keep their shape (the path without its
    query string); every other record's message is scrubbed."""

    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
            path = str(args[2]).split("?", 1)[0]
            record.args = (args[0], args[1], scrub(path, self.secrets), args[3], args[4])
            return True
        message = scrub(record.getMessage(), self.secrets)
        record.msg, record.args = message, None
        if record.exc_text:
            record.exc_text = scrub(record.exc_text, self.secrets)
        return True


def uvicorn_log_config(secrets: tuple[str, ...] = ()) -> dict[str, Any]:
    """uvicorn's logging config with :class:`ScrubFilter` on every handler."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"scrub": {"()": ScrubFilter, "secrets": secrets}}
    for handler in config["handlers"].values():
        handler["filters"] = ["scrub"]
    return config
