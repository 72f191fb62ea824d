"""A PDF → Markdown-like text with a page map (pdfplumber, MIT; over pdfminer.six and pypdfium2).

1. Lines in reading order, page by page (one column), each with its font size, boldness and page.
2. Running headers and footers dropped: a line in the top or bottom tenth of the page that recurs
   (digits aside) on at least half the pages, and any page number there ("12", "Page 12 of 40", "12/40").
3. Headings from the layout: a line set larger than the body text, or wholly bold at body size, on its
   own. Each heading style (size, bold) is a level, largest first, so h1 > h2 > h3 as the author set
   them; wrapped heading lines are joined.
4. Paragraphs from the line spacing; lines broken mid-sentence joined with a space (across a page
   break too, when the page ends mid-sentence); a hyphen at a line's end kept when the word is
   hyphenated elsewhere in the document (or unknown), dropped when the joined word occurs; soft
   hyphens dropped.
5. List items: a bullet glyph (•, ●, ▪, –, ...) or a drawn bullet (a small filled shape just left
   of the line) starts a `- ` item; a numbered line ("3.") indented from the text starts a numbered one.
"""
from __future__ import annotations

import io
import logging
import re
from collections import Counter
from dataclasses import dataclass, field

from ..errors import UnsupportedFile
from . import Extracted

log = logging.getLogger(__name__)

MARGIN = 0.1  # the top and bottom tenth of a page hold running headers and footers
HEADING_RATIO = 1.12  # a line this much larger than the body text is a heading
HEADING_PITCH = 1.7  # a heading's next line at most this many times its size below it is the same heading
PARAGRAPH_GAP = 1.35  # a gap between lines over this many times the body line pitch starts a paragraph
_BOLD = re.compile(r"bold|black|heavy|semibold|demi", re.I)
_BULLET_GLYPH = re.compile(r"^[\u2022\u25cf\u25aa\u25a0\u25e6\u2023\u2043\u2219\u00b7\u25cb\u2013\u2014\uf0b7\uf0a7*-]\s+")
_NUMBERED = re.compile(r"^\d{1,3}[.)]\s+\S")
_PAGE_NUMBER = re.compile(r"^(?:page\s+)?\d{1,4}(?:\s*(?:of|/)\s*\d{1,4})?$", re.I)
_ENDS_PAGE_NUMBER = re.compile(r"\s(?:page\s+\d{1,4}(?:\s+of\s+\d{1,4})?|\d{1,4}\s*/\s*\d{1,4})$", re.I)
_SENTENCE_END = re.compile(r"[.!?:][\"'\u2019\u201d)\]]*$")
_WORD_END = re.compile(r"([A-Za-z]+)-$")
_WORD_START = re.compile(r"^([a-z]+)")
_WORDS = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)*")


@dataclass
class _Line:
    page: int
    top: float
    bottom: float
    x0: float
    x1: float
    text: str
    size: float
    bold: bool
    first_word: float = 0.0  # width of the line's first word (would it have fitted on the line before?)
    bullet: bool = False
    numbered: bool = False
    margin: bool = False


@dataclass
class _Block:
    kind: str  # "heading" | "para" | "item"
    level: int = 0
    lines: list[_Line] = field(default_factory=list)


def _lines_of(page, number: int) -> list[_Line]:
    shapes = [o for o in (*page.curves, *page.rects)
              if o.get("fill") and o["x1"] - o["x0"] <= 8 and o["bottom"] - o["top"] <= 8]
    out = []
    height = float(page.height)
    for raw in page.extract_text_lines(strip=True, return_chars=True):
        chars = [c for c in raw["chars"] if c["text"].strip()]
        text = raw["text"].strip()
        if not chars or not text:
            continue
        size = Counter(round(float(c["size"]) * 2) / 2 for c in chars).most_common(1)[0][0]
        bold = sum(bool(_BOLD.search(c["fontname"])) for c in chars) >= 0.8 * len(chars)
        line = _Line(number, float(raw["top"]), float(raw["bottom"]), float(raw["x0"]), float(raw["x1"]), text, size,
                     bold)
        word = chars[:len(text.split()[0])]  # the chars of the first word (spaces are not chars)
        line.first_word = float(word[-1]["x1"] - word[0]["x0"])
        line.margin = line.bottom < height * MARGIN or line.top > height * (1 - MARGIN)
        if m := _BULLET_GLYPH.match(text):
            line.text, line.bullet = text[m.end():], True
        elif any(s["x1"] <= line.x0 + 1 and s["x0"] >= line.x0 - 30
                 and line.top <= (s["top"] + s["bottom"]) / 2 <= line.bottom for s in shapes):
            line.bullet = True
        line.numbered = not line.bullet and bool(_NUMBERED.match(line.text))
        out.append(line)
    return out


