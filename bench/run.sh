#!/usr/bin/env bash
# Runs the benchmarks and writes docs/BENCHMARKS.md (charts in bench/charts/, raw figures in
# bench/results.json). Servers run on core 0, the load generator on core 1.
#
#   bash bench/run.sh                    everything (about 15 minutes on 2 cores)
#   bash bench/run.sh --smoke            every scenario for a second or two, tiny loads (CI);
#                                        writes target/bench/BENCHMARKS-smoke.md instead
#   bash bench/run.sh --only echo,fanout --runs 1 --targets ours,node
#                                        a subset: writes target/bench/BENCHMARKS-partial.md
#   bash bench/run.sh cluster [--smoke] [--runs N]
#                                        chat and flood on one node and on three (Redis 7 and
#                                        PostgreSQL at 127.0.0.1, as the tests use them): the
#                                        cluster section of docs/BENCHMARKS.md (about 5 minutes)
#
# Needs: cargo; Node.js + npm for the Node reference (skipped without them, unless
# BENCH_REQUIRE_NODE=1, as in CI); taskset (util-linux) for pinning; rsvg-convert (librsvg2-bin)
# for PNG charts (SVG otherwise). Exits non-zero when a scenario fails to run, never on figures.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

command=all
if [ "${1:-}" = cluster ]; then
  command=cluster
  shift
fi

smoke=false
for a in "$@"; do
  [ "$a" = "--smoke" ] && smoke=true
done

step() { printf '==> %s\n' "$*" >&2; }

# Without the Node reference the run goes on (its rows are left out), unless it is required.
node_missing() {
  if [ "${BENCH_REQUIRE_NODE:-0}" = 1 ]; then
    step "$1, and BENCH_REQUIRE_NODE=1"
    exit 1
  fi
  step "$1: the Node reference will be skipped"
}

step "building the servers and the harness (release)"
cargo build --release --quiet -p server --bin server --example conformance
cargo build --release --quiet -p bench

if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  ref=bench/node-reference
  if [ ! -d "$ref/node_modules/socket.io" ] || [ ! -d "$ref/node_modules/better-sqlite3/build" ] \
    || [ "$ref/package-lock.json" -nt "$ref/node_modules/.package-lock.json" ]; then
    step "installing the Node reference (npm ci; better-sqlite3 may compile from source)"
    # node-gyp finds the headers of the installed Node here instead of downloading them.
    if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node.h ]; then
      export npm_config_nodedir=/usr
    fi
    started=$SECONDS
    if (cd "$ref" && npm ci --no-audit --no-fund --loglevel=error); then
      step "npm ci took $((SECONDS - started)) s"
    else
      node_missing "npm ci failed in $ref"
    fi
  fi
else
  node_missing "node/npm not found"
fi

if ! $smoke && ! command -v rsvg-convert >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 \
  && [ "$(id -u)" = 0 ]; then
  step "installing rsvg-convert for PNG charts"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq librsvg2-bin >/dev/null 2>&1 \
    || step "could not install librsvg2-bin: charts stay SVG"
fi

# As many connections as this machine allows one process.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

if command -v taskset >/dev/null 2>&1; then
  exec taskset -c 1 target/release/bench "$command" "$@"
else
  exec target/release/bench "$command" "$@"
fi
