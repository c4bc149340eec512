#!/usr/bin/env bash
# The main job, for now: the whole local devnet (Ethereum and BSC on anvil, Solana on
# solana-test-validator) with pools, the bridge, traffic every few seconds, the indexer
# following every chain into a SQLite file (EVM pools; Solana pools and vault deposits), and
# each round the pools' yields and the router's quote for moving capital into them.
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
# Every command below reads devnet.toml; its database is overridden to a file in the devnet folder.
export ATOLL_DATABASE__URL="sqlite://$DEVNET_DIR/atoll.db?mode=rwc"
rm -f "$DEVNET_DIR"/atoll.db*
# What the router is asked each round: $1M on Ethereum and $500k on BSC, devnet bridges to
# every chain (Solana's pools are candidates too).
cat >"$DEVNET_DIR/capital.json" <<'JSON'
{"capital": [{"chain": "ethereum", "usd": 1000000}, {"chain": "bsc", "usd": 500000}],
 "horizon_days": 30,
 "bridges": [{"from": "ethereum", "to": "bsc", "fee_bps": 5, "fixed_usd": 2.0, "eta_s": 600},
             {"from": "bsc", "to": "ethereum", "fee_bps": 5, "fixed_usd": 0.5, "eta_s": 600},
             {"from": "ethereum", "to": "solana", "fee_bps": 5, "fixed_usd": 2.0, "eta_s": 600},
             {"from": "bsc", "to": "solana", "fee_bps": 5, "fixed_usd": 0.5, "eta_s": 600},
             {"from": "solana", "to": "ethereum", "fee_bps": 5, "fixed_usd": 0.1, "eta_s": 600}],
 "gas_usd": {"ethereum": 5.0, "bsc": 0.1, "solana": 0.01},
 "constraints": {"max_per_pool_usd": 250000, "max_chain_share": 0.7, "min_gain_usd": 50}}
JSON
indexer_pid=
stop() {
  trap - INT TERM
  say "stopping the indexer and the devnet"
  if [ -n "$indexer_pid" ]; then kill "$indexer_pid" 2>/dev/null || true; wait "$indexer_pid" 2>/dev/null || true; fi
  "$ATOLL_BIN" devnet down --dir "$DEVNET_DIR"
  exit 0
}
trap stop INT TERM
"$ATOLL_BIN" devnet traffic --dir "$DEVNET_DIR" --swaps 100 --deposits 12 --seed 1
"$ATOLL_BIN" devnet status --dir "$DEVNET_DIR"
say "indexing every chain into $DEVNET_DIR/atoll.db: EVM pools, Solana pools and vault deposits (follows the head)"
"$ATOLL_BIN" index --config "$DEVNET_DIR/devnet.toml" 2>>"$DEVNET_DIR/indexer.log" &
indexer_pid=$!
say "devnet running; config at $DEVNET_DIR/devnet.toml. More traffic every 10 s; Ctrl-C stops everything."
seed=2
while true; do
  sleep 10 & wait $!
  "$ATOLL_BIN" devnet traffic --dir "$DEVNET_DIR" --swaps 20 --deposits 6 --seed "$seed" | head -1
  "$ATOLL_BIN" pools --config "$DEVNET_DIR/devnet.toml" --all 2>/dev/null || true
  "$ATOLL_BIN" relayer list --config "$DEVNET_DIR/devnet.toml" --limit 6 2>/dev/null || true
  "$ATOLL_BIN" route quote --input "$DEVNET_DIR/capital.json" --from-db --config "$DEVNET_DIR/devnet.toml" 2>/dev/null || true
  seed=$((seed + 1))
done
