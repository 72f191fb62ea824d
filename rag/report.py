"""`rag eval --report FILE.html`: the evaluation as one self-contained page (no CDN, no script).

The figures of each question set (and the peers' beside ours, when given their results) as bar charts
drawn in SVG and as tables, then every miss: the question, the evidence expected, what was ranked
first, and where the right passage came.
"""
from __future__ import annotations

import json
from pathlib import Path

import jinja2

from .config import PROJECT_ROOT
from .errors import RagError

# The figures shown per kind of set, in this order, with their labels.
FIGURES = {
    "retrieval": [("hit1", "hit@1"), ("hit5", "hit@5"), ("mrr10", "MRR@10"), ("answer1", "answer@1")],
    "mentions": [("mentioned", "answers mentioning every group")],
    "dialogs": [("answered", "turns answered")],
    "unanswerable": [("declined", "declined")],
}


def load_peers(path: Path) -> list[dict]:
    """The peers' results (eval/peers_results.json): [{"system", "config", "set", "split", "hit1", ...}]."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RagError(f"Cannot read the peers' results {path}: {exc}. It must be JSON as written by the peers run "
                       '({"results": [{"system", "config", "set", "split", "hit1", "hit5", "mrr10"}]}).')
    results = data.get("results") if isinstance(data, dict) else None
    if not isinstance(results, list):
        raise RagError(f'{path} has no "results" list')
    return [r for r in results if isinstance(r, dict)]


def peers_for(peers: list[dict], report: dict) -> list[dict]:
    """Each peer system's best configuration (by hit@1) on this report's question set and split."""
    name = Path(report["file"]).as_posix()
    rows = [r for r in peers if Path(str(r.get("set", ""))).as_posix().endswith(name.split("eval/", 1)[-1])
            and r.get("split", "all") == report["split"]]
    best: dict[str, dict] = {}
    for r in rows:
        if r.get("system") not in best or r.get("hit1", 0) > best[r["system"]].get("hit1", 0):
            best[r["system"]] = r
    return sorted(best.values(), key=lambda r: r["system"])


def misses(report: dict) -> list[dict]:
    out = []
    for q in report.get("questions", []):
        if report["kind"] == "retrieval" and (q.get("rank") != 1 or not q.get("answer_hit", True)):
            out.append({"id": q["id"], "q": q["q"], "rank": q.get("rank"), "answer": q.get("answer", ""),
                        "evidence": q.get("evidence", []),
                        "first": (q.get("passages") or [{}])[0]})
        elif report["kind"] in ("mentions", "dialogs") and not q.get("ok"):
            out.append({"id": q["id"], "q": q["q"], "answer": q.get("answer", ""),
                        "evidence": [" / ".join(g) for g in q.get("must_mention", [])] or q.get("evidence", [])})
    for d in report.get("unanswerable", []):
        if not d["declined"]:
            out.append({"id": d["id"], "q": d["q"], "answer": d["answer"], "evidence": ["(should be declined)"]})
    return out


def render(reports: list[dict], peers: list[dict] | None = None) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(PROJECT_ROOT / "web" / "templates"), autoescape=True)
    sets = []
    for report in reports:
        figures = [(label, report["metrics"].get(key)) for key, label in FIGURES[report["kind"]]
                   if report["metrics"].get(key) is not None]
        sets.append({"report": report, "figures": figures, "peers": peers_for(peers or [], report),
                     "misses": misses(report)})
    return env.get_template("eval_report.html").render(sets=sets)


def write(path: Path, reports: list[dict], peers: list[dict] | None = None) -> None:
    try:
        Path(path).write_text(render(reports, peers), encoding="utf-8")
    except OSError as exc:
        raise RagError(f"Cannot write the report to {path}: {exc.strerror or exc}")
