"""Asking: the chat page (/ and /ask) beside POST /api/ask, and GET /api/search."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..errors import RagError
from ..render import page
from ..service import MAX_K, MAX_QUESTION_CHARS, Service
from . import errors, get_service

router = APIRouter()


class AskBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"question": "What score did Blackpool get for safeguarding?"},
        {"question": "and for assessing needs?", "conversation_id": "the id from the previous answer"}]})

    question: str = Field(description=f"the question, at most {MAX_QUESTION_CHARS} characters")
    conversation_id: str | None = Field(None, max_length=200,
                                        description="from a previous answer: a follow-up keeps its council and topic")
    council: str | None = Field(None, max_length=200, description="only documents about this council")
    doc: str | None = Field(None, max_length=200, description="only this document id")
    clear_scope: bool = Field(False, description="leave the conversation's council scope: this question is not "
                                                 "narrowed to the council of the turns before it")

    @field_validator("question", "conversation_id", "council", "doc")
    @classmethod
    def valid_unicode(cls, value: str | None) -> str | None:
        # JSON can carry "\ud800", which no text encoder (nor the model's tokeniser) accepts
        if value is not None and any("\ud800" <= ch <= "\udfff" for ch in value):
            raise ValueError("contains an unpaired surrogate (e.g. \\ud800), which is not text; send valid Unicode")
        return value


def filters(service: Service) -> dict:
    """What the form's filters offer: every document and every council they name."""
    docs = service.documents()
    councils = sorted({c for d in docs for c in d["councils"]})
    return {"documents": docs, "councils": councils}


# --- JSON ---

@router.get("/api/search", tags=["api"], responses=errors(404))
def api_search(q: str = Query("", description="the question"),
               k: int = Query(10, ge=1, le=MAX_K, description="number of passages"),
               council: str | None = Query(None, description="only documents about this council"),
               doc: str | None = Query(None, description="only this document id"),
               mode: str | None = Query(None, pattern="^(hybrid|bm25|dense)$"),
               service: Service = Depends(get_service)):
    """The passages that best match a question, ranked, each with its offsets and scores."""
    # A ready JSONResponse: FastAPI need not walk the result to encode it (the service returns plain JSON types)
    return JSONResponse(service.search(q, k=k, council=council, doc=doc, mode=mode))


@router.post("/api/ask", tags=["api"], responses=errors(404))
def api_ask(body: AskBody, service: Service = Depends(get_service)):
    """A cited answer: verbatim text from the reports, whether it was found, and up to 5 citations.
    Pass the returned conversation_id with a follow-up question ("and for assessing needs?")."""
    return JSONResponse(service.ask(body.question, conversation_id=body.conversation_id, council=body.council,
                                    doc=body.doc, clear_scope=body.clear_scope))


# --- HTML ---

@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home(request: Request, service: Service = Depends(get_service)):
    return page(request, "ask.html", turn=None, form={}, **filters(service))


@router.get("/ask", response_class=HTMLResponse, include_in_schema=False)
def ask(request: Request, q: str = "", conversation_id: str | None = None, council: str | None = None,
        doc: str | None = None, clear_scope: bool = False, service: Service = Depends(get_service)):
    form = {"q": q, "conversation_id": conversation_id or "", "council": council or "", "doc": doc or ""}
    try:
        turn = service.ask(q, conversation_id=conversation_id or None, council=council or None, doc=doc or None,
                           clear_scope=clear_scope)
    except RagError as exc:
        return page(request, "ask.html", status_code=exc.status_code, turn=None, form=form, error=str(exc),
                    **filters(service))
    form.update(q="", conversation_id=turn["conversation_id"])
    return page(request, "ask.html", turn=turn, form=form, **filters(service))
