"""Split a document into passages that follow its headings, with exact offsets.

1. Find the headings (Markdown ATX headings; in a text with none, short title-like lines).
2. Give each a depth. CQC reports use `#`, `##` and `###` for the same kind of heading, so depth is
   not the number of `#`: a "Theme N" heading is depth 1, a quality statement inside it depth 2, and
   any other heading inside that quality statement depth 3. Elsewhere the Markdown level is followed.
   "Score: 1" or "2 - Evidence shows some shortfalls" set as headings are labels: they stay text.
3. A section runs from its heading line to the next heading. A heading with no text of its own is
   joined to the section after it, so every passage has something to cite.
4. Long sections are cut at paragraphs, then lines, then sentences, then spaces, and the pieces packed
   back together up to a target size (never over the maximum). A heading, or a line that introduces a
   list (ends with ":"), stays with what follows it.

Every passage is `text[start:end]` with no leading or trailing space, and every non-blank character
of the document lies in exactly one passage.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from . import cqc
from .extract import page_span
from .types import Document, Passage

_ATX = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_BLANK_RUN = re.compile(r"\n[ \t]*\n\s*")
_ALNUM = re.compile(r"\w")
_BULLET = re.compile(r"^\s*(?:[-*+•\u2022]|\d{1,3}[.)])\s*\S")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'\u2019\u201d)\]]*\s+(?=[\"'\u2018\u201c(\[]?[A-Z0-9£])")
_INTRO_END = re.compile(r":[\s\-\u2013\u2014]*$")
_NEWLINE = re.compile(r"\n")

MIN_PASSAGE_CHARS = 200  # a passage shorter than this takes the next piece even past the target


@dataclass
class Heading:
    start: int  # offset of the heading line
    end: int  # offset just past the heading line (before its newline)
    level: int  # Markdown level (1 for a plain-text heading)
    title: str


@dataclass
class _Unit:
    start: int
    end: int
    glue_next: bool = False  # keep with the unit after it (a heading, a list's introduction, list items)
    opens: bool = False  # better at the start of a passage: a list's introduction, the first piece of a long paragraph


def _lines(text: str):
    start = 0
    for line in text.split("\n"):
        yield start, start + len(line), line
        start += len(line) + 1


def is_heading_line(line: str) -> bool:
    """A Markdown ATX heading line ("## Safeguarding")."""
    return bool(_ATX.match(line))


def markdown_headings(text: str) -> list[Heading]:
    headings, in_fence = [], False
    for start, end, line in _lines(text):
        if _FENCE.match(line):
            in_fence = not in_fence
            continue
        m = None if in_fence else _ATX.match(line)
        if m and _ALNUM.search(m.group(2)) and not cqc.is_label(m.group(2)):
            headings.append(Heading(start, end, len(m.group(1)), m.group(2).strip()))
    return headings


def _is_list_item(piece: str) -> bool:
    """A bulleted line, or, after a line ending in ":", a short single-sentence line."""
    if _BULLET.match(piece):
        return True
    return len(piece) <= 200 and "\n" not in piece and not _SENTENCE_END.search(piece)


# A web article's reader comments: "One Response to <title>", "3 Comments on <title>", "Leave a Reply".
_COMMENTS = re.compile(r"^(?:one|no|\d+) (?:responses?|comments?|thoughts?|replies) (?:to|on)\b|^(?:leave a (?:reply|comment)|"
                       r"reader comments|comments)$", re.I)


def is_comments_heading(line: str) -> bool:
    """Whether a heading opens readers' comments: what they say is not what the report found."""
    return bool(_COMMENTS.match(line.strip()))


def _looks_like_heading(line: str, max_chars: int = 90) -> bool:
    words = line.split()
    return (3 <= len(words) <= 14 and len(line) <= max_chars and line[:1].isupper()
            and not re.search(r"(?<!\))[.,;:!]$", line) and not _BULLET.match(line))


