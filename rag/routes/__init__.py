"""The routes, one module per page family; each HTML page sits beside its JSON twin and both call the
same Service method. `create_app` (rag/app.py) includes the routers and turns errors into responses."""
from __future__ import annotations

import hmac

from fastapi import Request
from pydantic import BaseModel, Field

from ..config import Settings
from ..errors import NotFound, RagError
from ..feedback import FeedbackStore
from ..service import Service


class Unauthorized(RagError):
    status_code = 401


# The dependencies are coroutines: FastAPI runs a plain function in a worker thread, a hop for every request.
async def get_service(request: Request) -> Service:
    """The app's Service, as a dependency: `service: Service = Depends(get_service)`."""
    return request.app.state.service


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


class Error(BaseModel):
    detail: str = Field(description="what went wrong and what to change")


def errors(*codes: int) -> dict:
    """OpenAPI entries for the errors a route can answer with: always {"detail": "..."}."""
    meaning = {401: "the admin token is missing or wrong", 404: "no such document, council or answer",
               413: "request body over 64 KB", 422: "invalid input",
               429: "too many requests (see Retry-After)", 503: "the index is missing or damaged"}
    return {code: {"model": Error, "description": meaning[code]} for code in (*codes, 413, 422, 429)}


async def get_feedback(request: Request) -> FeedbackStore:
    """The answers the page showed and the feedback on them (rag/feedback.py)."""
    return request.app.state.feedback


def require_admin(authorization: str, settings: Settings, what: str) -> None:
    """Raise unless `authorization` is "Bearer <RAG_ADMIN_TOKEN>" (404 when no token is set: no admin here)."""
    if not settings.admin_token:
        raise NotFound(f"There is no {what} here: set RAG_ADMIN_TOKEN on the server to enable it.")
    if not hmac.compare_digest(authorization.encode(), f"Bearer {settings.admin_token}".encode()):
        raise Unauthorized("Send the admin token as: Authorization: Bearer <RAG_ADMIN_TOKEN>")