def _running_key(text: str) -> str:
    return re.sub(r"\d+", "#", text.lower()).strip()


def _drop_running(pages: list[list[_Line]], body: float) -> list[list[_Line]]:
    """Running headers and footers: margin lines that recur on half the pages or more, or end in a page
    number; in a document too short to show what recurs (under 3 pages), margin lines set smaller than
    the text and lying outside it (above its first line or below its last)."""
    counts = Counter()
    for lines in pages:
        counts.update({_running_key(line.text) for line in lines if line.margin})
    repeated = {k for k, n in counts.items() if len(pages) >= 3 and n >= len(pages) / 2}

    def running(line: _Line, lines: list[_Line]) -> bool:
        if not line.margin:
            return False
        if _running_key(line.text) in repeated or _PAGE_NUMBER.match(line.text) or _ENDS_PAGE_NUMBER.search(line.text):
            return True
        text = [other for other in lines if other.size >= body * 0.95]
        return (len(pages) < 3 and line.size <= body * 0.85 and bool(text)
                and (line.bottom <= min(t.top for t in text) or line.top >= max(t.bottom for t in text)))

    return [[line for line in lines if not running(line, lines)] for lines in pages]


def _join(a: str, b: str, vocabulary: Counter) -> str:
    """Two lines of one paragraph as one: a space between, or a hyphenated word put back together."""
    if a.endswith("\u00ad"):
        return a[:-1] + b
    end, start = _WORD_END.search(a), _WORD_START.match(b)
    if end and start:
        joined = (end.group(1) + start.group(1)).lower()
        hyphenated = f"{end.group(1)}-{start.group(1)}".lower()
        if vocabulary[joined] and not vocabulary[hyphenated]:
            return a[:-1] + b
        return a + b
    if a.endswith(("-", "\u2010")) and a[-2:-1].isalnum():
        return a + b  # "2023-" / "2026)": a hyphenated number or name
    return a + " " + b