def plain_headings(text: str) -> list[Heading]:
    """Title-like lines in a text without Markdown headings: a short line standing alone before prose,
    not ending like a sentence, and not an item of a list that a line ending in ":" introduced."""
    lines = [(s, e, line.strip()) for s, e, line in _lines(text) if line.strip()]
    headings, in_list = [], False
    for i, (start, _, line) in enumerate(lines):
        following = lines[i + 1][2] if i + 1 < len(lines) else ""
        if _INTRO_END.search(line):
            in_list = True
            continue
        if in_list and _is_list_item(line):
            continue
        in_list = False
        limit = 150 if not headings and i == 0 else 90  # the first line may be a longer title
        if is_comments_heading(line) or _looks_like_heading(line, limit) and len(following) >= 100:
            offset = text.index(line, start)
            headings.append(Heading(offset, offset + len(line), 1, line))
    return headings


def find_headings(text: str) -> list[Heading]:
    return markdown_headings(text) or plain_headings(text)


def _depths(headings: list[Heading], title: Heading | None) -> list[tuple[Heading, int, bool]]:
    """(heading, depth, is a quality statement inside a theme) for each heading but the title."""
    base = title.level + 1 if title else min((h.level for h in headings), default=1)
    out: list[tuple[Heading, int, bool]] = []
    open_: list[tuple[int, bool, bool]] = []  # (depth, is theme, is quality statement in a theme)
    for h in headings:
        if h is title:
            continue
        statement_in_theme = next((i for i, o in enumerate(open_) if o[2]), None)
        if cqc.theme_number(h.title):
            depth, name = 1, f"Theme {cqc.theme_number(h.title)}"
            h.title = name
        elif cqc.quality_statement(h.title):
            depth = 2 if any(d == 1 for d, _, _ in open_) else 1
        elif statement_in_theme is not None:
            depth = open_[statement_in_theme][0] + 1
        else:
            depth = max(1, h.level - base + 1)
        while open_ and open_[-1][0] >= depth:
            open_.pop()
        in_theme = any(is_theme for _, is_theme, _ in open_)
        is_statement = bool(cqc.quality_statement(h.title)) and in_theme
        open_.append((depth, bool(cqc.theme_number(h.title) or h.title.startswith("Theme ")), is_statement))
        out.append((h, depth, is_statement))
    return out


def sections(text: str, headings: list[Heading] | None = None) -> list[tuple[tuple[str, ...], int, int]]:
    """(heading path, start, end) of each section, in order; together they cover the whole text."""
    if headings is None:
        headings = find_headings(text)
    # A level-1 heading before any text is the document's title: it heads the document, not a section.
    title = headings[0] if headings and headings[0].level == 1 and not _ALNUM.search(text[:headings[0].start]) else None
    out: list[tuple[tuple[str, ...], int, int]] = []
    path: list[tuple[int, str]] = []
    first_start = next((h.start for h in headings if h is not title), len(text))
    if first_start > 0:
        out.append(((), 0, first_start))
    depths = _depths(headings, title)
    for i, (h, depth, _) in enumerate(depths):
        while path and path[-1][0] >= depth:
            path.pop()
        path.append((depth, h.title))
        end = depths[i + 1][0].start if i + 1 < len(depths) else len(text)
        out.append((tuple(t for _, t in path), h.start, end))
    return _join_empty_sections(text, out, {h.start: h.end for h in headings})


def _join_empty_sections(text, found, heading_ends):
    """A section with no text past its heading line is joined to the one after it (or, last, before it)."""
    out: list[tuple[tuple[str, ...], int, int]] = []
    carry: int | None = None
    for path, start, end in found:
        body_start = heading_ends.get(start, start)
        if carry is not None:
            start, carry = carry, None
        if not _ALNUM.search(text[body_start:end]):
            if not _ALNUM.search(text[start:end]):
                if out:  # nothing at all: give its marks to the section before
                    out[-1] = (out[-1][0], out[-1][1], end)
                    continue
            carry = start
            continue
        out.append((path, start, end))
    if carry is not None:
        if out:
            out[-1] = (out[-1][0], out[-1][1], len(text))
        else:
            out.append(((), carry, len(text)))
    return out


