"""Report files as text: Markdown and plain text as they are; a saved web page or a PDF turned into
Markdown-like text (headings as `#` lines, list items as `- ` lines, table rows as `a | b` lines), so
that chunking, records and answers read every format alike and a passage is always `text[start:end]`.

One entry point, `extract(data, kind, name)`, and `sniff(data)` to tell the kind from the content.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass

from ..errors import UnsupportedFile

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


def extract(data: bytes, kind: str, name: str = "file") -> Extracted:
    """A saved web page or a PDF as Markdown-like text. Raises UnsupportedFile with a one-line reason
    (a PDF that is damaged, encrypted or only images; a page with no text)."""
    if kind == "html":
        from .html import extract_html

        return extract_html(data, name)
    if kind == "pdf":
        from .pdf import extract_pdf

        return extract_pdf(data, name)
    raise UnsupportedFile(f"{name}: {kind!r} is not a format that needs extracting")
