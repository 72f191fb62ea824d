"""The routes, one module per page family; each HTML page sits beside its JSON twin and both call the
same Service method. `create_app` (rag/app.py) includes the routers and turns errors into responses."""
from __future__ import annotations

from fastapi import Request
from pydantic import BaseModel, Field

from ..config import Settings
from ..service import Service


def get_service(request: Request) -> Service:
    """The app's Service, as a dependency: `service: Service = Depends(get_service)`."""
    return request.app.state.service


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


class Error(BaseModel):
    detail: str = Field(description="what went wrong and what to change")


def errors(*codes: int) -> dict:
    """OpenAPI entries for the errors a route can answer with: always {"detail": "..."}."""
    meaning = {404: "no such document or council", 413: "request body over 64 KB", 422: "invalid input",
               429: "too many requests (see Retry-After)", 503: "the index is missing or damaged"}
    return {code: {"model": Error, "description": meaning[code]} for code in (*codes, 413, 422, 429)}
