#!/usr/bin/env python3
"""What one block costs anvil as its state grows: the wall time of `evm_mine` for an empty
block, and for one block that writes the next batch of storage slots, at 0 to 150,000 written
slots. This is why the relayer's run costs anvil more than the ceiling's: every block pays for a
state root over the whole state, and the relayer's run mines more blocks (smaller steps, and two
more for finality) than the ceiling's pre-signed stream does.

Starts its own anvil (the devnet's version and flags) on a free loopback port and stops it.

    python3 benches/anvil_block_cost.py [path/to/anvil]

Without a path, the anvil that `atoll` installed under $ATOLL_HOME (default ~/.cache/atoll)
is used.
"""
import glob
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

# Runtime code: SSTORE(i, 1) for i in [start, start + n), start and n the two calldata words.
WRITER = "60203560003501600035" "5b" "6001" "81" "55" "6001" "01" "81" "81" "10" "600a" "57" "00"
WRITER_AT = "0x00000000000000000000000000000000000000c0"
SLOTS_PER_TX = 400  # 20,000 gas each: about 8.4 M gas a transaction, 63 of them a block


def find_anvil() -> str:
    if len(sys.argv) > 1:
        return sys.argv[1]
    home = os.environ.get("ATOLL_HOME", os.path.expanduser("~/.cache/atoll"))
    found = glob.glob(f"{home}/node/*/node_modules/@foundry-rs/anvil-linux-*/bin/anvil")
    if not found:
        sys.exit(f"no anvil under {home}/node (run `atoll devnet up` once, or pass its path)")
    return found[0]


def main() -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    anvil = subprocess.Popen(
        [find_anvil(), "--host", "127.0.0.1", "--port", str(port), "--chain-id", "56",
         "--accounts", "2", "--slots-in-an-epoch", "1", "--no-request-size-limit",
         "--gas-limit", "600000000"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"

    def rpc(method, params=()):
        body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)})
        req = urllib.request.Request(url, body.encode(), {"Content-Type": "application/json"})
        answer = json.load(urllib.request.urlopen(req))
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer["result"]

    def mined_ms() -> float:
        started = time.perf_counter()
        rpc("evm_mine")
        return (time.perf_counter() - started) * 1000

    try:
        for _ in range(100):
            try:
                rpc("eth_chainId")
                break
            except OSError:
                time.sleep(0.1)
        rpc("anvil_setCode", [WRITER_AT, "0x" + WRITER])
        account = rpc("eth_accounts")[0]
        rpc("evm_setAutomine", [False])
        written = 0
        print(f"{'written slots':>14} {'block writing 25,000 more':>27} {'empty block':>12}")
        print(f"{written:>14} {'-':>27} {min(mined_ms() for _ in range(3)):>9.1f} ms")
        for target in range(25_000, 150_001, 25_000):
            while written < target:
                data = "0x%064x%064x" % (written, SLOTS_PER_TX)
                rpc("eth_sendTransaction",
                    [{"from": account, "to": WRITER_AT, "data": data, "gas": hex(12_000_000)}])
                written += SLOTS_PER_TX
            full = mined_ms()
            last = rpc("eth_getStorageAt", [WRITER_AT, hex(written - 1), "latest"])
            assert int(last, 16) == 1, "the writes did not land"
            empty = min(mined_ms() for _ in range(3))
            print(f"{written:>14} {f'{full:.0f} ms':>27} {empty:>9.1f} ms")
    finally:
        anvil.kill()


if __name__ == "__main__":
    main()
