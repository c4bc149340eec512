#!/usr/bin/env bash
# Runs every test on a fresh machine with Rust and Node.js: installs the pinned tools (anvil,
# solc, Uniswap artifacts, solana-test-validator) into ~/.cache/atoll, starts the local
# PostgreSQL cluster for the PostgreSQL tests, then `cargo test` over the whole workspace.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

prepare

# PostgreSQL: Debian's cluster, started when down; a password role for loopback (scram) auth.
ensure_system_packages postgresql
PG_VERSION=$(pg_lsclusters -h | awk 'NR==1 {print $1}')
PG_PORT=$(pg_lsclusters -h | awk 'NR==1 {print $3}')
if [ "$(pg_lsclusters -h | awk 'NR==1 {print $4}')" != online ]; then
  say "starting PostgreSQL $PG_VERSION"
  as_root pg_ctlcluster --skip-systemctl-redirect "$PG_VERSION" main start
fi
psql_admin() { if [ "$(id -u)" = 0 ]; then su postgres -c "psql -p $PG_PORT -tAc \"$1\""; else sudo -u postgres psql -p "$PG_PORT" -tAc "$1"; fi; }
if [ "$(psql_admin "SELECT 1 FROM pg_roles WHERE rolname='atoll_test'")" != 1 ]; then
  psql_admin "CREATE ROLE atoll_test LOGIN CREATEDB PASSWORD 'atoll_test'" >/dev/null
fi
export ATOLL_TEST_POSTGRES_URL="postgres://atoll_test:atoll_test@127.0.0.1:$PG_PORT/postgres"

say "cargo test (PostgreSQL at 127.0.0.1:$PG_PORT)"
cargo test --workspace --locked "$@"
