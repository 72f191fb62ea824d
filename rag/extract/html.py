"""A saved web page → Markdown-like text of its main content (lxml).

The main content is the page's <main> (or role="main", or its one <article>, else <body>). Within it,
what is never the report is dropped: scripts, styles, forms and buttons, navigation, asides, elements
hidden from readers, and site furniture named by its id, class or label (cookie banners, breadcrumbs,
"Was this page helpful?" feedback, share links, skip links). What remains is written out with
headings `h1`-`h6` as `#`-`######` lines, list items as `- ` (or `1. `) lines, table rows as
`cell | cell` lines and every other block as a paragraph, so the chunker reads it as it reads Markdown.
"""
from __future__ import annotations

import re

import lxml.html
from lxml import etree

from ..errors import UnsupportedFile
from . import Extracted

_DROP_TAGS = {"script", "style", "noscript", "template", "svg", "math", "canvas", "iframe", "object", "embed",
              "form", "button", "input", "select", "textarea", "label", "nav", "aside", "dialog", "video",
              "audio", "picture", "img", "map", "head", "title", "meta", "link"}
_DROP_ROLES = {"navigation", "banner", "contentinfo", "search", "complementary", "dialog", "alertdialog",
               "menu", "menubar", "toolbar"}
# Site furniture, by id, class or aria-label (word-ish parts: "cookie-banner", "breadcrumbs", "feedback").
_FURNITURE = re.compile(r"(?:^|[\s_-])(cookies?|consent|breadcrumbs?|feedback|helpful|skip-?link|skip|share|"
                        r"social|print-?link|back-?to-?top|visually-?hidden|sr-only|site-?header|site-?footer|"
                        r"newsletter)(?:$|[\s_-])", re.I)
_FEEDBACK_TEXT = re.compile(r"^\s*(was this (page|information|article) (helpful|useful)|is this page useful)\b", re.I)
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_BLOCKS = {"p", "div", "section", "article", "main", "header", "footer", "blockquote", "figure", "figcaption",
           "address", "details", "summary", "dl", "dt", "dd", "fieldset", "hgroup", "center", "body", "html"}
_SPACE = re.compile(r"[ \t\r\n\f\v\u00a0\u200b]+")
_BR = "\x00"
_LOOKS_LIKE_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]")


def _attrs(el) -> str:
    return " ".join(el.get(a, "") for a in ("id", "class", "aria-label"))


def _hidden(el) -> bool:
    style = el.get("style", "").replace(" ", "").lower()
    return (el.get("hidden") is not None or el.get("aria-hidden") == "true" or "display:none" in style
            or "visibility:hidden" in style)


def _main(root):
    for path in ("//main", "//*[@role='main']"):
        found = root.xpath(path)
        if found:
            return found[0]
    articles = root.xpath("//article")
    if len(articles) == 1:
        return articles[0]
    body = root.find("body")
    return body if body is not None else root


def _prune(root, main) -> None:
    for el in list(main.iter()):
        if el.getparent() is None and el is not main:
            continue  # already removed with an ancestor
        if not isinstance(el.tag, str):  # comments, processing instructions
            _remove(el)
            continue
        tag = el.tag.lower()
        if el is main:
            continue
        if (tag in _DROP_TAGS or el.get("role", "").lower() in _DROP_ROLES or _hidden(el)
                or (tag in ("header", "footer") and main.tag == "body")
                or _FURNITURE.search(_attrs(el))):
            _remove(el)
    # "Was this page helpful?" set as a plain heading: drop it and the block it heads.
    for el in list(main.iter(*_HEADINGS, "p", "legend", "strong")):
        if el.getparent() is not None and _FEEDBACK_TEXT.match(el.text_content() or ""):
            parent = el.getparent()
            own = len(_collapse(el.text_content()))
            if parent is not main and len(_collapse(parent.text_content())) - own < 200:
                _remove(parent)
            else:
                _remove(el)


def _remove(el) -> None:
    """Remove an element but keep its tail text (the text after it belongs to its parent)."""
    parent = el.getparent()
    if parent is None:
        return
    tail = el.tail
    if tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(el)


def _collapse(text: str) -> str:
    text = _SPACE.sub(" ", text or "")
    return "\n".join(part.strip() for part in text.split(_BR)).strip()


