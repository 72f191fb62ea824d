"""HTML rendering shared by the pages: the Jinja templates, question words marked in a passage, and
documents rendered from their Markdown with a cited slice highlighted."""
from __future__ import annotations

import re
from urllib.parse import quote

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

from .config import PROJECT_ROOT
from .errors import BadRequest
from .service import MAX_QUESTION_CHARS
from .text import STOPWORDS

WEB = PROJECT_ROOT / "web"

# --- highlighting: the question's words in a passage ---

_WORD = re.compile(r"[A-Za-z0-9]+")


def highlight_terms(question: str) -> list[str]:
    """The question's words worth marking: lower case, two characters or more, no stop words."""
    terms = []
    for word in _WORD.findall(question.lower()):
        if len(word) >= 2 and word not in STOPWORDS and word not in terms:
            terms.append(word)
    return terms


def _matches(word: str, terms: list[str]) -> bool:
    """A text word matches a term it equals or, for terms over 4 letters, one it shares a stem-like
    prefix with (the term less 3 letters, at least 4): "assessing" marks "assessment"."""
    word = word.lower()
    return any(word == t or (len(t) > 4 and word.startswith(t[:max(4, len(t) - 3)])) for t in terms)


def highlight(text: str, question: str) -> Markup:
    """`text` escaped, with the question's words wrapped in <mark>. Escaping comes first: each piece
    of the text is escaped on its own and only our own <mark> tags are added around them."""
    terms = highlight_terms(question or "")
    out, pos = [], 0
    for m in _WORD.finditer(text):
        if _matches(m.group(), terms):
            out.append(escape(text[pos:m.start()]))
            out.append(Markup("<mark>%s</mark>") % m.group())
            pos = m.end()
    out.append(escape(text[pos:]))
    return Markup("").join(out)


_BLANK_LINES = re.compile(r"\n[ \t]*\n\s*")


def paragraphs(text: str, question: str = "") -> Markup:
    """Verbatim text as <p> paragraphs (split at blank lines), with the question's words marked."""
    parts = [p for p in _BLANK_LINES.split(text.strip("\n")) if p.strip()]
    return Markup("").join(Markup("<p>%s</p>") % highlight(p, question) for p in parts)


# --- documents as HTML: CommonMark with raw HTML off, the cited slice wrapped in its own <section> ---

_markdown = MarkdownIt("commonmark", {"html": False})


