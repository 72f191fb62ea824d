"""FastAPI application: the JSON API and the HTML pages that mirror it.

Every page has a JSON twin (`/ask` and `POST /api/ask`, `/documents` and `/api/documents`, ...): both
call the same Service method and differ only in rendering. Errors are `{"detail": ...}` on the API and
an HTML page with the same message and status code elsewhere.
"""
from __future__ import annotations

import hmac
import logging
import re

import jinja2
from fastapi import FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markdown_it import MarkdownIt
from markupsafe import Markup, escape
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import cqc
from .config import PROJECT_ROOT, Settings
from .errors import BadRequest, NotFound, RagError
from .middleware import AccessLog, BodySizeLimit, RateLimit
from .service import MAX_K, MAX_QUESTION_CHARS, Service
from .text import STOPWORDS

log = logging.getLogger(__name__)

WEB = PROJECT_ROOT / "web"

# No inline script anywhere, nothing from another origin, no framing.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                               "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
_SECURITY_HEADER_NAMES = {name.lower() for name in SECURITY_HEADERS}
_SECURITY_HEADER_BYTES = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in SECURITY_HEADERS.items()]
SAMPLE_BODY = '{"question": "What score did Blackpool get for safeguarding?", "conversation_id": null}'


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
    from urllib.parse import quote

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


# --- the application ---

class AskBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"question": "What score did Blackpool get for safeguarding?"},
        {"question": "and for assessing needs?", "conversation_id": "the id from the previous answer"}]})

    question: str = Field(description=f"the question, at most {MAX_QUESTION_CHARS} characters")
    conversation_id: str | None = Field(None, max_length=200,
                                        description="from a previous answer: a follow-up keeps its council and topic")
    council: str | None = Field(None, max_length=200, description="only documents about this council")
    doc: str | None = Field(None, max_length=200, description="only this document id")

    @field_validator("question", "conversation_id", "council", "doc")
    @classmethod
    def valid_unicode(cls, value: str | None) -> str | None:
        # JSON can carry "\ud800", which no text encoder (nor the model's tokeniser) accepts
        if value is not None and any("\ud800" <= ch <= "\udfff" for ch in value):
            raise ValueError("contains an unpaired surrogate (e.g. \\ud800), which is not text; send valid Unicode")
        return value


class Error(BaseModel):
    detail: str = Field(description="what went wrong and what to change")


def _errors(*codes: int) -> dict:
    """OpenAPI entries for the errors a route can answer with: always {"detail": "..."}."""
    meaning = {404: "no such document or council", 413: "request body over 64 KB", 422: "invalid input",
               429: "too many requests (see Retry-After)", 503: "the index is missing or damaged"}
    return {code: {"model": Error, "description": meaning[code]} for code in (*codes, 413, 422, 429)}


