#!/usr/bin/env bash
# Makes this machine ready for the tests (scripts/test.sh runs it first, and so .ci/run):
# - checks the tools it cannot install: cargo, Node 20 or later, npm;
# - installs the Debian packages the tests need when they are missing (as root, with apt-get):
#   Chromium for the web-client tests, openssl for the TLS tests, the PostgreSQL server and client,
#   Redis 7 and nginx for the cluster tests, and for the benchmark smoke python3, make and g++
#   (node-gyp) and util-linux (taskset);
# - starts PostgreSQL and Redis when they are down, and waits until they answer;
# - on a local PostgreSQL that refuses the tests' connection, creates their role and database.
# Not root and something missing: it installs nothing, says what to install and exits non-zero.
# When everything is there it only checks, and says so. Usage: bash scripts/setup.sh
#
# The tests' database is the one tests/support/chat.js uses: CHAT_TEST_PG_HOST (127.0.0.1),
# CHAT_TEST_PG_PORT (5432), CHAT_TEST_PG_DB (test), as the OS user (or PGUSER).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PG_HOST=${CHAT_TEST_PG_HOST:-127.0.0.1}
PG_PORT=${CHAT_TEST_PG_PORT:-5432}
PG_DB=${CHAT_TEST_PG_DB:-test}
PG_USER=${PGUSER:-$(id -un)}
CHROMIUM=${CHROMIUM_BIN:-/usr/bin/chromium}

say() { printf 'setup: %s\n' "$*"; }
fail() {
  printf 'setup: %s\n' "$@" >&2
  exit 1
}
is_root() { [ "$(id -u)" -eq 0 ]; }
has() { command -v "$1" >/dev/null 2>&1; }
pg_local() { case "$PG_HOST" in 127.0.0.1 | localhost | ::1) return 0 ;; *) return 1 ;; esac; }

# Whether PostgreSQL accepts connections at PG_HOST:PG_PORT (before the client is installed:
# whether the port is open).
pg_up() {
  if has pg_isready; then
    pg_isready -q -h "$PG_HOST" -p "$PG_PORT" >/dev/null 2>&1
  else
    (exec 3<>"/dev/tcp/$PG_HOST/$PG_PORT") 2>/dev/null
  fi
}

# "VERSION NAME" of the local cluster on PG_PORT, if there is one.
pg_cluster() {
  has pg_lsclusters || return 0
  pg_lsclusters -h 2>/dev/null | awk -v port="$PG_PORT" '$3 == port { print $1, $2; exit }'
}

# --- 1. What this script cannot install ------------------------------------------------------

problems=()
has cargo || problems+=("cargo is missing: install Rust (rustup)")
if has node; then
  node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
  [ "$node_major" -ge 20 ] || problems+=("Node $(node --version) is too old: the tests need Node 20 or later")
else
  problems+=("node is missing: install Node 20 or later")
fi
has npm || problems+=("npm is missing: install it with Node")
[ "${#problems[@]}" -eq 0 ] || fail "${problems[@]}"

# --- 2. Debian packages ----------------------------------------------------------------------

missing=()
want() {
  local p
  for p in "${missing[@]}"; do [ "$p" = "$1" ] && return 0; done
  missing+=("$1")
}
[ -x "$CHROMIUM" ] || want chromium
has openssl || want openssl
has python3 || want python3
has make || want make
has g++ || want g++
has taskset || want util-linux
has psql || want postgresql-client
has pg_isready || want postgresql-client
# The cluster tests start nodes on the shared Redis, a private redis-server for restarts, and
# nginx in front (as their own processes, never the system's services).
has redis-server || want redis-server
has redis-cli || want redis-tools
has nginx || [ -x /usr/sbin/nginx ] || want nginx
# The metrics tests check deploy/prometheus/alerts.yml with Prometheus's promtool.
has promtool || want prometheus
if pg_local && ! pg_up && [ -z "$(pg_cluster)" ]; then
  want postgresql
fi

if [ "${#missing[@]}" -gt 0 ]; then
  if ! is_root; then
    fail "missing: ${missing[*]}" \
      "install them as root (sudo apt-get install -y ${missing[*]}), or run this script as root"
  fi
  has apt-get || fail "missing: ${missing[*]}; apt-get is not here: install them by hand"
  say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq -o Dpkg::Use-Pty=0 "${missing[@]}"
fi

# --- 3. PostgreSQL -----------------------------------------------------------------------------

if pg_up; then
  say "PostgreSQL: up on $PG_HOST:$PG_PORT"
