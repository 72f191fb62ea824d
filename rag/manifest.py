"""The schema of an index build's manifest.json, checked before anything else in the build is trusted.

A manifest that is not what `rag index` writes (a field missing or of the wrong type, `[]`, a file
list without the data files) is refused with one line naming the file and the command to run, never a
KeyError from deep inside the loader. Fields added by later versions are kept (extra="allow").
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import IndexDamaged

SHA256 = r"^[0-9a-f]{64}$"


class _Part(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class ModelInfo(_Part):
    name: str = Field(min_length=1)
    dimension: int = Field(gt=0)


class ChunkingInfo(_Part):
    version: int
    target_chars: int = Field(gt=0)
    max_chars: int = Field(gt=0)


class DocumentEntry(_Part):
    id: str = Field(min_length=1)
    path: str
    sha256: str = Field(pattern=SHA256)
    key: str = Field(min_length=1)
    passages: int = Field(ge=0)


class Manifest(_Part):
    format_version: int
    model: ModelInfo
    chunking: ChunkingInfo
    documents: list[DocumentEntry]
    tokenizer: int | str
    passage_count: int = Field(ge=0)
    vectors: bool
    built_at: str
    files: dict[str, str]

    # The files every build has; the loader checks each against its checksum here.
    REQUIRED_FILES: ClassVar[tuple[str, ...]] = ("documents.json", "passages.json", "bm25.json")

    @model_validator(mode="after")
    def _consistent(self) -> "Manifest":
        missing = [name for name in self.REQUIRED_FILES if name not in self.files]
        if missing:
            raise ValueError(f"files lacks {', '.join(missing)}")
        if any(not isinstance(v, str) or len(v) != 64 for v in self.files.values()):
            raise ValueError("files must map each file name to its SHA-256")
        if sum(d.passages for d in self.documents) != self.passage_count:
            raise ValueError("the documents' passage counts do not add up to passage_count")
        return self


def _short(exc: ValidationError) -> str:
    problems = []
    for e in exc.errors()[:3]:
        loc = ".".join(str(p) for p in e["loc"])
        problems.append(f"{loc}: {e['msg']}" if loc else e["msg"])
    more = len(exc.errors()) - 3
    return "; ".join(problems) + (f"; and {more} more" if more > 0 else "")


def read_manifest(path: Path, rebuild: str, format_version: int) -> tuple[dict, Manifest]:
    """The manifest at `path` as written (a dict, for callers) and as checked. IndexDamaged, one line
    naming the file and ending with `rebuild` (the command to run), if it is unreadable, of another
    format version or invalid."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise IndexDamaged(f"The index manifest {path} is missing or unreadable ({exc.__class__.__name__}). {rebuild}")
    if isinstance(raw, dict) and "format_version" in raw and raw["format_version"] != format_version:
        raise IndexDamaged(f"The index manifest {path} has format {raw['format_version']!s:.20}, this version "
                           f"reads format {format_version}. {rebuild}")
    try:
        return raw, Manifest.model_validate(raw)
    except ValidationError as exc:
        raise IndexDamaged(f"The index manifest {path} is not valid ({_short(exc)}). {rebuild}") from None