def _render_markdown(text: str, outline: list | None = None) -> str:
    """`text` as HTML; the page title is the one <h1>, so the document's headings go one level down. With
    `outline`, each heading gets an id (unique within the outline) and (level, id, title) is appended to it."""
    tokens = _markdown.parse(text)
    for i, t in enumerate(tokens):
        if t.type in ("heading_open", "heading_close"):
            t.tag = f"h{min(int(t.tag[1]) + 1, 6)}"
        if t.type == "heading_open" and outline is not None:
            title = tokens[i + 1].content.strip()
            slug = "s-" + (re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-") or "section")
            taken = {entry[1] for entry in outline}
            unique, k = slug, 2
            while unique in taken:
                unique, k = f"{slug}-{k}", k + 1
            t.attrSet("id", unique)
            outline.append((int(t.tag[1]), unique, plain_text(title)))
    return _markdown.renderer.render(tokens, _markdown.options, {})


def contents(outline: list[tuple[int, str, str]], levels: tuple[int, int] = (3, 4)) -> list[dict]:
    """A table of contents from a document's outline: its sections (rendered <h3>) each with their
    subsections (<h4>), as [{"id", "title", "children": [...]}]."""
    top, sub = levels
    toc: list[dict] = []
    for level, anchor, title in outline:
        if level == top:
            toc.append({"id": anchor, "title": title, "children": []})
        elif level == sub and toc:
            toc[-1]["children"].append({"id": anchor, "title": title, "children": []})
    return toc


def _links_to_somewhere(href: str) -> bool:
    """A link worth keeping in a quote: to another site. "#", "" and paths of the original site lead nowhere here."""
    return href.startswith(("https://", "http://"))


def _quote_tokens(text: str, level: int, question: str):
    """The tokens of a quoted slice: headings shifted so the slice's top heading is <h`level`> (the page
    outline stays: question h2, quote headings below it), dead links reduced to their text, the
    question's words marked in the text."""
    tokens = _markdown.parse(text)
    top = min((int(t.tag[1]) for t in tokens if t.type == "heading_open"), default=level)
    for t in tokens:
        if t.type in ("heading_open", "heading_close"):
            t.tag = f"h{min(max(int(t.tag[1]) - top + level, level), 6)}"
        for child in t.children or ():
            if child.type in ("link_open", "link_close"):
                if not _links_to_somewhere(_link_href(t.children, child)):
                    child.type, child.tag, child.content, child.nesting = "text", "", "", 0
            elif child.type == "text" and question:
                child.type, child.content = "html_inline", str(highlight(child.content, question))
    return tokens


def _link_href(children, token) -> str:
    """The href of a link_open token, or of the link_open a link_close closes."""
    if token.type == "link_open":
        return token.attrGet("href") or ""
    i, depth = children.index(token), 0
    for prev in reversed(children[:i]):
        if prev.type == "link_close":
            depth += 1
        elif prev.type == "link_open":
            if depth == 0:
                return prev.attrGet("href") or ""
            depth -= 1
    return ""


def quote_html(text: str, level: int = 3, question: str = "") -> Markup:
    """A verbatim slice of a document rendered from its Markdown for quoting inside a page: raw HTML
    off, headings from <h`level`> down, dead links as text, the question's words in <mark>."""
    return Markup(_markdown.renderer.render(_quote_tokens(text, level, question), _markdown.options, {}))


def plain_text(text: str, headings: bool = True) -> str:
    """The words of a Markdown slice without its marks (##, **, ---, [..](..)), blocks joined by " · "."""
    blocks = []
    tokens = _markdown.parse(text)
    for i, t in enumerate(tokens):
        if t.type == "inline" and (headings or tokens[i - 1].type != "heading_open"):
            words = "".join(c.content if c.type in ("text", "code_inline") else " " if c.type in (
                "softbreak", "hardbreak") else "" for c in t.children or ())
            if words.strip():
                blocks.append(" ".join(words.split()))
    return " · ".join(blocks)


def preview(text: str, limit: int = 180) -> str:
    """The first words of a slice, plain, cut at a word boundary near `limit` characters."""
    plain = plain_text(text, headings=False) or plain_text(text)  # the headings are the breadcrumb already
    if len(plain) <= limit:
        return plain
    return plain[:limit].rsplit(" ", 1)[0].rstrip(" ·,;:") + " …"


def passage_anchor(start: int, end: int) -> str:
    return f"p-{start}-{end}"


def passage_url(doc: str, start: int, end: int) -> str:
    return f"/documents/{quote(doc, safe='')}?start={start}&end={end}#{passage_anchor(start, end)}"


def render_document(text: str, start: int | None = None, end: int | None = None,
                    outline: list | None = None) -> Markup:
    """The document as HTML. With a cited range, text[:start], text[start:end] and text[end:] are rendered
    separately and the middle one sits in <section id="p-START-END" class="cited">, so the browser
    scrolls to it and the stylesheet highlights it. With `outline`, headings get ids listed there."""
    if start is None or end is None:
        return Markup(_render_markdown(text, outline))
    return Markup(
        _render_markdown(text[:start], outline)
        + f'<section id="{passage_anchor(start, end)}" class="cited" tabindex="-1" aria-labelledby="cited-label">'
        + '<p class="cited-label" id="cited-label">Cited passage</p>'
        + _render_markdown(text[start:end], outline)
        + "</section>"
        + _render_markdown(text[end:], outline))


def cited_range(doc: dict, start: int | None, end: int | None) -> tuple[int, int] | None:
    if start is None and end is None:
        return None
    n = len(doc["text"])
    if start is None or end is None or not 0 <= start < end <= n:
        raise BadRequest(f"start and end must be given together as character offsets with 0 <= start < end <= {n} "
                         f"(got start={start}, end={end}).")
    return start, end


# --- the templates ---

_env = jinja2.Environment(loader=jinja2.FileSystemLoader(WEB / "templates"), autoescape=True, trim_blocks=True,
                          lstrip_blocks=True)
_env.filters.update(highlight=highlight, paragraphs=paragraphs, quote=quote_html, plain=plain_text,
                    preview=preview)
_env.globals.update(passage_url=passage_url, max_question_chars=MAX_QUESTION_CHARS,
                    stopwords=" ".join(sorted(STOPWORDS)))
templates = Jinja2Templates(env=_env)


def page(request: Request, name: str, status_code: int = 200, **context) -> HTMLResponse:
    """The template `name` rendered as a page."""
    return templates.TemplateResponse(request, name, context, status_code=status_code)