elif pg_local; then
  cluster=$(pg_cluster)
  [ -n "$cluster" ] || fail "PostgreSQL: no local cluster on port $PG_PORT (pg_lsclusters lists none)"
  # Starting a cluster needs its owner's rights: root or the postgres user.
  is_root || [ "$(id -un)" = postgres ] \
    || fail "PostgreSQL is down: start it as root (pg_ctlcluster $cluster start), or run this script as root"
  say "PostgreSQL: starting cluster $cluster"
  # shellcheck disable=SC2086 # "VERSION NAME" are two arguments
  pg_ctlcluster --skip-systemctl-redirect $cluster start
  for _ in $(seq 1 30); do
    pg_up && break
    sleep 1
  done
  pg_up || fail "PostgreSQL did not come up on $PG_HOST:$PG_PORT within 30 s"
  say "PostgreSQL: up on $PG_HOST:$PG_PORT"
else
  fail "PostgreSQL does not answer at $PG_HOST:$PG_PORT (not this machine: start it there)"
fi

pg_check() { psql -w -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$PG_DB" -qAtc 'select 1' 2>&1; }
# As the postgres superuser, over the local socket (peer authentication); from / so that psql
# can read its working directory.
pg_admin() {
  (cd / && runuser -u postgres -- env -u PGUSER -u PGHOST -u PGDATABASE -u PGPASSWORD \
    psql -U postgres -p "$PG_PORT" -d postgres -v ON_ERROR_STOP=1 -qAt "$@")
}

if ! why=$(pg_check); then
  if ! pg_local || ! is_root; then
    fail "PostgreSQL refuses the tests' connection (user $PG_USER, database $PG_DB): $why" \
      "as a PostgreSQL superuser: CREATE ROLE \"$PG_USER\" LOGIN; CREATE DATABASE \"$PG_DB\" OWNER \"$PG_USER\";" \
      "(when $PG_DB exists: GRANT CONNECT, CREATE ON DATABASE \"$PG_DB\" TO \"$PG_USER\";)" \
      "and let $PG_USER connect from $PG_HOST without a password (pg_hba.conf), or set PGPASSWORD"
  fi
  say "PostgreSQL: the tests' connection is refused ($why); setting up role $PG_USER and database $PG_DB"
  if [ -z "$(pg_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$PG_USER'")" ]; then
    pg_admin -c "CREATE ROLE \"$PG_USER\" LOGIN"
    say "PostgreSQL: created role $PG_USER"
  fi
  if [ -z "$(pg_admin -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" ]; then
    pg_admin -c "CREATE DATABASE \"$PG_DB\" OWNER \"$PG_USER\""
    say "PostgreSQL: created database $PG_DB owned by $PG_USER"
  else
    # Each test makes and drops a schema of its own there.
    pg_admin -c "GRANT CONNECT, CREATE ON DATABASE \"$PG_DB\" TO \"$PG_USER\""
  fi
  if ! why=$(pg_check); then
    # Debian's default asks for a password over TCP: the tests give none.
    hba=$(pg_admin -c 'SHOW hba_file')
    rules="host $PG_DB $PG_USER 127.0.0.1/32 trust
host $PG_DB $PG_USER ::1/128 trust"
    { printf '# scripts/setup.sh: the tests connect without a password\n%s\n' "$rules"; cat "$hba"; } >"$hba.new"
    chown --reference="$hba" "$hba.new"
    chmod --reference="$hba" "$hba.new"
    mv "$hba.new" "$hba"
    pg_admin -c 'SELECT pg_reload_conf()' >/dev/null
    say "PostgreSQL: $PG_USER may connect to $PG_DB from this machine without a password ($hba)"
    sleep 1
    why=$(pg_check) || fail "PostgreSQL still refuses the tests' connection: $why"
  fi
fi
say "PostgreSQL: database $PG_DB answers as $PG_USER"

# --- 4. Redis 7 (the cluster tests) --------------------------------------------------------------

redis_up() { redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; }
if redis_up; then
  say "Redis: up on 127.0.0.1:6379"
else
  is_root || fail "Redis is down on 127.0.0.1:6379: start it (redis-server --daemonize yes --bind 127.0.0.1), or run this script as root"
  say "Redis: starting"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  for _ in $(seq 1 30); do
    redis_up && break
    sleep 1
  done
  redis_up || fail "Redis did not come up on 127.0.0.1:6379 within 30 s (see /var/log/redis/ci.log)"
  say "Redis: up on 127.0.0.1:6379"
fi
redis_major=$(redis-cli -h 127.0.0.1 -p 6379 info server | awk -F: '/^redis_version:/ { split($2, v, "."); print v[1] }')
[ "${redis_major:-0}" -ge 7 ] || fail "Redis at 127.0.0.1:6379 is version ${redis_major:-unknown}: the cluster needs Redis 7 (RESP3)"

say "ready: cargo, Node $(node --version), npm, Chromium ($CHROMIUM), openssl, nginx, PostgreSQL at $PG_HOST:$PG_PORT/$PG_DB, Redis $redis_major at 127.0.0.1:6379"
