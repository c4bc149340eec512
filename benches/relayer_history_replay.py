#!/usr/bin/env python3
"""Replays the store writes an EVM executor makes for N releases, in SQLite, two ways: one
history row per transfer per move (before migration 8) and one per release transaction (now).

Same schema (a database `atoll migrate` made), same pragmas as the store (WAL, synchronous
NORMAL, 64 MiB cache, foreign keys on), same shape as the bench: transfers signed 256 to a
transaction, 32 transactions a step, each step's signing in one commit and each later move
(broadcast, included, confirmed) in one commit. Prints seconds and µs per release.

    atoll migrate --database-url "sqlite:///tmp/replay-schema.db?mode=rwc"
    python3 benches/relayer_history_replay.py /tmp/replay-schema.db
"""
import os
import random
import sqlite3
import sys
import time

N, PER_TX, TXS = 50_000, 256, 32


def replay(schema: str, per_transaction: bool) -> float:
    random.seed(1)
    db = "/tmp/atoll-history-replay.db"
    for f in (db, db + "-wal", db + "-shm"):
        if os.path.exists(f):
            os.remove(f)
    # The backup API, not a file copy: the schema may still sit in the source's WAL.
    c = sqlite3.connect(db, isolation_level=None)
    with sqlite3.connect(schema) as source:
        source.backup(c)
    for p in ("journal_mode=WAL", "synchronous=NORMAL", "cache_size=-65536",
              "temp_store=memory", "wal_autocheckpoint=10000", "foreign_keys=ON"):
        c.execute("PRAGMA " + p)
    ids = ["0x%064x" % random.getrandbits(256) for _ in range(N)]
    c.execute("BEGIN")
    for i, t in enumerate(ids):
        c.execute(
            "INSERT INTO transfers (id, source_chain_id, source_tx, source_index, source_block,"
            " dest_chain_id, source_token, dest_token, sender, recipient, amount_in, amount_out,"
            " fee, status, created_at_ms, updated_at_ms)"
            " VALUES (?,1,?,0,100,56,?,?,?,?,'1500000000000000000','1499000','1000',"
            " 'source_final',?,?)",
            (t, "0x%064x" % random.getrandbits(256), "0x" + "a" * 40, "0x" + "b" * 40,
             "0x" + "c" * 40, "0x" + "d" * 40, 1_000_000 + i, 1_000_000 + i))
    c.execute("COMMIT")
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = "0x" + "ab" * (PER_TX * 128 + 100)

    def move(chunk, frm, to, tx_hash, reason):
        marks = ",".join("?" * len(chunk))
        n = c.execute(
            f"UPDATE transfers SET status=?, failure_reason=NULL, updated_at_ms=?"
            f" WHERE id IN ({marks}) AND status||''=?", [to, 1] + chunk + [frm]).rowcount
        assert n == len(chunk)
        sql = ("INSERT INTO transfer_history (transfer_id, from_status, to_status, reason,"
               " at_ms, tx_hash, transfer_ids) VALUES (?,?,?,?,?,?,?)")
        if per_transaction:
            c.execute(sql, (chunk[0], frm, to, reason, 1, tx_hash, ",".join(chunk)))
        else:
            c.executemany(sql, [(t, frm, to, reason, 1, None, None) for t in chunk])

    started = time.time()
    nonce = 0
    for start in range(0, N, PER_TX * TXS):
        step = ids[start:start + PER_TX * TXS]
        txs = [("0x%064x" % random.getrandbits(256), step[k:k + PER_TX])
               for k in range(0, len(step), PER_TX)]
        c.execute("BEGIN")
        for h, chunk in txs:
            nonce += 1
            c.execute(
                "INSERT INTO release_txs (chain_id, nonce, tx_hash, raw_tx, gas_limit,"
                " max_fee_per_gas, priority_fee, releases, status, created_at_ms)"
                " VALUES (56,?,?,?,1,'1','1',?,'pending',1)", (nonce, h, raw, len(chunk)))
            move(chunk, "source_final", "signed", h, f"signed {h} (nonce {nonce})")
            c.executemany(
                "INSERT INTO transfer_attempts (transfer_id, chain_id, nonce, tx_hash, raw_tx,"
                " max_fee_per_gas, priority_fee, status, created_at_ms)"
                " VALUES (?,56,?,?,'','1','1','signed',1)", [(t, nonce, h) for t in chunk])
        c.execute("COMMIT")
        for frm, to in (("signed", "broadcast"), ("broadcast", "included"),
                        ("included", "confirmed")):
            c.execute("BEGIN")
            for h, chunk in txs:
                move(chunk, frm, to, h, f"{to} by {h}")
            c.execute("COMMIT")
    return time.time() - started


if __name__ == "__main__":
    schema = sys.argv[1] if len(sys.argv) > 1 else "/tmp/replay-schema.db"
    for label, per_transaction in (("one history row per transfer", False),
                                   ("one history row per transaction", True)):
        s = replay(schema, per_transaction)
        print(f"{label}: {s:.2f} s for {N} releases = {s * 1e6 / N:.1f} µs per release")
