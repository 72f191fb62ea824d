"""Conversations: what a follow-up question ("and for safeguarding?") inherits from the turns before it.

Kept in memory on the server, bounded in number and age, keyed by an unguessable id the page carries.
"""
from __future__ import annotations

import re
import secrets
import threading
import time
from collections import OrderedDict
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
    touched: float = field(default_factory=time.monotonic)


def is_follow_up(question: str) -> bool:
    """Elliptical questions lean on the one before: "and for safeguarding?", "what about carers?"."""
    return bool(_FOLLOW_UP.match(question)) or len(tokenize(question)) <= 2


class ConversationStore:
    def __init__(self, max_conversations: int = MAX_CONVERSATIONS, max_age: float = MAX_AGE_SECONDS):
        self.max_conversations = max_conversations
        self.max_age = max_age
        self._items: OrderedDict[str, Conversation] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_create(self, conversation_id: str | None) -> Conversation:
        now = time.monotonic()
        with self._lock:
            while self._items:  # drop the expired, oldest first
                oldest = next(iter(self._items.values()))
                if now - oldest.touched <= self.max_age:
                    break
                self._items.popitem(last=False)
            conv = self._items.get(conversation_id or "")
            if conv is None:
                conv = Conversation(secrets.token_urlsafe(16))
                self._items[conv.id] = conv
                while len(self._items) > self.max_conversations:
                    self._items.popitem(last=False)
            conv.touched = now
            self._items.move_to_end(conv.id)
            return conv

    def record(self, conv: Conversation, question: str, council: str | None) -> None:
        with self._lock:
            conv.questions = (conv.questions + [question])[-MAX_TURNS:]
            if council:
                conv.council = council

    def __len__(self) -> int:
        return len(self._items)