def _strip(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def _split_at(text: str, start: int, end: int, pattern: re.Pattern) -> list[tuple[int, int]]:
    pieces, cut = [], start
    for m in pattern.finditer(text, start, end):
        pieces.append((cut, m.start()))
        cut = m.end()
    pieces.append((cut, end))
    return [s for p in pieces if (s := _strip(text, *p))]


def _hard_split(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    pieces = []
    while end - start > max_chars:
        cut = text.rfind(" ", start + 1, start + max_chars + 1)
        cut = cut if cut > start else start + max_chars
        if s := _strip(text, start, cut):
            pieces.append(s)
        start = cut
    if s := _strip(text, start, end):
        pieces.append(s)
    return pieces


def _pieces(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int, bool]]:
    """Cut a span into pieces of at most max_chars: at blank lines, then lines, then sentences, then spaces.

    Each piece comes with whether it is the first of a paragraph that had to be cut."""
    out = []
    for block in _split_at(text, start, end, _BLANK_RUN):
        if block[1] - block[0] <= max_chars:
            out.append((*block, False))
            continue
        first = len(out)
        for line in _split_at(text, *block, _NEWLINE):
            if line[1] - line[0] <= max_chars:
                out.append((*line, False))
                continue
            for sentence in _split_at(text, *line, _SENTENCE_END):
                out.extend((*p, False) for p in (_hard_split(text, *sentence, max_chars)
                                                  if sentence[1] - sentence[0] > max_chars else [sentence]))
        out[first] = (*out[first][:2], True)
    return out


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """The sentences of text[start:end] (a heading or a list item counts as one), as offsets into text."""
    end = len(text) if end is None else end
    return [s for line in _split_at(text, start, end, _NEWLINE) for s in _split_at(text, *line, _SENTENCE_END)]


def _units(text: str, start: int, end: int, heading_lines: set[tuple[int, int]], max_chars: int) -> list[_Unit]:
    units: list[_Unit] = []
    in_list = False
    spans = _pieces(text, start, end, max_chars)
    for s, e, opens in spans:
        piece = text[s:e]
        if not _ALNUM.search(piece) and units and e - units[-1].start <= max_chars:
            units[-1].end = e  # a rule or stray marks: part of the piece before it
            continue
        is_item = bool(_BULLET.match(piece)) or (in_list and _is_list_item(piece))
        intro = bool(_INTRO_END.search(piece))
        if units and in_list and is_item and not intro:
            units[-1].glue_next = True
        in_list = (in_list and is_item) or intro
        glue = intro or (s, e) in heading_lines
        units.append(_Unit(s, e, glue or not _ALNUM.search(piece), opens or intro))
    return units


def _pack(units: list[_Unit], target: int, max_chars: int) -> list[tuple[int, int]]:
    """Greedy: add pieces while the passage stays under the target (or is still short, or the last piece
    must stay with the next). A passage never ends on a piece that must stay with the next, if it can
    hand that piece on to the passage after it."""
    passages: list[tuple[int, int]] = []
    current: list[_Unit] = []
    for u in units:
        if current:
            start, end = current[0].start, current[-1].end
            span = u.end - start
            short = end - start < MIN_PASSAGE_CHARS
            if current[-1].glue_next and span <= max_chars:
                current.append(u)
                continue
            if span <= max_chars and (short or (span <= target and not u.opens)):
                current.append(u)
                continue
            keep = len(current)
            while keep > 1 and current[keep - 1].glue_next:
                keep -= 1
            if keep < len(current) and u.end - current[keep].start <= max_chars:
                passages.append((start, current[keep - 1].end))
                current = current[keep:] + [u]
                continue
            passages.append((start, end))
        current = [u]
    if current:
        passages.append((current[0].start, current[-1].end))
    return passages


def chunk_text(text: str, doc_id: str = "", target_chars: int = 700, max_chars: int = 1200) -> list[Passage]:
    passages = []
    headings = find_headings(text)
    heading_lines = {(h.start, h.end) for h in headings}
    for path, start, end in sections(text, headings):
        units = _units(text, start, end, heading_lines, max_chars)
        for s, e in _pack(units, target_chars, max_chars):
            passages.append(Passage(doc_id, path, s, e))
    return passages


def chunk_document(doc: Document, target_chars: int = 700, max_chars: int = 1200) -> list[Passage]:
    """The document's passages, each with the pages it lies on when the document has a page map (a PDF)."""
    passages = chunk_text(doc.text, doc.id, target_chars, max_chars)
    if doc.page_starts:
        passages = [Passage(p.doc_id, p.section, p.start, p.end, p.councils, page_span(doc.page_starts, p.start, p.end))
                    for p in passages]
    return passages
