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

# --- highlighting: the question's words in a passage (web/static/app.js does the same in the browser) ---

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


def _render_markdown(text: str) -> str:
    tokens = _markdown.parse(text)
    for t in tokens:  # the page title is the one <h1>; the document's headings go one level down
        if t.type in ("heading_open", "heading_close"):
            t.tag = f"h{min(int(t.tag[1]) + 1, 6)}"
    return _markdown.renderer.render(tokens, _markdown.options, {})


def passage_anchor(start: int, end: int) -> str:
    return f"p-{start}-{end}"


def passage_url(doc: str, start: int, end: int) -> str:
    return f"/documents/{quote(doc, safe='')}?start={start}&end={end}#{passage_anchor(start, end)}"


def render_document(text: str, start: int | None = None, end: int | None = None) -> Markup:
    """The document as HTML. With a cited range, text[:start], text[start:end] and text[end:] are rendered
    separately and the middle one sits in <section id="p-START-END" class="cited">, so the browser
    scrolls to it and the stylesheet highlights it."""
    if start is None or end is None:
        return Markup(_render_markdown(text))
    return Markup(
        _render_markdown(text[:start])
        + f'<section id="{passage_anchor(start, end)}" class="cited" tabindex="-1" aria-labelledby="cited-label">'
        + '<p class="cited-label" id="cited-label">Cited passage</p>'
        + _render_markdown(text[start:end])
        + "</section>"
        + _render_markdown(text[end:]))


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
_env.filters.update(highlight=highlight, paragraphs=paragraphs)
_env.globals.update(passage_url=passage_url, max_question_chars=MAX_QUESTION_CHARS,
                    stopwords=" ".join(sorted(STOPWORDS)))
templates = Jinja2Templates(env=_env)


def page(request: Request, name: str, status_code: int = 200, **context) -> HTMLResponse:
    """The template `name` rendered as a page."""
    return templates.TemplateResponse(request, name, context, status_code=status_code)
