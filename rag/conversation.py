"""Conversations: what a follow-up question ("and for safeguarding?") inherits from the turns before it.

Kept on the server, bounded in number and age, keyed by an unguessable id the page carries. The store
is SQLite: in memory for one server process, or a file shared by the worker processes of
`rag serve --workers N`, so a follow-up finds its conversation whichever worker takes it.
"""
from __future__ import annotations

import json
import re
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass, field

from .text import tokenize

MAX_CONVERSATIONS = 1000
MAX_AGE_SECONDS = 3600
MAX_TURNS = 20

_FOLLOW_UP = re.compile(r"^\s*(and|also|what about|how about|and what about|same for|what of)\b", re.I)


@dataclass
class Conversation:
    id: str
    council: str | None = None
    questions: list[str] = field(default_factory=list)


def is_follow_up(question: str) -> bool:
    """Elliptical questions lean on the one before: "and for safeguarding?", "what about carers?"."""
    return bool(_FOLLOW_UP.match(question)) or len(tokenize(question)) <= 2


class ConversationStore:
    def __init__(self, path: str = ":memory:", max_conversations: int = MAX_CONVERSATIONS,
                 max_age: float = MAX_AGE_SECONDS):
        self.max_conversations = max_conversations
        self.max_age = max_age
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=10, isolation_level=None)
        if path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS conversations (id TEXT PRIMARY KEY, council TEXT, "
                         "questions TEXT NOT NULL, touched REAL NOT NULL)")
        self._db.execute("CREATE INDEX IF NOT EXISTS by_age ON conversations (touched)")

    def get_or_create(self, conversation_id: str | None) -> Conversation:
        """The conversation with this id, or a new one if the id is unknown or expired."""
        now = time.time()
        with self._lock:
            self._db.execute("DELETE FROM conversations WHERE touched < ?", (now - self.max_age,))
            row = self._db.execute("SELECT id, council, questions FROM conversations WHERE id = ?",
                                   (conversation_id or "",)).fetchone()
            if row:
                self._db.execute("UPDATE conversations SET touched = ? WHERE id = ?", (now, row[0]))
                return Conversation(row[0], row[1], json.loads(row[2]))
            conv = Conversation(secrets.token_urlsafe(16))
            self._db.execute("INSERT INTO conversations VALUES (?, NULL, '[]', ?)", (conv.id, now))
            self._db.execute("DELETE FROM conversations WHERE id IN (SELECT id FROM conversations "
                             "ORDER BY touched DESC LIMIT -1 OFFSET ?)", (self.max_conversations,))
            return conv

    def record(self, conv: Conversation, question: str, council: str | None) -> None:
        conv.questions = (conv.questions + [question])[-MAX_TURNS:]
        conv.council = council or conv.council
        with self._lock:
            self._db.execute("UPDATE conversations SET council = ?, questions = ?, touched = ? WHERE id = ?",
                             (conv.council, json.dumps(conv.questions), time.time(), conv.id))

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM conversations").fetchone()[0]