class _Writer:
    def __init__(self):
        self.blocks: list[str] = []
        self.buf: list[str] = []
        self.headings = 0

    def flush(self) -> None:
        text = _collapse("".join(self.buf))
        self.buf = []
        if text:
            if _LOOKS_LIKE_HEADING.match(text):
                text = "\\" + text.lstrip()  # a paragraph that begins with "# " is not a heading
            self.blocks.append(text)

    def inline(self, el) -> str:
        """The text of an element as one run (line breaks kept), nested blocks included."""
        parts = [el.text or ""]
        for child in el:
            if isinstance(child.tag, str):
                parts.append(_BR if child.tag.lower() == "br" else self.inline(child))
                if child.tag.lower() in _BLOCKS | {"li", "tr", *_HEADINGS}:
                    parts.append(" ")
            parts.append(child.tail or "")
        return "".join(parts)

    def walk(self, el) -> None:
        tag = el.tag.lower() if isinstance(el.tag, str) else ""
        if tag in _HEADINGS:
            self.flush()
            text = _collapse(self.inline(el)).replace("\n", " ")
            if text:
                self.blocks.append("#" * _HEADINGS[tag] + " " + text)
                self.headings += 1
        elif tag in ("ul", "ol"):
            self.flush()
            lines = self.list_lines(el, 0)
            if lines:
                self.blocks.append("\n".join(lines))
        elif tag == "table":
            self.flush()
            rows = self.table_rows(el)
            if rows:
                self.blocks.append("\n".join(rows))
        elif tag == "pre":
            self.flush()
            text = (el.text_content() or "").strip("\n")
            if text.strip():
                self.blocks.append(text)
        elif tag == "br":
            self.buf.append(_BR)
        elif tag == "hr":
            self.flush()
        elif tag in _BLOCKS or tag == "li":
            self.flush()
            self.buf.append(el.text or "")
            for child in el:
                self.walk(child)
                self.buf.append(child.tail or "")
            self.flush()
        else:
            self.buf.append(el.text or "")
            for child in el:
                self.walk(child)
                self.buf.append(child.tail or "")

    def list_lines(self, el, depth: int) -> list[str]:
        lines, number = [], int(el.get("start", "1")) if (el.get("start") or "1").isdigit() else 1
        ordered = el.tag.lower() == "ol"
        for li in el:
            if not isinstance(li.tag, str) or li.tag.lower() != "li":
                continue
            nested = [c for c in li if isinstance(c.tag, str) and c.tag.lower() in ("ul", "ol")]
            for n in nested:  # the item's own text first, then its sub-list
                _remove(n)
            text = _collapse(self.inline(li)).replace("\n", " ")
            marker = f"{number}. " if ordered else "- "
            if text:
                lines.append("  " * depth + marker + text)
                number += 1
            for n in nested:
                lines.extend(self.list_lines(n, depth + 1))
        return lines

    def table_rows(self, table) -> list[str]:
        rows = []
        caption = table.find("caption")
        if caption is not None and _collapse(caption.text_content()):
            rows.append(_collapse(caption.text_content()))
        for tr in table.iter("tr"):
            cells = [_collapse(self.inline(c)).replace("\n", " ") for c in tr if isinstance(c.tag, str)
                     and c.tag.lower() in ("td", "th")]
            if any(cells):
                rows.append(" | ".join(cells))
        return rows


def _parse(data: bytes):
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return lxml.html.document_fromstring(data)  # lxml reads the page's own <meta charset>
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)  # lxml refuses an encoding declaration in a str
    return lxml.html.document_fromstring(text)


def extract_html(data: bytes, name: str = "page") -> Extracted:
    try:
        root = _parse(data)
    except (etree.ParserError, ValueError) as exc:
        raise UnsupportedFile(f"{name}: could not be read as a web page ({exc}); skipped")
    main = _main(root)
    _prune(root, main)
    writer = _Writer()
    writer.walk(main)
    writer.flush()
    text = "\n\n".join(writer.blocks)
    if not text.strip():
        raise UnsupportedFile(f"{name}: the web page has no text in its main content; skipped")
    return Extracted(text + "\n", writer.headings)
