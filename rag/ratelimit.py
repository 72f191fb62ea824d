"""The rate limit's memory: one token bucket per client address, in SQLite.

One store for every worker: `rag serve --workers N` points them all at one SQLite file (the one the
conversations live in), so N workers allow what one would, not N times it. Each request is one UPSERT
statement, atomic across processes. Time comes from a clock the store is given, so tests move it.
"""
from __future__ import annotations

import threading
import time

from .sqlite import connect

# Refill and take one token in one statement. SQLite evaluates every SET expression on the old row.
_TAKE = """
INSERT INTO rate_limit (client, tokens, at, ok) VALUES (:client, :burst - 1, :now, 1)
ON CONFLICT (client) DO UPDATE SET
    tokens = min(:burst, tokens + max(0, :now - at) * :rate)
             - (min(:burst, tokens + max(0, :now - at) * :rate) >= 1),
    ok = min(:burst, tokens + max(0, :now - at) * :rate) >= 1,
    at = :now
RETURNING tokens, ok
"""


class RateStore:
    """`per_minute` requests a minute per client on average, in bursts of up to a fifth of that."""

    PRUNE_EVERY = 1000  # requests between sweeps of buckets that have refilled (the same as no bucket)

    def __init__(self, path: str = ":memory:", per_minute: int = 600, clock=time.time):
        self.rate = per_minute / 60.0
        self.burst = max(1.0, per_minute / 5)
        self.clock = clock
        self._lock = threading.Lock()
        self._count = 0
        self._db = connect(path)
        if path != ":memory:":
            self._db.execute("PRAGMA synchronous=OFF")  # buckets are not worth an fsync; a crash only forgets them
        self._db.execute("CREATE TABLE IF NOT EXISTS rate_limit (client TEXT PRIMARY KEY, tokens REAL NOT NULL, "
                         "at REAL NOT NULL, ok INTEGER NOT NULL)")

    def take(self, client: str) -> float:
        """0 if the client may go ahead now (a token is taken), else the seconds until it may."""
        now = self.clock()
        with self._lock:
            tokens, ok = self._db.execute(_TAKE, {"client": client, "burst": self.burst, "now": now,
                                                  "rate": self.rate}).fetchone()
            self._count += 1
            if self._count % self.PRUNE_EVERY == 0:
                self._db.execute("DELETE FROM rate_limit WHERE at < ?", (now - self.burst / self.rate,))
        return 0.0 if ok else (1 - tokens) / self.rate

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM rate_limit").fetchone()[0]