def extract_pdf(data: bytes, name: str = "file.pdf") -> Extracted:
    import pdfplumber
    from pdfminer.pdfdocument import PDFPasswordIncorrect
    from pdfminer.pdfparser import PDFSyntaxError

    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            pages = [_lines_of(page, i + 1) for i, page in enumerate(pdf.pages)]
    except PDFPasswordIncorrect:
        raise UnsupportedFile(f"{name}: the PDF is encrypted with a password; save an unprotected copy and add that")
    except (PDFSyntaxError, ValueError, KeyError, TypeError, AttributeError, AssertionError, OSError) as exc:
        raise UnsupportedFile(f"{name}: could not be read as a PDF ({exc.__class__.__name__}); it may be damaged")
    except Exception as exc:  # pdfminer raises many kinds of its own on malformed files
        if exc.__class__.__module__.startswith(("pdfminer", "pdfplumber", "pypdfium2")):
            raise UnsupportedFile(f"{name}: could not be read as a PDF ({exc.__class__.__name__}); it may be damaged")
        raise
    if not any(pages):
        raise UnsupportedFile(f"{name}: no text could be read from the PDF ({len(pages)} pages); it may be a scanned "
                              f"image. Add a PDF with a text layer (run it through OCR first) or the report's web page")
    page_count = len(pages)
    sizes = Counter()
    for line in (line for page in pages for line in page):
        sizes[line.size] += len(line.text)
    body = sizes.most_common(1)[0][0]
    pages = _drop_running(pages, body)
    lines = [line for page in pages for line in page]
    if not lines:
        raise UnsupportedFile(f"{name}: the PDF has only running headers and page numbers, no text to index")
    pitches = [b.top - a.top for a, b in zip(lines, lines[1:])
               if a.page == b.page and a.size == body == b.size and 0 < b.top - a.top < body * 3]
    pitch = Counter(round(p, 0) for p in pitches).most_common(1)[0][0] if pitches else body * 1.4
    body_x0 = Counter(round(line.x0) for line in lines if line.size == body).most_common(1)[0][0]
    ends = sorted(line.x1 for line in lines if line.size == body)
    right = ends[int(len(ends) * 0.9)]  # where a full line of body text ends

    def full(line: _Line, after: _Line) -> bool:
        """The next line's first word would not have fitted on this one: the paragraph goes on."""
        return (line.x1 + after.first_word + body * 0.4 > right or line.text.endswith(("-", "\u00ad")))

    def heading_style(line: _Line) -> tuple[float, bool] | None:
        if line.bullet or len(line.text) > 200:
            return None
        if line.size >= body * HEADING_RATIO or (line.bold and line.size >= body * 0.95):
            return (line.size, line.bold)
        return None

    vocabulary = Counter(w.lower() for line in lines for w in _WORDS.findall(line.text))
    blocks: list[_Block] = []
    previous: _Line | None = None
    for line in lines:
        style = heading_style(line)
        last = blocks[-1] if blocks else None
        same_page = previous is not None and previous.page == line.page
        gap = line.top - previous.bottom if same_page else None
        close = gap is not None and line.top - previous.top <= max(pitch, previous.bottom - previous.top) * PARAGRAPH_GAP
        if style:
            wrapped = same_page and line.top - previous.top <= previous.size * HEADING_PITCH
            if last and last.kind == "heading" and (last.lines[-1].size, last.lines[-1].bold) == style and wrapped:
                last.lines.append(line)
            else:
                blocks.append(_Block("heading", lines=[line]))
        elif line.bullet or (line.numbered and line.x0 > body_x0 + 5):
            blocks.append(_Block("item", lines=[line]))
        elif last and last.kind in ("para", "item") and previous is last.lines[-1] and (
                (close and (full(previous, line) or not _SENTENCE_END.search(previous.text)))
                or (not same_page and full(previous, line))):
            if last.kind == "item" and line.x0 < last.lines[0].x0 - 5:
                blocks.append(_Block("para", lines=[line]))  # back at the margin: the list has ended
            else:
                last.lines.append(line)
        else:
            blocks.append(_Block("para", lines=[line]))
        previous = line

    styles = sorted({(b.lines[0].size, b.lines[0].bold) for b in blocks if b.kind == "heading"}, reverse=True)
    level = {s: min(i + 1, 6) for i, s in enumerate(styles)}
    page_starts: list[int | None] = [None] * page_count
    parts: list[str] = []
    offset = 0
    for i, block in enumerate(blocks):
        if i:
            sep = "\n" if block.kind == "item" and blocks[i - 1].kind == "item" else "\n\n"
            parts.append(sep)
            offset += len(sep)
        if block.kind == "heading":
            prefix = "#" * level[(block.lines[0].size, block.lines[0].bold)] + " "
        else:
            prefix = "- " if block.kind == "item" and block.lines[0].bullet else ""
        for j, (page, piece) in enumerate(_pieces(block, vocabulary)):
            piece = prefix + piece if j == 0 else piece
            if page_starts[page - 1] is None:
                page_starts[page - 1] = offset
            parts.append(piece)
            offset += len(piece)
    out = "".join(parts) + "\n"
    # A page with no text of its own begins where the next page with text does.
    starts: list[int] = []
    for p in range(page_count - 1, -1, -1):
        starts.append(page_starts[p] if page_starts[p] is not None else (starts[-1] if starts else len(out)))
    headings = sum(b.kind == "heading" for b in blocks)
    return Extracted(out, headings, tuple(reversed(starts)))


def _pieces(block: _Block, vocabulary: Counter) -> list[tuple[int, str]]:
    """A block's lines joined into one text, cut where a new page begins: [(page, text), ...]."""
    pieces = [[block.lines[0].page, block.lines[0].text]]
    for line in block.lines[1:]:
        joined = _join(pieces[-1][1], line.text, vocabulary)  # always ends with line.text
        if line.page == pieces[-1][0]:
            pieces[-1][1] = joined
        else:
            pieces[-1][1] = joined[:len(joined) - len(line.text)]
            pieces.append([line.page, line.text])
    return [(page, text) for page, text in pieces]
