"""Report files as text: Markdown and plain text as they are; a saved web page or a PDF turned into
Markdown-like text (headings as `#` lines, list items as `- ` lines, table rows as `a | b` lines), so
that chunking, records and answers read every format alike and a passage is always `text[start:end]`.

One entry point, `extract(data, kind, name)`, and `sniff(data)` to tell the kind from the content.
"""
from __future__ import annotations

import bisect
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import UnsupportedFile

log = logging.getLogger(__name__)

EXTRACTOR_VERSION = 1  # bump when html.py or pdf.py would extract the same file differently

# File name endings by kind. "markdown" and "text" are read as they are; "html" and "pdf" are extracted.
EXTENSIONS = {".md": "markdown", ".markdown": "markdown", ".txt": "text", ".html": "html", ".htm": "html",
              ".pdf": "pdf"}
MEDIA_TYPES = {"markdown": "text/markdown; charset=utf-8", "text": "text/plain; charset=utf-8",
               "html": "text/html; charset=utf-8", "pdf": "application/pdf"}


@dataclass(frozen=True)
class Extracted:
    text: str
    headings: int  # headings recovered; 0 means the structure could not be recovered
    page_starts: tuple[int, ...] = ()  # PDF: page_starts[i] is the offset in text where page i+1 begins


def page_span(page_starts: tuple[int, ...], start: int, end: int) -> tuple[int, ...]:
    """The pages (1-based) that text[start:end] lies on; () for a text without pages."""
    if not page_starts:
        return ()
    first = max(1, bisect.bisect_right(page_starts, start))
    last = max(first, bisect.bisect_right(page_starts, max(start, end - 1)))
    return tuple(range(first, last + 1))


def sniff(data: bytes) -> str | None:
    """The kind of a file from its first bytes: "pdf", "html", "text" (UTF-8 or other text without NUL
    bytes), or None for anything else (an image, an archive, a Word file)."""
    head = data[:4096]
    if data[:1024].lstrip().startswith(b"%PDF-"):
        return "pdf"
    if b"\x00" in head:
        return None
    lowered = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if lowered.startswith((b"<!doctype html", b"<html", b"<?xml")) or b"<html" in lowered[:1024] or (
            lowered.startswith(b"<") and (b"<body" in lowered or b"<head" in lowered)):
        return "html"
    return "text"


def extract(data: bytes, kind: str, name: str = "file", cache_dir: Path | None = None) -> Extracted:
    """A saved web page or a PDF as Markdown-like text. Raises UnsupportedFile with a one-line reason
    (a PDF that is damaged, encrypted or only images; a page with no text).

    With a cache folder, what was extracted from the same bytes (by SHA-256) by this version of the
    extractors is reused: reading a 75-page PDF takes 9-20 s on 2 cores, and `rag index` reads every
    file each time it checks whether the index is up to date."""
    if cache_dir is None:
        return _extract(data, kind, name)
    key = hashlib.sha256(data + f"\x00{kind}\x00{EXTRACTOR_VERSION}".encode()).hexdigest()
    path = cache_dir / f"{key}.json"
    try:
        cached = json.loads(path.read_text(encoding="utf-8"))
        return Extracted(cached["text"], cached["headings"], tuple(cached["page_starts"]))
    except (OSError, ValueError, KeyError, TypeError):
        pass
    extracted = _extract(data, kind, name)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = cache_dir / f".{key}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps({"text": extracted.text, "headings": extracted.headings,
                                   "page_starts": list(extracted.page_starts)}), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("could not keep the text extracted from %s in %s (%s)", name, cache_dir, exc)
    return extracted


def _extract(data: bytes, kind: str, name: str) -> Extracted:
    if kind == "html":
        from .html import extract_html

        return extract_html(data, name)
    if kind == "pdf":
        from .pdf import extract_pdf

        return extract_pdf(data, name)
    raise UnsupportedFile(f"{name}: {kind!r} is not a format that needs extracting")
