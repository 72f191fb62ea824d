"""The one way the stores shared by server workers open their SQLite file (conversations, rate limits, feedback)."""
from __future__ import annotations

import sqlite3
import time

BUSY_SECONDS = 10.0  # how long a store waits for another worker holding the file


def connect(path: str = ":memory:", wal: bool = True) -> sqlite3.Connection:
    """A connection in autocommit mode usable from any thread, waiting up to BUSY_SECONDS for a lock. With `wal`, a
    file is switched to write-ahead logging (readers and a writer at once): the switch needs the file to itself and
    SQLite does not wait for it, so two workers starting together ("database is locked") try again until it is free.
    A file in write-ahead logging is synced at its checkpoints, not at every commit."""
    db = sqlite3.connect(path, check_same_thread=False, timeout=BUSY_SECONDS, isolation_level=None)
    if wal and path != ":memory:":
        deadline = time.monotonic() + BUSY_SECONDS
        while True:
            try:
                db.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
    if path != ":memory:" and db.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
        # In WAL mode NORMAL still never corrupts the file: a commit is not synced to disk on its own (the log is,
        # at each checkpoint), so a power cut can lose the last commits, here conversations, rate-limit buckets and
        # the latest feedback; no process crash can. FULL made every /api/ask wait for several fsyncs, with the
        # event loop held.
        db.execute("PRAGMA synchronous=NORMAL")
    return db
