#!/usr/bin/env bash
# The main job: `atoll demo`, the whole stack on the local devnet. It installs what it needs
# (pinned, into caches under $HOME), builds atoll, then starts Ethereum and BSC on anvil and
# Solana on solana-test-validator with real pools and the bridge, indexes them, runs the relayer
# and serves the API with traffic every few seconds. It prints the GraphiQL URL and example
# queries; Ctrl-C stops everything it started. Extra arguments go to `atoll demo`
# (`scripts/demo.sh --listen 127.0.0.1:9000`).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

prepare
exec "$ATOLL_BIN" demo "$@"
