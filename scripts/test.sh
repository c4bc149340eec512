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
# Tests drop their databases; WITH (FORCE) may end another role's session (an autovacuum
# worker), which PostgreSQL allows only to members of pg_signal_backend.
psql_admin "GRANT pg_signal_backend TO atoll_test" >/dev/null
export ATOLL_TEST_POSTGRES_URL="postgres://atoll_test:atoll_test@127.0.0.1:$PG_PORT/postgres"

say "cargo test (PostgreSQL at 127.0.0.1:$PG_PORT)"
# Every test binary runs even when one fails, so one failure never hides the rest; the output
# is kept to count the verdicts for the closing line.
log=$(mktemp "${TMPDIR:-/tmp}/atoll-test.XXXXXX")
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --locked --no-fail-fast "$@" 2>&1 | tee "$log" || status=$?
summary=$(awk '
  /^test result: / {
    for (i = 1; i <= NF; i++) {
      if ($(i+1) ~ /^passed/) p += $i
      if ($(i+1) ~ /^failed/) f += $i
      if ($(i+1) ~ /^ignored/) s += $i
    }
  }
  END { printf "%d %d %d", p, f, s }' "$log")
read -r passed failed skipped <<<"$summary"
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  # A binary that did not build or died before its verdict has no "test result" line.
  say "cargo test exited $status without a failed test counted: a test binary did not build or crashed (see above)"
  failed=1
fi
echo
echo "tests: $passed passed, $failed failed, $skipped skipped"
exit "$status"
