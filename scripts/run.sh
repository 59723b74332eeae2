#!/usr/bin/env bash
# Runs the server on embedded defaults (SQLite in ./data, the offline bot, the demo page at /).
# Builds the demo page first when needed. Usage: bash scripts/run.sh [server flags...]
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [ -f web-client/package.json ]; then
  if [ ! -d web-client/node_modules ] || [ web-client/package-lock.json -nt web-client/node_modules ]; then
    (cd web-client && npm ci --no-audit --no-fund)
  fi
  (cd web-client && npm run build --silent)
fi

exec cargo run --release --bin server -- "$@"
