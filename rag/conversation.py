"""Conversations: the previous turn's Query and answer, which a follow-up ("and for safeguarding?") resolves against.

Kept on the server, bounded in number and age, keyed by an unguessable id the page carries. The store
is SQLite: in memory for one server process, or a file shared by the worker processes of
`rag serve --workers N`, so a follow-up finds its conversation whichever worker takes it.
"""
from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass, field

from .sqlite import connect

MAX_CONVERSATIONS = 1000
MAX_PER_CLIENT = 20  # one client address's conversations: its own oldest go first, not everyone else's
MAX_AGE_SECONDS = 3600
MAX_TURNS = 20


@dataclass
class Conversation:
    id: str
    questions: list[str] = field(default_factory=list)
    last_query: dict | None = None  # the previous turn's Query, as JSON
    last_answer: tuple[str, int, int] | None = None  # (doc, start, end) of the previous turn's quote


class ConversationStore:
    clock = staticmethod(time.time)  # seconds; a test sets store.clock to one it moves
    def __init__(self, path: str = ":memory:", max_conversations: int = MAX_CONVERSATIONS,
                 max_age: float = MAX_AGE_SECONDS, max_per_client: int = MAX_PER_CLIENT):
        self.max_conversations = max_conversations
        self.max_per_client = max_per_client
        self.max_age = max_age
        self._lock = threading.Lock()
        self._db = connect(path)
        self._db.execute("CREATE TABLE IF NOT EXISTS turns (id TEXT PRIMARY KEY, questions TEXT NOT NULL, "
                         "last_query TEXT, last_answer TEXT, touched REAL NOT NULL)")
        self._db.execute("CREATE INDEX IF NOT EXISTS turns_by_age ON turns (touched)")
        try:  # the client address that started it (a store file from before had no such column)
            self._db.execute("ALTER TABLE turns ADD COLUMN client TEXT")
        except sqlite3.OperationalError:
            pass
        self._db.execute("CREATE INDEX IF NOT EXISTS turns_by_client ON turns (client, touched)")

    def get_or_create(self, conversation_id: str | None, client: str | None = None) -> Conversation:
        """The conversation with this id, or a new one if the id is unknown or expired. A client (its
        address) starting one past its share loses its own oldest; the total is bounded too."""
        now = self.clock()
        with self._lock:
            self._db.execute("DELETE FROM turns WHERE touched < ?", (now - self.max_age,))
            row = self._db.execute("SELECT id, questions, last_query, last_answer FROM turns WHERE id = ?",
                                   (conversation_id or "",)).fetchone()
            if row:
                self._db.execute("UPDATE turns SET touched = ? WHERE id = ?", (now, row[0]))
                answer = json.loads(row[3]) if row[3] else None
                return Conversation(row[0], json.loads(row[1]), json.loads(row[2]) if row[2] else None,
                                    tuple(answer) if answer else None)
            conv = Conversation(secrets.token_urlsafe(16))
            if client is not None:
                self._db.execute("DELETE FROM turns WHERE id IN (SELECT id FROM turns WHERE client = ? "
                                 "ORDER BY touched DESC LIMIT -1 OFFSET ?)", (client, self.max_per_client - 1))
            self._db.execute("INSERT INTO turns (id, questions, last_query, last_answer, touched, client) "
                             "VALUES (?, '[]', NULL, NULL, ?, ?)", (conv.id, now, client))
            self._db.execute("DELETE FROM turns WHERE id IN (SELECT id FROM turns "
                             "ORDER BY touched DESC LIMIT -1 OFFSET ?)", (self.max_conversations,))
            return conv

    def record(self, conv: Conversation, query, answer: tuple[str, int, int] | None) -> None:
        """Written after the answer is made: the turn's Query and the span it quoted."""
        conv.questions = (conv.questions + [query.text])[-MAX_TURNS:]
        conv.last_query, conv.last_answer = query.json(), answer
        with self._lock:
            self._db.execute("UPDATE turns SET questions = ?, last_query = ?, last_answer = ?, touched = ? WHERE id = ?",
                             (json.dumps(conv.questions), json.dumps(conv.last_query),
                              json.dumps(list(answer)) if answer else None, self.clock(), conv.id))

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM turns").fetchone()[0]
