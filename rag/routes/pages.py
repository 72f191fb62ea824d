"""Pages about the service itself: /docs (the API, from the OpenAPI schema beside it at /openapi.json)."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ..render import page

router = APIRouter()


@router.get("/docs", response_class=HTMLResponse, include_in_schema=False)
def docs(request: Request):
    return page(request, "api.html", schema=request.app.openapi())