def _is_api(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/api/") or path in ("/healthz", "/openapi.json")


def _validation_message(exc: RequestValidationError) -> str:
    problems = []
    for e in exc.errors():
        loc = [str(p) for p in e["loc"] if p not in ("body", "query", "path")]
        if e["type"] == "json_invalid":
            reason = (e.get("ctx") or {}).get("error", "")
            problems.append(f"The request body is not valid JSON ({reason}). Send a JSON object such as {SAMPLE_BODY}.")
        elif not loc:
            problems.append(f"body: {e['msg']}. Send a JSON object such as {SAMPLE_BODY}.")
        else:
            problems.append(f"{'.'.join(loc)}: {e['msg']}")
    return "; ".join(problems)


def create_app(settings: Settings | None = None, service: Service | None = None) -> FastAPI:
    settings = settings or Settings()
    service = service or Service(settings)
    # Swagger UI (FastAPI's /docs) needs a CDN and an inline script, which the CSP forbids; /docs is our
    # own plain page built from the OpenAPI schema instead, and /openapi.json is the schema itself.
    app = FastAPI(title="CQC adult social care assessments: cited answers", version="0.1.0",
                  docs_url=None, redoc_url=None)
    app.state.service = service
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(WEB / "templates"), autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(highlight=highlight, paragraphs=paragraphs)
    env.globals.update(passage_url=passage_url, max_question_chars=MAX_QUESTION_CHARS,
                       stopwords=" ".join(sorted(STOPWORDS)))
    templates = Jinja2Templates(env=env)
    app.mount("/static", StaticFiles(directory=WEB / "static"), name="static")

    def page(request: Request, name: str, status_code: int = 200, **context) -> HTMLResponse:
        return templates.TemplateResponse(request, name, context, status_code=status_code)

    def error(request: Request, status_code: int, detail: str):
        if _is_api(request):
            return JSONResponse({"detail": detail}, status_code=status_code)
        return page(request, "error.html", status_code=status_code, status=status_code, detail=detail)

    # Starlette runs the middleware added last first: access log, security headers, rate limit, body limit.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RateLimit, per_minute=settings.rate_limit)

    class SecurityHeadersAndLastResort:
        """The security headers on every response, and a bug of ours (not the client's) logged and
        answered with a plain 500. Plain ASGI: Starlette's BaseHTTPMiddleware costs a task per request."""

        def __init__(self, inner):
            self.inner = inner

        async def __call__(self, scope, receive, send):
            if scope["type"] != "http":
                return await self.inner(scope, receive, send)
            started = False

            async def send_with_headers(message):
                nonlocal started
                if message["type"] == "http.response.start":
                    started = True
                    headers = [(k, v) for k, v in message.get("headers", []) if k.decode("latin-1").lower()
                               not in _SECURITY_HEADER_NAMES]
                    message = dict(message, headers=headers + _SECURITY_HEADER_BYTES)
                await send(message)

            try:
                await self.inner(scope, receive, send_with_headers)
            except Exception:
                request = Request(scope)
                log.exception("unhandled error on %s %s", request.method, request.url.path)
                if not started:
                    response = error(request, 500, "Something went wrong on our side. Please try again later.")
                    await response(scope, receive, send_with_headers)

    app.add_middleware(SecurityHeadersAndLastResort)

    @app.exception_handler(RagError)
    async def rag_error(request: Request, exc: RagError):
        return error(request, exc.status_code, str(exc))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        return error(request, 422, _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        detail = exc.detail
        if exc.status_code == 404:
            detail = f"There is no page at {request.url.path}. Start at / or see /docs for the API."
        elif exc.status_code == 400 and request.method == "POST":  # a body FastAPI could not parse at all
            return error(request, 422, f"The request body could not be read as JSON ({exc.detail}). "
                                       f"Send a JSON object such as {SAMPLE_BODY}.")
        elif exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}. See /docs for the methods each route takes."
        return error(request, exc.status_code, str(detail))

    def filters() -> dict:
        docs = service.documents()
        councils = sorted({c for d in docs for c in d["councils"]})
        return {"documents": docs, "councils": councils}

    # --- JSON API ---

    @app.get("/healthz", tags=["api"], responses=_errors())
    def healthz():
        """Status, ranking mode, document and passage counts, model and index build."""
        return service.health()

    @app.get("/api/search", tags=["api"], responses=_errors(404))
    def api_search(q: str = Query("", description="the question"),
                   k: int = Query(10, ge=1, le=MAX_K, description="number of passages"),
                   council: str | None = Query(None, description="only documents about this council"),
                   doc: str | None = Query(None, description="only this document id"),
                   mode: str | None = Query(None, pattern="^(hybrid|bm25|dense)$")):
        """The passages that best match a question, ranked, each with its offsets and scores."""
        # A ready JSONResponse: FastAPI need not walk the result to encode it (the service returns plain JSON types)
        return JSONResponse(service.search(q, k=k, council=council, doc=doc, mode=mode))

    @app.post("/api/ask", tags=["api"], responses=_errors(404))
    def api_ask(body: AskBody):
        """A cited answer: verbatim text from the reports, whether it was found, and up to 5 citations.
        Pass the returned conversation_id with a follow-up question ("and for assessing needs?")."""
        return JSONResponse(service.ask(body.question, conversation_id=body.conversation_id, council=body.council,
                                        doc=body.doc))

    @app.get("/api/documents", tags=["api"], responses=_errors())
    def api_documents():
        """Every indexed document's metadata and passage count."""
        return {"documents": service.documents()}

    @app.get("/api/documents/{doc_id}", tags=["api"], responses=_errors(404))
    def api_document(doc_id: str, start: int | None = Query(None, description="start of a cited passage"),
                     end: int | None = Query(None, description="end of a cited passage")):
        """A document's metadata and full text; with start and end, also the cited passage text[start:end]."""
        doc = service.document(doc_id)
        cited = cited_range(doc, start, end)
        if cited:
            doc["cited"] = {"start": cited[0], "end": cited[1], "text": doc["text"][cited[0]:cited[1]]}
        return doc

    @app.get("/api/councils", tags=["api"], responses=_errors())
    def api_councils():
        """Every council with its overall rating and quality statement scores, as read from the reports."""
        return {"councils": service.councils(), "score_meanings": cqc.SCORE_MEANINGS,
                "quality_statements": list(cqc.QUALITY_STATEMENTS)}

    @app.get("/api/councils/{slug}", tags=["api"], responses=_errors(404))
    def api_council(slug: str):
        """One council's record: rating, each score with its meaning, and the passage stating each."""
        return service.council(slug)

    # --- HTML pages ---

    @app.get("/councils", response_class=HTMLResponse, include_in_schema=False)
    def councils(request: Request):
        return page(request, "councils.html", councils=service.councils(), statements=cqc.QUALITY_STATEMENTS,
                    score_meanings=cqc.SCORE_MEANINGS,
                    score_words={n: m.split(":")[0] for n, m in cqc.SCORE_MEANINGS.items()})

    @app.get("/councils/{slug}", response_class=HTMLResponse, include_in_schema=False)
    def council(request: Request, slug: str):
        return page(request, "council.html", c=service.council(slug))

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request):
        return page(request, "ask.html", turn=None, form={}, **filters())

    @app.get("/ask", response_class=HTMLResponse, include_in_schema=False)
    def ask(request: Request, q: str = "", conversation_id: str | None = None, council: str | None = None,
            doc: str | None = None):
        form = {"q": q, "conversation_id": conversation_id or "", "council": council or "", "doc": doc or ""}
        try:
            turn = service.ask(q, conversation_id=conversation_id or None, council=council or None, doc=doc or None)
        except RagError as exc:
            return page(request, "ask.html", status_code=exc.status_code, turn=None, form=form, error=str(exc),
                        **filters())
        form.update(q="", conversation_id=turn["conversation_id"])
        return page(request, "ask.html", turn=turn, form=form, **filters())

    @app.get("/documents", response_class=HTMLResponse, include_in_schema=False)
    def documents(request: Request):
        return page(request, "documents.html", documents=service.documents())

    @app.get("/documents/{doc_id}", response_class=HTMLResponse, include_in_schema=False)
    def document(request: Request, doc_id: str, start: int | None = None, end: int | None = None):
        doc = service.document(doc_id)
        cited = cited_range(doc, start, end)
        body = render_document(doc["text"], *(cited or (None, None)))
        return page(request, "document.html", doc=doc, body=body,
                    anchor=passage_anchor(*cited) if cited else None)

    @app.get("/docs", response_class=HTMLResponse, include_in_schema=False)
    def docs(request: Request):
        return page(request, "api.html", schema=app.openapi())

    @app.post("/admin/reload", include_in_schema=False)
    def admin_reload(authorization: str = Header("")):
        """Take up a newly built index now (it is also picked up by itself within a second or two)."""
        if not settings.admin_token:
            raise NotFound("There is no admin reload here: set RAG_ADMIN_TOKEN on the server to enable it.")
        if not hmac.compare_digest(authorization.encode(), f"Bearer {settings.admin_token}".encode()):
            return JSONResponse({"detail": "Send the admin token as: Authorization: Bearer <RAG_ADMIN_TOKEN>"},
                                status_code=401)
        return {"reloaded": service.reload_if_changed(), "build": service.index.path.name}

    if settings.watch_index:
        service.watch()
    app.add_middleware(AccessLog, fmt=settings.access_log, log_questions=settings.log_questions)
    return app
