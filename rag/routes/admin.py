"""Operations: /healthz and the admin routes (which need RAG_ADMIN_TOKEN)."""
from __future__ import annotations

import hmac

from fastapi import APIRouter, Depends, Header
from fastapi.responses import JSONResponse

from ..config import Settings
from ..errors import NotFound
from ..service import Service
from . import errors, get_service, get_settings

router = APIRouter()


@router.get("/healthz", tags=["api"], responses=errors())
def healthz(service: Service = Depends(get_service)):
    """Status, ranking mode, document and passage counts, model and index build."""
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
    return {"reloaded": service.reload_if_changed(), "build": service.index.path.name}
