"""The `rag` command: index, search, eval, serve. Thin: it parses flags and calls the service."""
from __future__ import annotations

import argparse
import json
import logging
import sys
import textwrap
import time
from pathlib import Path

from .config import Settings
from .errors import RagError

log = logging.getLogger("rag")


def _settings(args) -> Settings:
    return Settings().with_overrides(index_dir=getattr(args, "index_dir", None))


def _service(args, dense: bool = True):
    from .service import Service

    return Service(_settings(args), dense=dense)


def cmd_index(args) -> int:
    from .index import build_index

    settings = _settings(args).with_overrides(model=args.model)
    t0 = time.perf_counter()
    result = build_index(settings, [Path(p) for p in args.paths] or None, progress=not args.quiet, force=args.force)
    took = time.perf_counter() - t0
    for line in _file_lines(settings):
        print(line)
    if result.up_to_date:
        print(f"Index in {settings.index_dir} is up to date: {result.documents} documents, {result.passages} passages.")
    else:
        print(f"Indexed {result.documents} documents into {result.passages} passages in {took:.1f} s "
              f"({result.embedded} embedded, {result.passages - result.embedded} reused) -> {result.path}")
    return 0


def cmd_export_onnx(args) -> int:
    from .embedding import export_onnx

    settings = _settings(args).with_overrides(model=args.model)
    folder = export_onnx(settings.model, quantized=args.int8, force=args.force)
    print(f"ONNX export of {settings.model} in {folder}")
    return 0


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _file_lines(settings) -> list[str]:
    """One line per indexed file saying what was read from it, so a person can see a PDF was read well."""
    from pathlib import PurePath

    from .facts import Facts
    from .index import load_index

    index = load_index(settings.index_dir)
    facts = Facts(index)
    records: dict[str, list[str]] = {}
    for rec in facts.councils.values():
        for fact in [rec.rating, rec.score_counts, *rec.statements.values(), *rec.ratings_stated]:
            if fact is not None and fact not in records.get(fact.doc_id, []):
                records.setdefault(fact.doc_id, []).append(fact)
    lines = []
    for doc in index.documents.values():
        passages = [p for p in index.passages if p.doc_id == doc.id]
        sections = {p.section for p in passages if p.section}
        found = records.get(doc.id, [])
        kinds = [_count(sum(f.kind == k for f in found), name) for k, name in
                 (("rating", "rating"), ("score", "score"), ("score_counts", "score count"))
                 if any(f.kind == k for f in found)]
        pages = f", {_count(len(doc.page_starts), 'page')}" if doc.page_starts else ""
        what = _count(len(sections), "section") if sections else "no headings found: indexed by paragraphs"
        lines.append(f"  {PurePath(doc.path).name}: {doc.format}{pages}; {_count(len(passages), 'passage')}, {what}, "
                     f"{_count(len(found), 'record')}" + (f" ({', '.join(kinds)})" if kinds else ""))
    return lines


def _print_results(results: list[dict]) -> None:
    for i, r in enumerate(results, 1):
        print(f"{i}. {r['title']}")
        print(f"   {r['section'] or '(start of document)'}   [{r['doc']} {r['start']}-{r['end']}, score {r['score']:.3f}]")
        for line in r["text"].splitlines():
            print(textwrap.fill(line, width=100, initial_indent="   ", subsequent_indent="   ") if line.strip() else "")
        print()


def cmd_search(args) -> int:
    service = _service(args)
    result = service.search(args.query, k=args.k, council=args.council, doc=args.doc, mode=args.mode)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(f"mode: {result['mode']}\n")
        _print_results(result["results"])
        if not result["results"]:
            print("No passages found.")
    return 0


def _print_answer(reply: dict) -> None:
    """An /api/ask reply as text: what was searched for, whose fact it is, the answer (or why not), the
    table of a comparison, and the sources, numbered as the answer cites them."""
    if reply["searched_for"]:
        print(f"Showing results for: {reply['searched_for']}")
    if reply["answer_label"]:
        print(reply["answer_label"])
    print(reply["answer_plain"] if reply["found"] else reply["message"])
    if reply["table"]:
        table = reply["table"]
        print(f"\n{table['caption']}\n  " + " | ".join(table["columns"]))
        for row in table["rows"]:
            print("  " + " | ".join([row["header"], *(c["text"] for c in row["cells"])]))
    if reply["records"]:
        print("\nFrom the records:")
        for rec in reply["records"]:
            src = rec["source"]
            print(f"  - {rec['summary']}  [{src['doc']} {src['start']}-{src['end']}]")
    if reply["citations"]:
        quoted = (reply["answer_source"] or {}).get("citation")
        print("\nSources:")
        for i, c in enumerate(reply["citations"]):
            mark = "  (quoted)" if i == quoted else ""
            print(f"  [{i + 1}] {c['title']} — {c['section'] or '(start of document)'}  [{c['doc']} {c['start']}-{c['end']}]{mark}")


