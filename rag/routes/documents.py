"""The reports and articles: /documents and /documents/{id} beside /api/documents and /api/documents/{id}."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from ..render import cited_range, contents, page, passage_anchor, render_document
from ..service import Service
from . import errors, get_service

router = APIRouter()


# --- JSON ---

@router.get("/api/documents", tags=["api"], responses=errors())
def api_documents(service: Service = Depends(get_service)):
    """Every indexed document's metadata and passage count."""
    return {"documents": service.documents()}


@router.get("/api/documents/{doc_id}", tags=["api"], responses=errors(404))
def api_document(doc_id: str, start: int | None = Query(None, description="start of a cited passage"),
                 end: int | None = Query(None, description="end of a cited passage"),
                 service: Service = Depends(get_service)):
    """A document's metadata and full text; with start and end, also the cited passage text[start:end]."""
    doc = service.document(doc_id)
    cited = cited_range(doc, start, end)
    if cited:
        doc["cited"] = {"start": cited[0], "end": cited[1], "text": doc["text"][cited[0]:cited[1]]}
    return doc


# --- HTML ---

@router.get("/documents", response_class=HTMLResponse, include_in_schema=False)
def documents(request: Request, service: Service = Depends(get_service)):
    return page(request, "documents.html", documents=service.documents())


@router.get("/documents/{doc_id}", response_class=HTMLResponse, include_in_schema=False)
def document(request: Request, doc_id: str, start: int | None = None, end: int | None = None,
             service: Service = Depends(get_service)):
    doc = service.document(doc_id)
    cited = cited_range(doc, start, end)
    outline: list = []
    body = render_document(doc["text"], *(cited or (None, None)), outline=outline)
    source_url = next((doc.get(k) for k in ("url", "source_url", "source") if str(doc.get(k) or "").startswith(
        ("https://", "http://"))), None)
    return page(request, "document.html", doc=doc, body=body, anchor=passage_anchor(*cited) if cited else None,
                toc=contents(outline), source_url=source_url)
