#!/usr/bin/env python3
"""Replays the store's reads and writes an EVM executor makes for N releases, in SQLite, and
prints the process CPU time per release, in all and per phase, for several store layouts:

- `history-per-transfer`: one history row per transfer per move (before migration 8);
- `now`: the schema and statements of today's store (one history row per release transaction);
- `partial-indexes`: the queue index replaced by partial indexes, one per waiting status, and
  one on the in-flight statuses (the status written as a literal, so SQLite can use them);
- `two-moves`: a batch's in-flight progress (`broadcast`, `included`) kept on its
  `release_txs` row and in its history row; the transfer rows move only to `signed` and to
  `confirmed`;
- `two-moves+partial-indexes`: both.

Only `history-per-transfer` and `now` exist in the store; the others measure changes not built.
Same schema (a database `atoll migrate` made), same pragmas as the store (WAL, synchronous
NORMAL, 64 MiB cache, foreign keys on), same shape as the bench: transfers signed 256 to a
transaction, 32 transactions a step; each step reads its queue (8,192 rows) and the amounts in
flight, writes its signing in one commit and each later move in one commit.

    atoll migrate --database-url "sqlite:///tmp/replay-schema.db?mode=rwc"
    python3 benches/relayer_history_replay.py /tmp/replay-schema.db [VARIANT,… [ROUNDS]]
"""
import collections
import os
import random
import sqlite3
import sys
import time

N, PER_TX, TXS = 50_000, 256, 32
PARTIAL_INDEXES = [
    "DROP INDEX ix_transfers_dest_status_age",
    "CREATE INDEX ix_queue_source_final ON transfers(dest_chain_id, created_at_ms, id)"
    " WHERE status = 'source_final'",
    "CREATE INDEX ix_queue_awaiting ON transfers(dest_chain_id, created_at_ms, id)"
    " WHERE status = 'awaiting_liquidity'",
]
# Per variant: extra DDL, the queue's status condition, the in-flight condition, whether the
# in-flight moves are written on the transaction's row instead of its transfers' rows, and
# whether a move's history is one row per transaction (else one per transfer).
VARIANTS = {
    "history-per-transfer": ([], "status = ?", "status IN ('signed','broadcast')", False, False),
    "now": ([], "status = ?", "status IN ('signed','broadcast')", False, True),
    "partial-indexes": (
        PARTIAL_INDEXES + ["CREATE INDEX ix_in_flight ON transfers(dest_chain_id)"
                           " WHERE status IN ('signed','broadcast')"],
        "status = 'source_final'", "status IN ('signed','broadcast')", False, True),
    "two-moves": ([], "status = ?", "status = 'signed'", True, True),
    "two-moves+partial-indexes": (
        PARTIAL_INDEXES + ["CREATE INDEX ix_in_flight ON transfers(dest_chain_id)"
                           " WHERE status = 'signed'"],
        "status = 'source_final'", "status = 'signed'", True, True),
}
HISTORY = ("INSERT INTO transfer_history (transfer_id, from_status, to_status, reason, at_ms,"
           " tx_hash, transfer_ids) VALUES (?,?,?,?,?,?,?)")


def replay(schema: str, variant: str, phases: collections.Counter) -> float:
    ddl, queue_status, in_flight, moves_on_tx, per_transaction = VARIANTS[variant]
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
    for statement in ddl:
        c.execute(statement)
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
    queue_sql = (f"SELECT * FROM transfers WHERE dest_chain_id = 56 AND {queue_status}"
                 " ORDER BY created_at_ms, id LIMIT ?")
    queue_args = (["source_final"] if "?" in queue_status else []) + [PER_TX * TXS]
    in_flight_sql = ("SELECT id, dest_token, amount_out FROM transfers"
                     f" WHERE dest_chain_id = 56 AND {in_flight}")

    def move(chunk, frm, to, tx_hash, reason):
        marks = ",".join("?" * len(chunk))
        n = c.execute(
            f"UPDATE transfers SET status=?, failure_reason=NULL, updated_at_ms=?"
            f" WHERE id IN ({marks}) AND status||''=?", [to, 1] + chunk + [frm]).rowcount
        assert n == len(chunk)
        if per_transaction:
            c.execute(HISTORY, (chunk[0], frm, to, reason, 1, tx_hash, ",".join(chunk)))
        else:
            c.executemany(HISTORY, [(t, frm, to, reason, 1, None, None) for t in chunk])

    def move_on_tx(chunk, frm, to, tx_hash, reason):
        c.execute("UPDATE release_txs SET status=? WHERE tx_hash=?", (to, tx_hash))
        c.execute(HISTORY, (chunk[0], frm, to, reason, 1, tx_hash, ",".join(chunk)))

    def timed(phase, work):
        t0 = time.process_time()
        work()
        phases[phase] += time.process_time() - t0

    phases.clear()
    started = time.process_time()
    nonce = 0
    released = 0
    while released < N:
        step = []
        timed("queue", lambda: step.extend(r[0] for r in c.execute(queue_sql, queue_args)))
        timed("in flight", lambda: c.execute(in_flight_sql).fetchall())
        released += len(step)
        txs = [("0x%064x" % random.getrandbits(256), step[k:k + PER_TX])
               for k in range(0, len(step), PER_TX)]

        def sign():
            nonlocal nonce
            c.execute("BEGIN")
            for h, chunk in txs:
                nonce += 1
                c.execute(
                    "INSERT INTO release_txs (chain_id, nonce, tx_hash, raw_tx, gas_limit,"
                    " max_fee_per_gas, priority_fee, releases, status, created_at_ms)"
                    " VALUES (56,?,?,?,1,'1','1',?,'pending',1)", (nonce, h, raw, len(chunk)))
                move(chunk, "source_final", "signed", h, f"signed {h} (nonce {nonce})")
                c.executemany(
                    "INSERT INTO transfer_attempts (transfer_id, chain_id, nonce, tx_hash,"
                    " raw_tx, max_fee_per_gas, priority_fee, status, created_at_ms)"
                    " VALUES (?,56,?,?,'','1','1','signed',1)", [(t, nonce, h) for t in chunk])
            c.execute("COMMIT")
        timed("signed", sign)
        if moves_on_tx:
            later = (("signed", "broadcast", move_on_tx), ("signed", "included", move_on_tx),
                     ("signed", "confirmed", move))
        else:
            later = (("signed", "broadcast", move), ("broadcast", "included", move),
                     ("included", "confirmed", move))
        for frm, to, how in later:
            def write():
                c.execute("BEGIN")
                for h, chunk in txs:
                    how(chunk, frm, to, h, f"{to} by {h}")
                c.execute("COMMIT")
            timed(to, write)
    confirmed = c.execute("SELECT count(*) FROM transfers WHERE status = 'confirmed'")
    assert confirmed.fetchone()[0] == N
    return time.process_time() - started


if __name__ == "__main__":
    schema = sys.argv[1] if len(sys.argv) > 1 else "/tmp/replay-schema.db"
    variants = [v for v in (sys.argv[2] if len(sys.argv) > 2 else "").split(",") if v]
    variants = variants or list(VARIANTS)
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        sys.exit(f"unknown variant(s) {', '.join(unknown)}; known: {', '.join(VARIANTS)}")
    phases = collections.Counter()
    for _ in range(rounds):
        for variant in variants:
            s = replay(schema, variant, phases)
            detail = " ".join(f"{k} {v * 1e6 / N:.1f}" for k, v in phases.items())
            print(f"{variant}: {s:.2f} s CPU for {N} releases = {s * 1e6 / N:.1f} µs per"
                  f" release ({detail})", flush=True)
