"""FastAPI application: the JSON API and the HTML pages that mirror it.

The routes live in rag/routes/, one module per page family (ask, documents, councils, admin, pages); every
page has a JSON twin beside it (`/ask` and `POST /api/ask`, `/documents` and `/api/documents`, ...), both
calling the same Service method. This module assembles them: the middleware, and the one place that turns
an error into a response — `{"detail": ...}` on the API, an HTML page with the same message and status
code elsewhere.
"""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from .config import Settings
from .errors import RagError
from .feedback import FeedbackStore
from .middleware import AccessLog, BodySizeLimit, RateLimit
from .render import WEB, highlight, page, paragraphs, passage_url, render_document  # noqa: F401  (re-exported)
from .routes import admin, ask, councils, documents, pages
from .service import Service

log = logging.getLogger(__name__)

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


def _is_api(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/api/") or path in ("/healthz", "/openapi.json")


def error(request: Request, status_code: int, detail: str):
    """The one place an error becomes a response: JSON `{"detail": ...}` for the API, a page elsewhere."""
    if _is_api(request):
        return JSONResponse({"detail": detail}, status_code=status_code)
    return page(request, "error.html", status_code=status_code, status=status_code, detail=detail)


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


def _routed(app: FastAPI, path: str) -> bool:
    """Whether some route (or mount) takes this path."""
    from starlette.routing import Match

    scope = {"type": "http", "path": path, "method": "GET", "root_path": ""}
    return any(route.matches(scope)[0] != Match.NONE for route in app.router.routes)


def create_app(settings: Settings | None = None, service: Service | None = None) -> FastAPI:
    settings = settings or Settings()
    service = service or Service(settings)
    # Swagger UI (FastAPI's /docs) needs a CDN and an inline script, which the CSP forbids; /docs is our
    # own plain page built from the OpenAPI schema instead, and /openapi.json is the schema itself.
    # No trailing-slash redirects: Starlette builds them from the Host header (an open redirect behind a
    # proxy); "/api/documents/" is a 404 that names "/api/documents" instead.
    app = FastAPI(title="CQC adult social care assessments: cited answers", version="0.1.0",
                  docs_url=None, redoc_url=None, redirect_slashes=False)
    app.state.service = service
    app.state.settings = settings
    app.state.feedback = FeedbackStore(settings.conversation_db)
    app.mount("/static", StaticFiles(directory=WEB / "static"), name="static")

    # Starlette runs the middleware added last first: access log, security headers, rate limit, body limit.
    # A report upload may be as large as one document may be (and only when uploads are on).
    upload_limit = int(settings.max_file_mb * 2**20) + 64 * 1024
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes, timeout=settings.body_timeout,
                       larger={("POST", "/api/documents"): upload_limit, ("POST", "/add-report"): upload_limit}
                       if settings.admin_token else None)
    app.add_middleware(RateLimit, per_minute=settings.rate_limit, db=settings.conversation_db)
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
            path = request.scope["path"]
            if not path.startswith("/"):  # an absolute-form target (GET http://host/...): not echoed
                detail = "There is no such page. Start at / or see /docs for the API."
            elif len(path) > 1 and path.endswith("/") and _routed(app, path.rstrip("/")):
                detail = f"There is no page at {path}. Did you mean {path.rstrip('/')} (no slash at the end)?"
            else:
                detail = f"There is no page at {path}. Start at / or see /docs for the API."
        elif exc.status_code == 400 and request.method == "POST":  # a body FastAPI could not parse at all
            return error(request, 422, f"The request body could not be read as JSON ({exc.detail}). "
                                       f"Send a JSON object such as {SAMPLE_BODY}.")
        elif exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}. See /docs for the methods each route takes."
        response = error(request, exc.status_code, str(detail))
        response.headers.update(exc.headers or {})  # Allow, on a 405
        return response

    # The order here is the order of /docs and /openapi.json.
    for module in (admin, ask, documents, councils, pages):
        app.include_router(module.router)

    if settings.watch_index:
        service.watch()
    app.add_middleware(AccessLog, fmt=settings.access_log, log_questions=settings.log_questions)
    return app
