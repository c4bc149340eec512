#!/usr/bin/env bash
# The main job, for now: the whole local devnet (Ethereum and BSC on anvil, Solana on
# solana-test-validator) with pools, the bridge, and traffic every few seconds. Ctrl-C stops
# everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

prepare

DEVNET_DIR="${ATOLL_DEVNET_DIR:-$ATOLL_HOME/devnet}"
# A previous demo left running in the same folder is stopped first (only its own pids).
"$ATOLL_BIN" devnet down --dir "$DEVNET_DIR" >/dev/null
say "starting the devnet in $DEVNET_DIR"
"$ATOLL_BIN" devnet up --dir "$DEVNET_DIR" "$@"
trap 'say "stopping the devnet"; "$ATOLL_BIN" devnet down --dir "$DEVNET_DIR"; exit 0' INT TERM
"$ATOLL_BIN" devnet traffic --dir "$DEVNET_DIR" --swaps 100 --deposits 12 --seed 1
"$ATOLL_BIN" devnet status --dir "$DEVNET_DIR"
say "devnet running; config at $DEVNET_DIR/devnet.toml. More traffic every 10 s; Ctrl-C stops everything."
seed=2
while true; do
  sleep 10 & wait $!
  "$ATOLL_BIN" devnet traffic --dir "$DEVNET_DIR" --swaps 20 --deposits 6 --seed "$seed" | head -1
  seed=$((seed + 1))
done
