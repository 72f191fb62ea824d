"""Asking: the chat page (/ and /ask) beside POST /api/ask, feedback on an answer (/feedback beside
POST /api/feedback), and GET /api/search.

The page is rendered by the server only: /ask renders the conversation with web/templates/_turn.html, and
with `fragment=1` just the conversation's part of the page, which web/static/app.js fetches and inserts.
"""
from __future__ import annotations

from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from .. import waiting
from ..errors import BadRequest, RagError
from ..feedback import MAX_COMMENT_CHARS, VERDICTS, FeedbackStore
from ..render import page, templates
from ..service import MAX_K, MAX_QUESTION_CHARS, Service
from . import errors, get_feedback, get_service

router = APIRouter()

# What the schema says of a question: 1 to 2,000 characters, one of them not white space. Stated in the
# schema only; the check enforced is the service's (check_query), whose messages say what to change.
# JSON Schema's \s is ECMAScript's (it has U+FEFF); Python's also has \x1c-\x1f and \x85: neither counts.
QUESTION_SCHEMA = {"minLength": 1, "maxLength": MAX_QUESTION_CHARS, "pattern": r"[^\s\x1c-\x1f\x85]"}


class AskBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"question": "What score did Blackpool get for safeguarding?"},
        {"question": "and for assessing needs?", "conversation_id": "the id from the previous answer"}]})

    question: str = Field(json_schema_extra=QUESTION_SCHEMA,
                          description=f"the question, at most {MAX_QUESTION_CHARS} characters, not blank")
    conversation_id: str | None = Field(None, max_length=200,
                                        description="from a previous answer: a follow-up keeps its council and topic")
    council: str | None = Field(None, max_length=200, description="only documents about this council")
    doc: str | None = Field(None, max_length=200, description="only this document id")
    clear_scope: bool = Field(False, strict=True,  # a JSON boolean, as the schema says: not 0, 0.0 or "no"
                              description="leave the conversation's council scope: this question is not "
                                          "narrowed to the council of the turns before it")

    @field_validator("question", "conversation_id", "council", "doc")
    @classmethod
    def valid_unicode(cls, value: str | None) -> str | None:
        # JSON can carry "\ud800", which no text encoder (nor the model's tokeniser) accepts
        if value is not None and any("\ud800" <= ch <= "\udfff" for ch in value):
            raise ValueError("contains an unpaired surrogate (e.g. \\ud800), which is not text; send valid Unicode")
        return value


def client_address(request: Request) -> str | None:
    """The client's address: the connection's, or what a trusted proxy forwarded (RAG_TRUSTED_PROXIES)."""
    return request.client.host if request.client else None


def filters(service: Service) -> dict:
    """What the form's filters offer: every document and every council they name."""
    docs = service.documents()
    councils = sorted({c for d in docs for c in d["councils"]})
    return {"documents": docs, "councils": councils}


# --- JSON ---

@router.get("/api/search", tags=["api"], responses=errors(404))
async def api_search(q: str = Query(json_schema_extra=QUESTION_SCHEMA,
                             description=f"the question, at most {MAX_QUESTION_CHARS} characters, not blank"),
               k: int = Query(10, ge=1, le=MAX_K, description="number of passages"),
               council: str | None = Query(None, max_length=200,
                                           description="only documents about this council (one the corpus covers)"),
               doc: str | None = Query(None, max_length=200, description="only this document id"),
               mode: str | None = Query(None, pattern="^(hybrid|bm25|dense)$"),
               service: Service = Depends(get_service)):
    """The passages that best match a question, ranked, each with its offsets and scores."""
    # A ready JSONResponse: FastAPI need not walk the result to encode it (the service returns plain JSON types)
    return JSONResponse(await waiting.run(service.search, q, k=k, council=council, doc=doc, mode=mode))


@router.post("/api/ask", tags=["api"], responses=errors(404))
async def api_ask(body: AskBody, request: Request, service: Service = Depends(get_service),
                  store: FeedbackStore = Depends(get_feedback)):
    """A cited answer: verbatim text from the reports, whether it was found, and up to 5 citations.
    Pass the returned conversation_id with a follow-up question ("and for assessing needs?"), and it with
    `turn` to POST /api/feedback to say the answer was helpful or wrong."""
    reply = await waiting.run(_ask, service, body.question, body.conversation_id, body.council, body.doc,
                              body.clear_scope, client_address(request))
    reply["turn"] = store.add_turn(reply["conversation_id"], reply)  # kept as the page keeps its turns
    return JSONResponse(reply)


class FeedbackBody(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"conversation_id": "the id from the answer", "turn": 1, "verdict": "wrong", "comment": "It quotes Lancashire"}]})

    conversation_id: str = Field(max_length=200, description="the answer's conversation_id")
    turn: int = Field(ge=1, le=10_000, description="which answer of the conversation: 1 for the first")
    verdict: str = Field(description=" or ".join(VERDICTS), json_schema_extra={"enum": list(VERDICTS)})
    comment: str = Field("", max_length=MAX_COMMENT_CHARS, description="optional: what was wrong or helpful")


@router.post("/api/feedback", tags=["api"], responses=errors(404))
def api_feedback(body: FeedbackBody, store: FeedbackStore = Depends(get_feedback)):
    """Say an answer was helpful or wrong (with an optional comment); the operator reads it at GET /api/feedback."""
    return store.add_feedback(body.conversation_id, body.turn, body.verdict, body.comment)


