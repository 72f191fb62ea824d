"""What the chat page keeps beside the conversations: the answers it showed (so a link to a conversation
shows the same turns again, without asking again) and what people said about them ("helpful" / "wrong",
with an optional comment), readable by the operator at GET /api/feedback.

In the same SQLite database as the conversations (settings.conversation_db): in memory for one server
process, or the file the worker processes of `rag serve --workers N` share. Turns expire with their
conversation; feedback is kept.
"""
from __future__ import annotations

import json
import threading
import time

from .conversation import MAX_AGE_SECONDS
from .errors import BadRequest, NotFound
from .sqlite import connect

VERDICTS = ("helpful", "wrong")
MAX_COMMENT_CHARS = 2000
MAX_TURNS_SHOWN = 20
MAX_FEEDBACK = 100_000  # the oldest go beyond this, so that a flood of feedback cannot fill the disk


class FeedbackStore:
    def __init__(self, path: str = ":memory:", max_age: float = MAX_AGE_SECONDS, clock=time.time,
                 max_feedback: int = MAX_FEEDBACK):
        self.max_age = max_age
        self.max_feedback = max_feedback
        self.clock = clock
        self._lock = threading.Lock()
        self._db = connect(path, wal=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS page_turns (conversation TEXT NOT NULL, n INTEGER NOT NULL, "
                         "reply TEXT NOT NULL, created REAL NOT NULL, PRIMARY KEY (conversation, n))")
        self._db.execute("CREATE TABLE IF NOT EXISTS feedback (id INTEGER PRIMARY KEY, conversation TEXT NOT NULL, "
                         "n INTEGER NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL, verdict TEXT NOT NULL, "
                         "comment TEXT NOT NULL, created REAL NOT NULL)")

    # --- the turns a conversation showed ---

    def add_turn(self, conversation: str, reply: dict) -> int:
        """Keep a reply as the conversation's next turn; its number (1, 2, ...)."""
        now = self.clock()
        with self._lock:
            self._db.execute("DELETE FROM page_turns WHERE created < ?", (now - self.max_age,))
            n = self._db.execute("SELECT COALESCE(MAX(n), 0) + 1 FROM page_turns WHERE conversation = ?",
                                 (conversation,)).fetchone()[0]
            self._db.execute("INSERT INTO page_turns VALUES (?, ?, ?, ?)", (conversation, n, json.dumps(reply), now))
        return n

    def turns(self, conversation: str | None, upto: int | None = None) -> list[tuple[int, dict]]:
        """The conversation's turns as (number, reply), oldest first, the last MAX_TURNS_SHOWN up to `upto`."""
        if not conversation:
            return []
        with self._lock:
            rows = self._db.execute(
                "SELECT n, reply FROM page_turns WHERE conversation = ? AND n <= ? AND created >= ? "
                "ORDER BY n DESC LIMIT ?", (conversation, upto if upto is not None else 1 << 62,
                                            self.clock() - self.max_age, MAX_TURNS_SHOWN)).fetchall()
        return [(n, json.loads(reply)) for n, reply in reversed(rows)]

    # --- feedback ---

    def add_feedback(self, conversation: str, n: int, verdict: str, comment: str = "") -> dict:
        if verdict not in VERDICTS:
            raise BadRequest(f"verdict must be one of {', '.join(VERDICTS)} (got {verdict!r}).")
        comment = (comment or "").strip()
        if len(comment) > MAX_COMMENT_CHARS:
            raise BadRequest(f"The comment is {len(comment)} characters; at most {MAX_COMMENT_CHARS}, please.")
        turn = next((reply for m, reply in self.turns(conversation, upto=n) if m == n), None)
        if turn is None:
            raise NotFound(f"There is no answer {n} in that conversation (conversations are kept for "
                           f"{self.max_age / 3600:g} hour). Ask the question again to give feedback on it.")
        now = self.clock()
        with self._lock:
            cur = self._db.execute("INSERT INTO feedback (conversation, n, question, answer, verdict, comment, created) "
                                   "VALUES (?, ?, ?, ?, ?, ?, ?)", (conversation, n, turn["question"],
                                                                    turn.get("answer") or "", verdict, comment, now))
            self._db.execute("DELETE FROM feedback WHERE id <= ?", (cur.lastrowid - self.max_feedback,))
        return {"id": cur.lastrowid, "conversation_id": conversation, "turn": n, "question": turn["question"],
                "verdict": verdict, "comment": comment, "created": now}

    def feedback(self, limit: int = 500) -> list[dict]:
        """The newest feedback first."""
        with self._lock:
            rows = self._db.execute("SELECT id, conversation, n, question, answer, verdict, comment, created "
                                    "FROM feedback ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        keys = ("id", "conversation_id", "turn", "question", "answer", "verdict", "comment", "created")
        return [dict(zip(keys, row)) for row in rows]
