"""Evaluation: retrieval (hit@1, hit@5, MRR@10, latency), answers (answer@1) and declining.

A passage is a hit when one of the question's evidence strings, normalised by text.normalize, is a
substring of the normalised passage, and the passage is at most 1,500 characters long (a person
must be able to read what we cite).
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from .errors import RagError
from .service import Service
from .text import normalize

MAX_CITABLE_CHARS = 1500


def load_questions(path: Path) -> list[dict]:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise RagError(f"Cannot read the question file {path}: {exc.strerror or exc}")
    questions = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            q = json.loads(line)
        except ValueError:
            raise RagError(f"{path}, line {number}: not valid JSON. Each line must be "
                           '{"id": ..., "q": ..., "evidence": [...], "answer": ...}')
        if not isinstance(q, dict) or not isinstance(q.get("q"), str) or not isinstance(q.get("evidence", []), list) \
                or not all(isinstance(e, str) for e in q.get("evidence", [])):
            raise RagError(f'{path}, line {number}: needs "q" (a string) and "evidence" (a list of strings)')
        q.setdefault("id", str(number))
        questions.append(q)
    if not questions:
        raise RagError(f"{path} has no questions")
    return questions


def first_hit_rank(texts: list[str], evidence: list[str]) -> int | None:
    wanted = [normalize(e) for e in evidence if normalize(e)]
    for rank, text in enumerate(texts, 1):
        if len(text) <= MAX_CITABLE_CHARS and any(e in normalize(text) for e in wanted):
            return rank
    return None


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else 0.0


def answer_hit(answer: str, evidence: list[str]) -> bool:
    """answer@1: the answer text contains an evidence string (normalised)."""
    return bool(answer) and any(normalize(e) in normalize(answer) for e in evidence if normalize(e))


def evaluate(service: Service, questions: list[dict], k: int = 10, mode: str | None = None,
             unanswerable: list[dict] | None = None, answers: bool = True) -> dict:
    """Retrieval metrics of search (hit@1, hit@5, MRR@10, latency) and, with `answers`, of ask: answer@1
    and the share of answerable questions wrongly declined; with `unanswerable`, the share declined."""
    rows, latencies = [], []
    service.search("warm up", k=1, mode=mode)  # the first query pays for lazy initialisation
    for q in questions:
        t0 = time.perf_counter()
        result = service.search(q["q"], k=k, mode=mode)
        latencies.append((time.perf_counter() - t0) * 1000)
        rank = first_hit_rank([r["text"] for r in result["results"]], q.get("evidence", []))
        row = {"id": q["id"], "q": q["q"], "rank": rank, "passages": result["results"]}
        if answers:
            reply = service.ask(q["q"])
            row.update(answer=reply["answer"], found=reply["found"],
                       answer_hit=answer_hit(reply["answer"], q.get("evidence", [])))
        rows.append(row)
    n = len(rows)
    ranks = [r["rank"] for r in rows]
    metrics = {
        "n": n,
        "mode": result["mode"],
        "hit1": sum(r == 1 for r in ranks) / n,
        "hit5": sum(r is not None and r <= 5 for r in ranks) / n,
        "mrr10": sum(1 / r for r in ranks if r is not None and r <= 10) / n,
        "p50_ms": round(percentile(latencies, 50), 2),
        "p95_ms": round(percentile(latencies, 95), 2),
    }
    if answers:
        metrics["answer1"] = sum(r["answer_hit"] for r in rows) / n
        metrics["wrongly_declined"] = sum(not r["found"] for r in rows) / n
    report = {"metrics": metrics, "questions": rows}
    if unanswerable:
        declined = []
        for q in unanswerable:
            reply = service.ask(q["q"])
            declined.append({"id": q["id"], "q": q["q"], "declined": not reply["found"],
                             "answer": reply["answer"], "message": reply["message"]})
        metrics["unanswerable_n"] = len(declined)
        metrics["declined"] = sum(d["declined"] for d in declined) / len(declined)
        report["unanswerable"] = declined
    return report
