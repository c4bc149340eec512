#!/usr/bin/env bash
# Benchmark (b) of issue 3: index, from an empty database, the swaps `atoll devnet traffic`
# made on a fresh EVM devnet. Uses the release binary; prints the indexer's summary per chain
# (events/s, blocks/s) and the wall time of the whole `atoll index --once`.
#
#   benches/index_e2e.sh [SWAPS] [SWAPS_PER_TX]     (defaults: 100000 100)
set -euo pipefail
cd "$(dirname "$0")/.."
export ATOLL_HOME="${ATOLL_HOME:-$HOME/.cache/atoll}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ATOLL_HOME/target}"
SWAPS="${1:-100000}"
PER_TX="${2:-100}"
cargo build --release --locked --quiet
ATOLL="$CARGO_TARGET_DIR/release/atoll"
"$ATOLL" tools install --no-validator >/dev/null
DIR="$(mktemp -d)"
trap '"$ATOLL" devnet down --dir "$DIR" >/dev/null; rm -rf "$DIR"' EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$ATOLL" devnet up --dir "$DIR" --no-solana --base-port "$PORT" >/dev/null
"$ATOLL" devnet traffic --dir "$DIR" --swaps "$SWAPS" --burst "$PER_TX" | tail -1
export RUST_LOG=warn
/usr/bin/time -f "atoll index --once: %e s wall, %M KiB max RSS" \
  "$ATOLL" index --config "$DIR/devnet.toml" --once --database-url "sqlite://$DIR/bench.db?mode=rwc"
