"""FastAPI application: JSON API (and, later, the HTML pages that mirror it)."""
from __future__ import annotations

import logging

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from .config import Settings
from .errors import RagError
from .service import MAX_K, Service

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, service: Service | None = None) -> FastAPI:
    settings = settings or Settings()
    service = service or Service(settings)
    app = FastAPI(title="CQC adult social care assessments: cited answers", version="0.1.0")
    app.state.service = service

    @app.exception_handler(RagError)
    async def rag_error(request: Request, exc: RagError):
        return JSONResponse({"detail": str(exc)}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or 'body'}: {e['msg']}" for e in exc.errors())
        return JSONResponse({"detail": problems}, status_code=422)

    @app.get("/healthz")
    def healthz():
        return service.health()

    @app.get("/api/search")
    def api_search(q: str = Query("", description="the question"),
                   k: int = Query(10, ge=1, le=MAX_K, description="number of passages"),
                   council: str | None = Query(None, description="only documents about this council"),
                   doc: str | None = Query(None, description="only this document id"),
                   mode: str | None = Query(None, pattern="^(hybrid|bm25|dense)$")):
        return service.search(q, k=k, council=council, doc=doc, mode=mode)

    return app
