"""Pages about the service itself: /docs (the API, from the OpenAPI schema beside it at /openapi.json) and
/accessibility (the accessibility statement)."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from ..render import page

router = APIRouter()


@router.get("/docs", response_class=HTMLResponse, include_in_schema=False)
def docs(request: Request):
    return page(request, "api.html", schema=request.app.openapi())


@router.get("/accessibility", response_class=HTMLResponse, include_in_schema=False)
def accessibility(request: Request):
    """The accessibility statement: the standard the site meets, how it is tested, known gaps, reporting."""
    return page(request, "accessibility.html")
