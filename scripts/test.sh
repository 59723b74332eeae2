#!/usr/bin/env bash
# Runs the whole test suite: the release binaries the Node tests start, every Rust test, then the
# Node end-to-end suites in tests/. Usage: bash scripts/test.sh
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

step() { printf '\n==> %s\n' "$*"; }

# Starts PostgreSQL (127.0.0.1:5432) and Redis (127.0.0.1:6379) when they are down, for the
# suites that need them. A missing tool is skipped with a message, not an error.
ensure_services() {
  if command -v pg_isready >/dev/null 2>&1 && command -v pg_ctlcluster >/dev/null 2>&1 \
    && [ -d /etc/postgresql ]; then
    if pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
      echo "PostgreSQL: already up on 127.0.0.1:5432"
    else
      echo "PostgreSQL: starting"
      pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start
      for _ in $(seq 1 30); do
        pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1 && break
        sleep 1
      done
      pg_isready -h 127.0.0.1 -p 5432
    fi
  else
    echo "PostgreSQL: pg_isready/pg_ctlcluster or /etc/postgresql missing, skipping"
  fi

  if command -v redis-cli >/dev/null 2>&1 && command -v redis-server >/dev/null 2>&1; then
    if redis-cli -h 127.0.0.1 ping >/dev/null 2>&1; then
      echo "Redis: already up on 127.0.0.1:6379"
    else
      echo "Redis: starting"
      redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
      for _ in $(seq 1 30); do
        redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break
        sleep 1
      done
      redis-cli -h 127.0.0.1 ping
    fi
  else
    echo "Redis: redis-cli/redis-server not installed, skipping"
  fi
}

current=""
on_exit() {
  local rc=$?
  if [ "$rc" -ne 0 ]; then
    printf '\nFAILED: %s (exit %s)\n' "${current:-setup}" "$rc" >&2
  fi
}
trap on_exit EXIT

current="cargo build --release --bin server --examples"
step "$current"
cargo build --release --bin server --examples

current="cargo test --release --workspace"
step "$current"
cargo test --release --workspace

current="PostgreSQL and Redis"
step "$current"
ensure_services

current="npm ci (tests/)"
if [ ! -d tests/node_modules ] || [ tests/package-lock.json -nt tests/node_modules ]; then
  step "$current"
  (cd tests && npm ci --no-audit --no-fund)
else
  step "npm ci (tests/): node_modules up to date, skipped"
fi

current="npm test (tests/)"
step "$current"
(cd tests && npm test)

current="npm ci (web-client/)"
if [ ! -d web-client/node_modules ] || [ web-client/package-lock.json -nt web-client/node_modules ]; then
  step "$current"
  (cd web-client && npm ci --no-audit --no-fund)
else
  step "npm ci (web-client/): node_modules up to date, skipped"
fi

current="npm run build && npm test (web-client/, headless Chromium)"
step "$current"
(cd web-client && npm run build && npm test)

current=""
printf '\nALL TESTS PASSED: release build, cargo test --release --workspace, npm test (tests/), npm test (web-client/)\n'
