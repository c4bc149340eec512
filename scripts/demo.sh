#!/usr/bin/env bash
# The main job, for now: the whole local devnet (Ethereum and BSC on anvil, Solana on
# solana-test-validator) with pools, the bridge, traffic every few seconds, and the indexer
# following both EVM chains into a SQLite file, with the pools' yields printed as they change.
# Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

prepare

DEVNET_DIR="${ATOLL_DEVNET_DIR:-$ATOLL_HOME/devnet}"
# A previous demo left running in the same folder is stopped first (only its own pids).
"$ATOLL_BIN" devnet down --dir "$DEVNET_DIR" >/dev/null
say "starting the devnet in $DEVNET_DIR"
"$ATOLL_BIN" devnet up --dir "$DEVNET_DIR" "$@"
DB="sqlite://$DEVNET_DIR/atoll.db?mode=rwc"
rm -f "$DEVNET_DIR"/atoll.db*
indexer_pid=
stop() {
  say "stopping the indexer and the devnet"
  [ -n "$indexer_pid" ] && kill "$indexer_pid" 2>/dev/null && wait "$indexer_pid" 2>/dev/null
  "$ATOLL_BIN" devnet down --dir "$DEVNET_DIR"
  exit 0
}
trap stop INT TERM
"$ATOLL_BIN" devnet traffic --dir "$DEVNET_DIR" --swaps 100 --deposits 12 --seed 1
"$ATOLL_BIN" devnet status --dir "$DEVNET_DIR"
say "indexing both EVM chains into $DEVNET_DIR/atoll.db (follows the head)"
"$ATOLL_BIN" index --config "$DEVNET_DIR/devnet.toml" --database-url "$DB" 2>>"$DEVNET_DIR/indexer.log" &
indexer_pid=$!
say "devnet running; config at $DEVNET_DIR/devnet.toml. More traffic every 10 s; Ctrl-C stops everything."
seed=2
while true; do
  sleep 10 & wait $!
  "$ATOLL_BIN" devnet traffic --dir "$DEVNET_DIR" --swaps 20 --deposits 6 --seed "$seed" | head -1
  "$ATOLL_BIN" pools --config "$DEVNET_DIR/devnet.toml" --database-url "$DB" --all 2>/dev/null || true
  seed=$((seed + 1))
done
