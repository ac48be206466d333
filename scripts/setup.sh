#!/usr/bin/env bash
# Create .venv (Python 3.11) and install AlphaPulse with its dev/test dependencies.
# Idempotent: re-running only installs what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
# constraints.txt pins torch to the local CPU build (a plain `torch` pulls GBs of CUDA).
# (the machine's pip config lists local package folders; their "ignored" notes are noise)
.venv/bin/python -m pip install -q -c constraints.txt -e ".[dev]" 2>&1 \
  | { grep -v "^WARNING: Location '.*' is ignored" || true; }
# Debian packages for the browser tests (chromium: Playwright's own download fails here)
# and for the deploy checks (docker-compose config, promtool, amtool).
PKGS=""
[ -x /usr/bin/chromium ] || PKGS="$PKGS chromium"
command -v docker-compose >/dev/null 2>&1 || PKGS="$PKGS docker-compose"
command -v promtool >/dev/null 2>&1 || PKGS="$PKGS prometheus"
command -v amtool >/dev/null 2>&1 || PKGS="$PKGS prometheus-alertmanager"
if [ -n "$PKGS" ] && command -v apt-get >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo -n"
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $PKGS; } >/dev/null 2>&1 \
    || echo "setup: could not install$PKGS (browser/deploy tests will skip)" >&2
fi
