#!/usr/bin/env bash
# Set up, then run the main demo: a multi-strategy backtest on real S&P 500 data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/alphapulse backtest examples/demo.yaml --out runs/demo
