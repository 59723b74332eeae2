#!/usr/bin/env bash
# The soak (issue 10): starts the release server, runs scripts/soak.mjs against it (clients at
# nice 5) and stops the server by its pid. Builds nothing: build the server first
# (`cargo build --release -p server --bin server`) and install the test clients (`npm ci` in tests/).
#
#   bash scripts/soak.sh                                    10,000 connections, 10 minutes
#   SOAK_CONNECTIONS=500 SOAK_MINUTES=1 bash scripts/soak.sh a quick check
#
# Every SOAK_* variable of scripts/soak/lib.mjs applies; SERVER_BIN picks another binary,
# SOAK_SERVER_FLAGS adds server flags, SOAK_LOG_FILTER sets its log filter (default warn).
# The server's database is a SQLite file in a temporary folder (removed afterwards), so the
# stored messages do not count in its RSS. Logs and the JSON summary go to target/soak/.
# Exit status: 0 pass, 1 something lost, duplicated or left online, 2 the run failed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

bin=${SERVER_BIN:-target/release/server}
if [ ! -x "$bin" ]; then
  echo "soak: no server binary at $bin (cargo build --release -p server --bin server)" >&2
  exit 2
fi
if [ ! -d tests/node_modules/socket.io-client ]; then
  echo "soak: tests/node_modules is missing (run npm ci in tests/)" >&2
  exit 2
fi

# 10,000 connections need about as many open files in the server and (spread over the
# workers) in the clients: raise the soft limit to the hard one and check it is enough.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
files=$(ulimit -n)
need=$((${SOAK_CONNECTIONS:-10000} + 1000))
if [ "$files" != unlimited ] && [ "$files" -lt "$need" ]; then
  echo "soak: ulimit -n is $files; the server needs about $need open files" >&2
  exit 2
fi

out=target/soak
mkdir -p "$out"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
data=$(mktemp -d "${TMPDIR:-/tmp}/soak-data.XXXXXX")
# Rate limits raised for the load: every guest may send and create far more than the soak asks.
args=(--host 127.0.0.1 --port 0 --data-dir "$data" --static-dir "$data/no-static"
  --log-filter "${SOAK_LOG_FILTER:-warn}"
  --rate-limit-per-sec 1000 --rate-limit-burst 1000 --rooms-per-minute 1000)
# shellcheck disable=SC2206 # extra flags are split on purpose
[ -n "${SOAK_SERVER_FLAGS:-}" ] && args+=($SOAK_SERVER_FLAGS)

"$bin" "${args[@]}" >"$out/server-$stamp.out" 2>"$out/server-$stamp.log" &
pid=$!
stop_server() {
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  rm -rf "$data"
}
trap stop_server EXIT

url=
for _ in $(seq 1 100); do
  url=$(sed -n 's/^listening on \(http:\/\/[^ ]*\)$/\1/p' "$out/server-$stamp.out" | head -n 1)
  [ -n "$url" ] && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$url" ]; then
  echo "soak: the server did not start:" >&2
  cat "$out/server-$stamp.log" >&2
  exit 2
fi

echo "soak: server $bin ${args[*]}"
echo "soak: pid $pid, $url, ulimit -n $files, log $out/server-$stamp.log"
rc=0
SOAK_URL=$url SOAK_SERVER_PID=$pid SOAK_SERVER_ARGS="$bin ${args[*]}" SOAK_JSON="$out/soak-$stamp.json" \
  nice -n 5 node scripts/soak.mjs || rc=$?

stop_server
trap - EXIT
warnings=$(grep -c -E 'WARN|ERROR' "$out/server-$stamp.log" || true)
echo "soak: server log: $warnings warning/error lines ($out/server-$stamp.log)"
grep -E 'WARN|ERROR' "$out/server-$stamp.log" | sed -E 's/^[0-9]{4}-[0-9T:.Z-]+ +//' | cut -c1-300 | sort | uniq -c | sort -rn | head -n 20 || true
echo "soak: summary $out/soak-$stamp.json, exit $rc"
exit "$rc"
