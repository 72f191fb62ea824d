"""The few types everything shares (see DESIGN.md)."""
from __future__ import annotations

from dataclasses import dataclass, field

SECTION_SEP = " › "


@dataclass(frozen=True)
class Document:
    id: str  # stable slug from the file name
    title: str
    councils: tuple[str, ...]
    kind: str  # "assessment" | "news"
    date: str | None  # ISO date where the text gives it
    path: str
    text: str
    sha256: str
    format: str = "markdown"  # what the file was: markdown | text | html | pdf (text is then extracted from it)
    page_starts: tuple[int, ...] = ()  # a PDF's page map: page i+1 begins at text offset page_starts[i]

    def meta(self) -> dict:
        """What the API shows: the file's name, not where it lies on the server."""
        from pathlib import PurePath

        return {"id": self.id, "title": self.title, "councils": list(self.councils), "kind": self.kind,
                "date": self.date, "file": PurePath(self.path).name, "sha256": self.sha256,
                "format": self.format, "pages": len(self.page_starts) or None}


@dataclass(frozen=True)
class Passage:
    doc_id: str
    section: tuple[str, ...]  # heading path, outermost first
    start: int  # offsets into Document.text: the passage is text[start:end], never rewritten
    end: int
    councils: tuple[str, ...] = ()  # the councils the passage is about (see councils.passage_councils)
    pages: tuple[int, ...] = ()  # the pages of the original (a PDF) the passage lies on; () for other formats

    @property
    def section_label(self) -> str:
        return SECTION_SEP.join(self.section)


@dataclass
class Hit:
    passage: Passage
    text: str
    score: float  # the fused score that ranked it
    scores: dict[str, float] = field(default_factory=dict)  # per ranker: {"bm25": .., "dense": ..}