def _ask(service: Service, q: str, conversation_id: str | None, council: str | None, doc: str | None,
         clear_scope: bool, client: str | None = None) -> dict:
    return service.ask(q, conversation_id=conversation_id or None, council=council or None, doc=doc or None,
                       clear_scope=clear_scope, client=client)


def examples(service: Service) -> list[str]:
    """A few questions a first visit can try, made from what the loaded records cover: a council's score
    for a quality statement, another's overall rating, a comparison, what an assessed council must improve."""
    councils = service.councils()
    short = {c["council"]: c["council"].replace(" County Council", "").replace(" Council", "") for c in councils}
    out = []
    scored = [c for c in councils if c["scores"]]
    if scored:
        c = scored[0]
        out.append(f"What score did {short[c['council']]} get for {next(iter(c['scores'])).lower()}?")
    rated = [c for c in councils if c["rating"]]
    other = [c for c in rated if not scored or c["council"] != scored[0]["council"]]
    if other:
        out.append(f"What is {short[other[0]['council']]}'s overall rating?")
    if len(rated) >= 2:
        a, b = (scored[0] if scored else rated[0]), (other[0] if other else rated[1])
        if a["council"] != b["council"]:
            out.append(f"Compare {short[a['council']]} and {short[b['council']]}")
    assessed = [d["councils"][0] for d in service.documents() if d["kind"] == "assessment" and d["councils"]]
    if assessed:
        out.append(f"What does {short.get(assessed[0], assessed[0])} need to improve?")
    return out


# --- HTML ---

def _permalink(turn: dict, n: int, council: str | None, doc: str | None) -> str:
    params = {"q": turn["question"], "conversation_id": turn["conversation_id"], "turn": n}
    params.update({k: v for k, v in (("council", council), ("doc", doc)) if v})
    return "/ask?" + urlencode(params)


def _scope(turn: dict | None) -> list[str]:
    """The councils the conversation keeps to after this turn."""
    if not turn:
        return []
    scope = turn.get("scope")
    if isinstance(scope, dict):
        return list(scope.get("councils") or [])
    return [turn["council"]] if turn.get("council") else []


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home(request: Request, service: Service = Depends(get_service)):
    return page(request, "ask.html", turns=[], form={}, examples=examples(service), **filters(service))


@router.get("/ask", response_class=HTMLResponse, include_in_schema=False)
async def ask(request: Request, q: str = "", conversation_id: str | None = None, council: str | None = None,
              doc: str | None = None, clear_scope: str = "", turn: int | None = Query(None, ge=1),
              fragment: bool = False, service: Service = Depends(get_service),
              store: FeedbackStore = Depends(get_feedback)):
    """The conversation with the answer to `q`. With `turn`, the address of an answer already given (a
    copied link, Back, a reload): its turns are shown again without asking again, while they are kept."""
    form = {"q": q, "conversation_id": conversation_id or "", "council": council or "", "doc": doc or ""}
    clear = clear_scope.lower() in ("1", "true", "on", "yes")
    shown = store.turns(conversation_id, upto=turn) if conversation_id and turn else []
    notice = None
    if shown and shown[-1][0] == turn and shown[-1][1]["question"] == q.strip():
        pass  # an answer already given
    elif clear and not q.strip() and conversation_id:
        # "remove the council scope" pressed without JavaScript: the next question leaves it
        shown = store.turns(conversation_id)
        form["clear_scope"] = True
        notice = "The council scope is removed: your next question searches all councils."
    else:
        try:
            reply = await waiting.run(_ask, service, q, conversation_id, council, doc, clear, client_address(request))
        except RagError as exc:
            if fragment:
                raise
            return page(request, "ask.html", status_code=exc.status_code, turns=store.turns(conversation_id),
                        form=form, error=str(exc), **filters(service))
        store.add_turn(reply["conversation_id"], reply)
        shown = store.turns(reply["conversation_id"])
        notice = reply.get("notice")  # the conversation asked in had ended
    last_n, last = shown[-1] if shown else (0, None)
    form.update(q="", conversation_id=last["conversation_id"] if last else form["conversation_id"])
    context = {"turns": shown, "form": form, "notice": notice, "scope": [] if form.get("clear_scope") else _scope(last),
               "permalink": _permalink(last, last_n, council, doc) if last else None}
    if fragment:
        return templates.TemplateResponse(request, "_conversation.html", context)
    return page(request, "ask.html", **context, **filters(service))


async def _form(request: Request) -> dict[str, str]:
    """An HTML form's fields (application/x-www-form-urlencoded), the last value of each."""
    body = (await request.body()).decode("utf-8", "replace")
    return {k: v[-1] for k, v in parse_qs(body, keep_blank_values=True).items()}


@router.post("/feedback", response_class=HTMLResponse, include_in_schema=False)
async def feedback(request: Request, store: FeedbackStore = Depends(get_feedback)):
    """The feedback form of an answer, sent without JavaScript: the same as POST /api/feedback."""
    fields = await _form(request)
    try:
        n = int(fields.get("turn", ""))
    except ValueError:
        raise BadRequest("turn must be the number of the answer (1 for the first).") from None
    if "verdict" not in fields:
        raise BadRequest("Choose whether the answer was helpful or wrong, then send the feedback.")
    saved = store.add_feedback(fields.get("conversation_id", ""), n, fields["verdict"], fields.get("comment", ""))
    back = "/ask?" + urlencode({"q": saved["question"], "conversation_id": saved["conversation_id"], "turn": n})
    return page(request, "feedback.html", saved=saved, back=back)