def cmd_ask(args) -> int:
    service = _service(args)
    conversation = None
    for n, question in enumerate(args.questions):
        reply = service.ask(question, conversation_id=conversation, council=args.council, doc=args.doc)
        conversation = reply["conversation_id"]
        if args.json:
            print(json.dumps(reply, ensure_ascii=False))
            continue
        if len(args.questions) > 1:
            print(f"{'' if n == 0 else chr(10)}> {question}")
        _print_answer(reply)
    return 0


def cmd_eval(args) -> int:
    from .evaluate import evaluate, evaluate_file, load_questions
    from .report import load_peers, peers_for, write as write_report

    for f in [*args.questions, *([args.unanswerable] if args.unanswerable else [])]:
        load_questions(Path(f), args.split)  # a bad question file is reported before the index is loaded
    peers = load_peers(Path(args.peers)) if args.peers else []
    service = _service(args, dense=args.mode != "bm25")
    if args.unanswerable:  # one retrieval set with its unanswerable set, as before
        questions = load_questions(Path(args.questions[0]), args.split)
        report = evaluate(service, questions, k=args.k, mode=args.mode, answers=not args.no_answers,
                          unanswerable=load_questions(Path(args.unanswerable), args.split))
        reports = [dict(report, kind="retrieval", file=args.questions[0], split=args.split or "all")]
    else:
        reports = [evaluate_file(service, Path(f), args.split, k=args.k, mode=args.mode, answers=not args.no_answers)
                   for f in args.questions]
    if args.report:
        write_report(Path(args.report), reports, peers)
    if args.json:
        print(json.dumps(reports[0] if len(reports) == 1 else {"reports": reports}, ensure_ascii=False, indent=2))
        return 0
    for report in reports:
        _print_report(report, args.k)
        for peer in peers_for(peers, report):
            print(f"  beside: {peer['system']} ({peer['config']}): hit@1 {peer['hit1']:.3f}  hit@5 {peer['hit5']:.3f}  "
                  f"MRR@10 {peer['mrr10']:.3f}")
    if args.report:
        print(f"report written to {args.report}")
    return 0


def _print_report(report: dict, k: int) -> None:
    m = report["metrics"]
    print(f"== {report['file']} ({report['kind']}, split {report['split']}, {m.get('n', m.get('unanswerable_n'))} questions)")
    if report["kind"] == "retrieval":
        print(f"mode {m['mode']}   k {k}")
        print(f"hit@1   {m['hit1']:.3f}\nhit@5   {m['hit5']:.3f}\nMRR@10  {m['mrr10']:.3f}")
        print(f"p50     {m['p50_ms']:.1f} ms\np95     {m['p95_ms']:.1f} ms")
        missed = [f"{q['id']} (rank {q['rank'] or '>' + str(k)})" for q in report["questions"] if q["rank"] != 1]
        print("not at rank 1: " + (", ".join(missed) if missed else "none"))
        if "answer1" in m:
            print(f"answer@1          {m['answer1']:.3f}")
            print(f"wrongly declined  {m['wrongly_declined']:.3f}")
            wrong = [q["id"] for q in report["questions"] if not q["answer_hit"]]
            print("answer misses: " + (", ".join(wrong) if wrong else "none"))
    elif report["kind"] == "mentions":
        print(f"answers mentioning every group  {m['mentioned']:.3f}")
        print("by kind: " + ", ".join(f"{kind} {v:.2f}" for kind, v in m["by_kind"].items()))
        print("misses: " + (", ".join(q["id"] for q in report["questions"] if not q["ok"]) or "none"))
    elif report["kind"] == "dialogs":
        print(f"turns answered  {m['answered']:.3f} ({m['n']} turns in {m['conversations']} conversations)")
        print("misses: " + (", ".join(q["id"] for q in report["questions"] if not q["ok"]) or "none"))
    if "declined" in m:
        print(f"unanswerable declined  {m['declined']:.3f} ({m['unanswerable_n']} questions)")
        kept = [d["id"] for d in report["unanswerable"] if not d["declined"]]
        print("answered anyway: " + (", ".join(kept) if kept else "none"))


