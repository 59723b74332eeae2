#!/usr/bin/env bash
# Runs the whole test suite: the machine's set-up (scripts/setup.sh: missing Debian packages
# installed as root, PostgreSQL and Redis started when down), the release binaries the Node tests
# start, every Rust test, then the Node end-to-end suites in tests/ and web-client/.
# Usage: bash scripts/test.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }

current=""
on_exit() {
  local rc=$?
  if [ "$rc" -ne 0 ]; then
    printf '\nFAILED: %s (exit %s)\n' "${current:-setup}" "$rc" >&2
  fi
}
trap on_exit EXIT

current="bash scripts/setup.sh (packages, PostgreSQL, Redis)"
step "$current"
bash scripts/setup.sh

current="cargo build --release --bin server --examples"
step "$current"
cargo build --release --bin server --examples

current="cargo test --release --workspace"
step "$current"
cargo test --release --workspace

current="npm ci (tests/)"
if [ ! -d tests/node_modules ] || [ tests/package-lock.json -nt tests/node_modules ]; then
  step "$current"
  (cd tests && npm ci --no-audit --no-fund)
else
  step "npm ci (tests/): node_modules up to date, skipped"
fi

# Before the suites in tests/: the Admin UI tests serve the page web-client/ installs
# (@socket.io/admin-ui's built UI).
current="npm ci (web-client/)"
if [ ! -d web-client/node_modules ] || [ web-client/package-lock.json -nt web-client/node_modules ]; then
  step "$current"
  (cd web-client && npm ci --no-audit --no-fund)
else
  step "npm ci (web-client/): node_modules up to date, skipped"
fi

current="npm test (tests/)"
step "$current"
(cd tests && npm test)

current="npm run build && npm test (web-client/, headless Chromium)"
step "$current"
(cd web-client && npm run build && npm test)

current=""
printf '\nALL TESTS PASSED: release build, cargo test --release --workspace, npm test (tests/), npm test (web-client/)\n'
