"""Run ``alphapulse`` in-process for CLI tests: (exit code, stderr)."""

from __future__ import annotations

import contextlib
import io

from alphapulse.cli import main


def run(argv: list[str]) -> tuple[int, str]:
    """(exit code, stderr) of ``alphapulse argv``; any escaping exception fails the test."""
    err = io.StringIO()
    rc = 0
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            main(argv)
        except SystemExit as exc:
            rc = exc.code if isinstance(exc.code, int) else 1
    return rc, err.getvalue()
