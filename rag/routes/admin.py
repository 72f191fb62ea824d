"""Operations: /healthz and the admin routes (which need RAG_ADMIN_TOKEN)."""
from __future__ import annotations

import hmac

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import JSONResponse

from ..config import Settings
from ..errors import NotFound
from ..feedback import FeedbackStore
from ..service import Service
from . import errors, get_feedback, get_service, get_settings, require_admin

router = APIRouter()


@router.get("/healthz", tags=["api"], responses=errors())
@router.head("/healthz", tags=["api"], responses=errors())  # health checkers use HEAD
def healthz(service: Service = Depends(get_service)):
    """Status ("ok", or "degraded" with the problems: still answering, less well or from a copy), ranking
    mode, document and passage counts, model and index build."""
    return service.health()


@router.post("/admin/reload", include_in_schema=False)
def admin_reload(authorization: str = Header(""), service: Service = Depends(get_service),
                 settings: Settings = Depends(get_settings)):
    """Take up a newly built index now (it is also picked up by itself within a second or two)."""
    if not settings.admin_token:
        raise NotFound("There is no admin reload here: set RAG_ADMIN_TOKEN on the server to enable it.")
    if not hmac.compare_digest(authorization.encode(), f"Bearer {settings.admin_token}".encode()):
        return JSONResponse({"detail": "Send the admin token as: Authorization: Bearer <RAG_ADMIN_TOKEN>"},
                            status_code=401)
    reply = {"reloaded": service.reload_if_changed(), "build": service.index.path.name}
    if service.reload_error:  # the newest build would not load: why
        reply["error"] = service.reload_error
    return reply


@router.get("/api/feedback", tags=["api"], responses=errors(401, 404))
def api_feedback_list(authorization: str = Header(""), limit: int = Query(500, ge=1, le=5000),
                      settings: Settings = Depends(get_settings), store: FeedbackStore = Depends(get_feedback)):
    """The feedback people gave on answers, newest first (needs Authorization: Bearer <RAG_ADMIN_TOKEN>)."""
    require_admin(authorization, settings, "feedback list")
    return {"feedback": store.feedback(limit)}