def cmd_serve(args) -> int:
    import os
    import tempfile

    from .app import create_app
    from .config import ConfigError
    from .index import load_index
    from .server import serve

    settings = _settings(args).with_overrides(host=args.host, port=args.port)
    if args.workers < 1:
        raise ConfigError(f"--workers must be 1 or more (got {args.workers}).")
    if args.quiet:
        os.environ["RAG_ACCESS_LOG"] = "off"
        settings = settings.with_overrides(access_log="off")
    if args.workers > 1:
        # Each worker process loads the index itself and they share one SQLite file for the
        # conversations and the rate limit. Check the index here so a missing one is reported before forking.
        load_index(settings.index_dir)
        os.environ["RAG_INDEX_DIR"] = str(settings.index_dir)
        os.environ.setdefault("RAG_TORCH_THREADS", str(max(1, (os.cpu_count() or 1) // args.workers)))
        if settings.conversation_db == ":memory:":
            state = Path(tempfile.mkdtemp(prefix="rag-serve-"))
            os.environ["RAG_CONVERSATION_DB"] = str(state / "conversations.sqlite")
        serve(settings, "rag.server:worker_app", workers=args.workers)
        return 0
    app = create_app(settings)  # loads the index now, so a missing one is reported before listening
    print(f"Serving {settings.index_dir} on http://{settings.host}:{settings.port}/", file=sys.stderr)
    serve(settings, app)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rag", description="Cited answers from CQC assessments of councils' adult social care.")
    parser.add_argument("-v", "--verbose", action="store_true", help="show informational messages")
    sub = parser.add_subparsers(dest="command", required=True)

    def index_dir(p):
        p.add_argument("--index-dir", type=Path, help="index folder (default: index/, or RAG_INDEX_DIR)")

    p = sub.add_parser("index", help="build the index (only what changed is embedded again)")
    p.add_argument("paths", nargs="*", help="files or folders to index (default: corpus/)")
    index_dir(p)
    p.add_argument("--model", help="sentence-transformers model name or local folder (default: all-MiniLM-L6-v2)")
    p.add_argument("--force", action="store_true", help="rebuild everything, reusing nothing")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("export-onnx", help="export the embedding model to ONNX (done by itself when first needed)")
    p.add_argument("--model", help="sentence-transformers model name or local folder (default: all-MiniLM-L6-v2)")
    p.add_argument("--int8", action="store_true", help="also the int8 (dynamically quantised) variant")
    p.add_argument("--force", action="store_true", help="export again even if the cache has it")
    p.set_defaults(func=cmd_export_onnx)

    p = sub.add_parser("search", help="the passages that best match a question")
    p.add_argument("query")
    p.add_argument("-k", type=int, default=10, help="number of passages (1-50, default 10)")
    p.add_argument("--council", help="only documents about this council, e.g. Blackpool")
    p.add_argument("--doc", help="only this document (its id)")
    p.add_argument("--mode", choices=("hybrid", "bm25", "dense"), help="ranking (default: hybrid when possible)")
    index_dir(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("ask", help="a cited answer; several questions are one conversation (each a follow-up)")
    p.add_argument("questions", nargs="+", metavar="question")
    p.add_argument("--council", help="only documents about this council, e.g. Blackpool")
    p.add_argument("--doc", help="only this document (its id)")
    index_dir(p)
    p.add_argument("--json", action="store_true", help="print each reply as the JSON of POST /api/ask, one per line")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("eval", help="hit@1, hit@5, MRR@10, latency, answer@1, must-mention answers, conversations "
                                    "and decline rate on question files")
    p.add_argument("questions", nargs="+", help='JSON lines: {"id", "q", "evidence": [...]} (retrieval and answers), '
                                                '{"id", "q", "must_mention": [[...]]}, {"id", "turns": [...]} '
                                                '(conversations) or {"id", "q"} (unanswerable)')
    p.add_argument("--split", choices=("tune", "validation"), help="only this part of each set (by a hash of the id)")
    p.add_argument("--peers", help="the peers' results (eval/peers_results.json): shown beside ours")
    p.add_argument("--report", help="also write the evaluation as a self-contained HTML page: charts, tables, every miss")
    p.add_argument("-k", type=int, default=10)
    p.add_argument("--mode", choices=("hybrid", "bm25", "dense"), help="ranking to evaluate (default: hybrid)")
    index_dir(p)
    p.add_argument("--unanswerable", help="questions the reports do not answer (JSON lines with id, q): report the decline rate")
    p.add_argument("--no-answers", action="store_true", help="retrieval metrics only (skip answer@1)")
    p.add_argument("--json", action="store_true", help="print JSON with every question's ranked passages")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("serve", help="start the web service")
    p.add_argument("--host", help="default 127.0.0.1")
    p.add_argument("--port", type=int, help="default 8000")
    index_dir(p)
    p.add_argument("--workers", type=int, default=1, help="worker processes sharing the index (default 1)")
    p.add_argument("-q", "--quiet", action="store_true", help="no access log (RAG_ACCESS_LOG=json for JSON lines)")
    p.set_defaults(func=cmd_serve)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s: %(message)s", stream=sys.stderr)
    logging.addLevelName(logging.WARNING, "warning")
    logging.addLevelName(logging.ERROR, "error")
    logging.addLevelName(logging.INFO, "info")
    try:
        return args.func(args)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
