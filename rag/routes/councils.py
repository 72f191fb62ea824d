"""Ratings and scores: /councils and /councils/{slug} beside /api/councils and /api/councils/{slug}."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from .. import cqc
from ..render import page
from ..service import Service
from . import errors, get_service

router = APIRouter()


# --- JSON ---

@router.get("/api/councils", tags=["api"], responses=errors())
def api_councils(service: Service = Depends(get_service)):
    """Every council with its overall rating and quality statement scores, as read from the reports."""
    return {"councils": service.councils(), "score_meanings": cqc.SCORE_MEANINGS,
            "quality_statements": list(cqc.QUALITY_STATEMENTS)}


@router.get("/api/councils/{slug}", tags=["api"], responses=errors(404))
def api_council(slug: str, service: Service = Depends(get_service)):
    """One council's record: rating, each score with its meaning, and the passage stating each."""
    return service.council(slug)


# --- HTML ---

def _score_words() -> dict:
    return {n: m.split(":")[0] for n, m in cqc.SCORE_MEANINGS.items()}


@router.get("/councils", response_class=HTMLResponse, include_in_schema=False)
def councils(request: Request, service: Service = Depends(get_service)):
    # each council's full record, so that every value on the page links to the passage stating it
    records = [service.council(c["slug"]) for c in service.councils()]
    scored = [r for r in records if r["statements"]]
    pilot = next((r["rating_source"] for r in records if r["indicative"] and r["rating_source"]), None)
    return page(request, "councils.html", councils=records, scored=scored, statements=cqc.QUALITY_STATEMENTS,
                score_meanings=cqc.SCORE_MEANINGS, score_words=_score_words(), pilot=pilot)


@router.get("/councils/{slug}", response_class=HTMLResponse, include_in_schema=False)
def council(request: Request, slug: str, service: Service = Depends(get_service)):
    return page(request, "council.html", c=service.council(slug), score_words=_score_words())
