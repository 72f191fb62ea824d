"""Evaluation: retrieval (hit@1, hit@5, MRR@10, latency), answers (answer@1), must-mention answers,
conversations and declining.

A passage is a hit when one of the question's evidence strings, normalised by text.normalize, is a
substring of the normalised passage, and the passage is at most 1,500 characters long (a person
must be able to read what we cite). A question file's kind is read from its rows:
- "turns": conversations; a turn is answered when its answer holds an evidence string or every
  must_mention group;
- "must_mention" (groups of alternatives): the answer (with the record's summary) holds one
  alternative of every group, case-insensitively;
- "evidence": retrieval metrics and answer@1;
- none of these ("why"): unanswerable, to be declined.
Every set splits by a stable hash of the question id into a tuning part and a validation part
(about 40 %), so a change can be tuned on one and checked on the other.
"""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

from .errors import RagError
from .service import Service
from .text import normalize

MAX_CITABLE_CHARS = 1500
SPLITS = ("tune", "validation")


def split_of(question_id: str) -> str:
    """"validation" for about 40 % of ids (by SHA-1, so stable and unrelated to content), else "tune"."""
    return "validation" if int(hashlib.sha1(question_id.encode()).hexdigest(), 16) % 5 < 2 else "tune"


def load_questions(path: Path, split: str | None = None) -> list[dict]:
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
                           '{"id": ..., "q": ..., "evidence": [...]} or {"id": ..., "turns": [...]}')
        if not isinstance(q, dict):
            raise RagError(f"{path}, line {number}: not a JSON object")
        turns = q.get("turns")
        items = turns if isinstance(turns, list) else [q]
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("q"), str) \
                    or not _strings(item.get("evidence", [])) \
                    or not all(_strings(g) for g in item.get("must_mention", [])):
                raise RagError(f'{path}, line {number}: needs "q" (a string), and "evidence" (a list of strings) or '
                               '"must_mention" (a list of lists of strings), or "turns" (a list of those)')
        q.setdefault("id", str(number))
        questions.append(q)
    if split:
        questions = [q for q in questions if split_of(q["id"]) == split]
    if not questions:
        raise RagError(f"{path} has no questions" + (f" in the {split} split" if split else ""))
    return questions


def _strings(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def set_kind(questions: list[dict]) -> str:
    """"dialogs", "mentions", "retrieval" or "unanswerable": what the rows of a question file hold."""
    if any("turns" in q for q in questions):
        return "dialogs"
    if any(q.get("must_mention") for q in questions):
        return "mentions"
    if any(q.get("evidence") for q in questions):
        return "retrieval"
    return "unanswerable"


def first_hit_rank(texts: list[str], evidence: list[str]) -> int | None:
    wanted = [normalize(e) for e in evidence if normalize(e)]
    for rank, text in enumerate(texts, 1):
        if len(text) <= MAX_CITABLE_CHARS and any(e in normalize(text) for e in wanted):
            return rank
    return None


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] if ordered else 0.0


def shown(reply: dict) -> str:
    """What a person is shown as the answer: the answer, and the record's summary where there is one."""
    return " ".join(filter(None, [reply.get("answer") or "", (reply.get("fact") or {}).get("summary") or ""]))


def answer_hit(answer: str, evidence: list[str]) -> bool:
    """answer@1: the answer text contains an evidence string (normalised)."""
    return bool(answer) and any(normalize(e) in normalize(answer) for e in evidence if normalize(e))


def mentions_all(answer: str, groups: list[list[str]]) -> bool:
    """Every group has one alternative in the answer (case-insensitive, quotes and marks folded)."""
    text = normalize(answer)
    return bool(groups) and all(any(normalize(alt) in text for alt in group) for group in groups)


def turn_answered(reply: dict, item: dict) -> bool:
    text = shown(reply)
    return (bool(item.get("evidence")) and answer_hit(text, item["evidence"])) or \
        (bool(item.get("must_mention")) and mentions_all(text, item["must_mention"]))


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
        row = {"id": q["id"], "q": q["q"], "kind": q.get("kind", "factual"), "rank": rank,
               "evidence": q.get("evidence", []), "passages": result["results"]}
        if answers:
            reply = service.ask(q["q"])
            row.update(answer=shown(reply), found=reply["found"],
                       answer_hit=answer_hit(shown(reply), q.get("evidence", [])))
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
        report.update(evaluate_declines(service, unanswerable))
        metrics.update(report.pop("metrics_declines"))
    return report


def evaluate_declines(service: Service, questions: list[dict]) -> dict:
    declined = []
    for q in questions:
        reply = service.ask(q["q"])
        declined.append({"id": q["id"], "q": q["q"], "declined": not reply["found"],
                         "answer": shown(reply), "message": reply["message"]})
    return {"metrics_declines": {"unanswerable_n": len(declined),
                                 "declined": sum(d["declined"] for d in declined) / len(declined)},
            "unanswerable": declined}


def evaluate_mentions(service: Service, questions: list[dict]) -> dict:
    """Questions whose answer must mention groups of words (performance: overview, compare, rank, ...)."""
    rows = []
    for q in questions:
        reply = service.ask(q["q"])
        rows.append({"id": q["id"], "q": q["q"], "kind": q.get("kind", "factual"), "answer": shown(reply),
                     "found": reply["found"], "ok": mentions_all(shown(reply), q["must_mention"]),
                     "must_mention": q["must_mention"]})
    kinds = sorted({r["kind"] for r in rows})
    metrics = {"n": len(rows), "mentioned": sum(r["ok"] for r in rows) / len(rows),
               "by_kind": {kd: round(sum(r["ok"] for r in rows if r["kind"] == kd)
                                     / sum(r["kind"] == kd for r in rows), 3) for kd in kinds}}
    return {"metrics": metrics, "questions": rows}


def evaluate_dialogs(service: Service, dialogs: list[dict]) -> dict:
    """Conversations: each turn asked with the conversation id of the one before."""
    rows = []
    for d in dialogs:
        conversation = None
        for number, turn in enumerate(d["turns"], 1):
            reply = service.ask(turn["q"], conversation_id=conversation)
            conversation = reply["conversation_id"]
            rows.append({"id": f"{d['id']}.{number}", "q": turn["q"], "answer": shown(reply),
                         "found": reply["found"], "ok": turn_answered(reply, turn)})
    metrics = {"n": len(rows), "conversations": len(dialogs), "answered": sum(r["ok"] for r in rows) / len(rows)}
    return {"metrics": metrics, "questions": rows}


def evaluate_file(service: Service, path: Path, split: str | None = None, **options) -> dict:
    """One question file, evaluated as what its rows hold; `kind` in the result says which."""
    questions = load_questions(path, split)
    kind = set_kind(questions)
    if kind == "dialogs":
        report = evaluate_dialogs(service, questions)
    elif kind == "mentions":
        report = evaluate_mentions(service, questions)
    elif kind == "unanswerable":
        report = evaluate_declines(service, questions)
        report["metrics"] = report.pop("metrics_declines")
    else:
        report = evaluate(service, questions, **options)
    return dict(report, kind=kind, file=str(path), split=split or "all")
