# Shared by scripts/demo.sh and scripts/test.sh: environment, system packages, tools.
# Everything installed goes to caches under $HOME, never into the clone.

export ATOLL_HOME="${ATOLL_HOME:-$HOME/.cache/atoll}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ATOLL_HOME/target}"
ATOLL_BIN="$CARGO_TARGET_DIR/debug/atoll"

say() { printf '\n==> %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "need root for: $* (install it, or run as root)" >&2; return 1; fi
}

# Debian packages: the agave-validator build needs libclang, protoc and libudev headers.
ensure_system_packages() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

check_toolchain() {
  command -v cargo >/dev/null || { echo "cargo not found: install Rust (https://rustup.rs)" >&2; exit 1; }
  command -v node >/dev/null && command -v npm >/dev/null || { echo "node/npm not found: install Node.js 20+" >&2; exit 1; }
}

build_atoll() {
  say "building atoll (target dir $CARGO_TARGET_DIR)"
  cargo build --locked --bin atoll
}

# What both README commands need before they run anything: toolchain, the binary, the tools.
prepare() {
  check_toolchain
  build_atoll
  install_tools
}

install_tools() {
  # Anza's list of build dependencies for agave.
  ensure_system_packages libclang-dev clang llvm protobuf-compiler libprotobuf-dev libudev-dev pkg-config libssl-dev zlib1g-dev cmake make
  say "installing pinned tools into $ATOLL_HOME (first run: solana-test-validator builds for 45+ minutes)"
  "$ATOLL_BIN" tools install
}
