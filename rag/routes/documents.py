"""The reports and articles: /documents and /documents/{id} beside /api/documents and /api/documents/{id}."""
from __future__ import annotations

import hmac
import threading

from fastapi import APIRouter, Depends, File, Form, Header, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from ..config import Settings
from ..errors import NotFound
from ..extract import page_span
from ..render import cited_range, contents, page, passage_anchor, render_document
from ..service import Service
from ..uploads import UploadRefused, Uploads
from . import errors, get_service, get_settings

router = APIRouter()


# --- JSON ---

@router.get("/api/documents", tags=["api"], responses=errors())
def api_documents(service: Service = Depends(get_service)):
    """Every indexed document's metadata and passage count."""
    return {"documents": service.documents()}


@router.get("/api/documents/{doc_id}", tags=["api"], responses=errors(404))
def api_document(doc_id: str,
                 start: int | None = Query(None, ge=0, description="start of a cited passage: given with end, "
                                                                    "0 <= start < end <= the text's length"),
                 end: int | None = Query(None, ge=1, description="end of a cited passage: given with start"),
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
    pages = page_span(tuple(doc.get("page_starts") or ()), *cited) if cited else ()
    return page(request, "document.html", doc=doc, body=body, anchor=passage_anchor(*cited) if cited else None,
                toc=contents(outline), source_url=source_url, cited_pages=pages)


# --- the original file, and adding and removing reports (RAG_ADMIN_TOKEN) ---

_uploads_lock = threading.Lock()


def get_uploads(request: Request) -> Uploads:
    state = request.app.state
    with _uploads_lock:
        if getattr(state, "uploads", None) is None:
            state.uploads = Uploads(state.settings, state.service)
    return state.uploads


def _require_admin(settings: Settings, authorization: str = "", token: str | None = None) -> None:
    """Uploads are off (404) unless RAG_ADMIN_TOKEN is set, and refused (403) without it."""
    if not settings.admin_token:
        raise NotFound("Adding and removing reports is off here: set RAG_ADMIN_TOKEN on the server to enable it.")
    expected = settings.admin_token.encode()
    sent_header = authorization.encode()
    if not (hmac.compare_digest(sent_header, b"Bearer " + expected)
            or (token is not None and hmac.compare_digest(token.encode(), expected))):
        raise UploadRefused("Send the admin token as: Authorization: Bearer <RAG_ADMIN_TOKEN>", 403)


def require_admin(authorization: str = Header("", description="Bearer <RAG_ADMIN_TOKEN>"),
                  settings: Settings = Depends(get_settings)) -> None:
    """The admin check as a dependency: it runs before the body is validated, so a request without the token is
    refused for that (403, or 404 when uploads are off), never told what its body lacks."""
    _require_admin(settings, authorization)


@router.get("/documents/{doc_id}/original", response_class=FileResponse, include_in_schema=False)
def original(doc_id: str, service: Service = Depends(get_service)):
    """The file a document was read from (a PDF opens at a page with #page=N). Found by the document's
    id in the loaded index, never by a path from the request."""
    path, media_type, filename = service.original(doc_id)
    # A saved web page is handed over as a download, never rendered on this site (it may carry scripts).
    disposition = "attachment" if media_type.startswith("text/html") else "inline"
    return FileResponse(path, media_type=media_type, content_disposition_type=disposition, filename=filename)


@router.post("/api/documents", tags=["api"], status_code=202, responses=errors(404),
             dependencies=[Depends(require_admin)])
def api_add_document(file: UploadFile = File(description="a report: .md, .txt, .html or .pdf"),
                     uploads: Uploads = Depends(get_uploads)):
    """Add a report: checked, stored in the corpus and indexed in the background. Poll status_url
    until "done" is true; "state" is then "serving" (answers come from it) or "failed" ("message" says why)."""
    return uploads.add(file.filename or "", file.file.read()).json()


@router.delete("/api/documents/{doc_id}", tags=["api"], status_code=202, responses=errors(404),
               dependencies=[Depends(require_admin)])
def api_delete_document(doc_id: str, uploads: Uploads = Depends(get_uploads)):
    """Remove a report from the corpus and the index (in the background, like an upload)."""
    return uploads.delete(doc_id).json()


@router.get("/api/uploads/{job_id}", tags=["api"], responses=errors(404))
def api_upload_status(job_id: str, uploads: Uploads = Depends(get_uploads)):
    """How far an upload or removal has got: state queued | indexing | serving | failed."""
    job = uploads.get(job_id)
    if job is None:
        raise NotFound(f"No upload {job_id!r} (jobs are kept by the server process that took them).")
    return job.json()


@router.get("/add-report", response_class=HTMLResponse, include_in_schema=False)
def add_report_form(request: Request, settings: Settings = Depends(get_settings)):
    return page(request, "add_report.html", enabled=bool(settings.admin_token),
                status_code=200 if settings.admin_token else 404, max_mb=settings.max_file_mb)


@router.post("/add-report", response_class=HTMLResponse, include_in_schema=False)
def add_report(request: Request, file: UploadFile | None = File(None), token: str = Form(""),
               settings: Settings = Depends(get_settings), uploads: Uploads = Depends(get_uploads)):
    try:
        _require_admin(settings, token=token)
        if file is None or not file.filename:
            raise UploadRefused("Choose a file to add.")
        job = uploads.add(file.filename, file.file.read())
    except (UploadRefused, NotFound) as exc:
        return page(request, "add_report.html", status_code=exc.status_code, enabled=bool(settings.admin_token),
                    error=str(exc), max_mb=settings.max_file_mb)
    return RedirectResponse(f"/add-report/{job.id}", status_code=303)


@router.get("/add-report/{job_id}", response_class=HTMLResponse, include_in_schema=False)
def add_report_progress(request: Request, job_id: str, uploads: Uploads = Depends(get_uploads)):
    job = uploads.get(job_id)
    if job is None:
        raise NotFound(f"No upload {job_id!r}. Add a report at /add-report.")
    return page(request, "add_report_progress.html", job=job.json())
