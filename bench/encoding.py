"""Encoding benchmark: what the index build embeds (the corpus's passages and answer spans), timed.

    .venv/bin/python bench/encoding.py                       # batches of 8, every third text
    .venv/bin/python bench/encoding.py --batches 4,8,16,32 --every 1 --json

Prints, per batch size, the CPU and wall seconds of encoding the texts on one thread (texts sorted by
their number of tokens, as the build does), the tokens the model saw with padding against the real
ones, with --intra one stream of calls each using every core (onnxruntime intra-op threads), and with
--pool the build's own path (Embedder.encode_many: one single-threaded call per core at once; for a
third of the shipped corpus's texts, twice at load average 4-5: 9.4 and 10.1 CPU s, 8.6 and 9.7 s wall,
against 11.8 and 11.6 CPU s, 11.4 and 10.7 s wall with intra-op threads). Figures move with the
machine's load: compare settings within one run, in alternation.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def corpus_texts(corpus: Path) -> tuple[list[str], list[str]]:
    """The passages (with their context) and answer spans a build of `corpus` embeds."""
    from rag import chunking
    from rag.answer import candidate_spans
    from rag.config import Settings
    from rag.documents import load_documents
    from rag.index import passage_context, with_councils

    settings = Settings()
    passages, spans = [], []
    for doc in load_documents([corpus], int(settings.max_file_mb * 2**20)):
        ps = with_councils(doc, chunking.chunk_document(doc, settings.target_passage_chars, settings.max_passage_chars))
        passages += [passage_context(p, doc.text[p.start:p.end]) for p in ps]
        pairs = dict.fromkeys((s, e) for p in ps for s, e, _ in candidate_spans(doc.text, p.start, p.end))
        spans += [doc.text[s:e] for s, e in pairs]
    return passages, spans


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=str(ROOT / "corpus"))
    parser.add_argument("--batches", default="8", help="batch sizes to time, comma-separated")
    parser.add_argument("--every", type=int, default=3, help="time every n-th text (1: all of them)")
    parser.add_argument("--pool", action="store_true", help="also time encode_many (every core)")
    parser.add_argument("--intra", action="store_true",
                        help="also time one stream of batches of 8 with onnxruntime's intra-op threads = cores")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from rag.embedding import get_embedder

    passages, spans = corpus_texts(Path(args.corpus))
    texts = (passages + spans)[::args.every]
    embedder = get_embedder()
    lengths = [len(ids) for ids in embedder._ids(texts)]
    rows = []
    for batch in [int(b) for b in args.batches.split(",") if b.strip()]:
        _, _, planned = embedder._plan(texts, batch)
        padded = sum(max(len(i) for i in ids) * len(ids) for _, ids, _ in planned)
        cpu, wall = time.process_time(), time.perf_counter()
        embedder.encode(texts, batch_size=batch, threads=1)
        rows.append({"batch": batch, "cpu_s": round(time.process_time() - cpu, 2),
                     "wall_s": round(time.perf_counter() - wall, 2), "padded_tokens": padded})
    if args.intra:
        cores = os.cpu_count() or 1
        cpu, wall = time.process_time(), time.perf_counter()
        embedder.encode(texts, batch_size=8, threads=cores)
        rows.append({"batch": f"8, {cores} intra-op threads", "cpu_s": round(time.process_time() - cpu, 2),
                     "wall_s": round(time.perf_counter() - wall, 2)})
    if args.pool:
        cpu, wall = time.process_time(), time.perf_counter()
        embedder.encode_many(texts)
        rows.append({"batch": "encode_many", "cpu_s": round(time.process_time() - cpu, 2),
                     "wall_s": round(time.perf_counter() - wall, 2)})
    summary = {"texts": len(texts), "passages": len(passages), "spans": len(spans), "distinct": len(set(texts)),
               "tokens": sum(lengths), "load_average": round(os.getloadavg()[0], 2), "runs": rows}
    if args.json:
        print(json.dumps(summary))
        return 0
    print(f"{len(texts)} texts ({len(set(texts))} distinct), {sum(lengths)} tokens; load average "
          f"{summary['load_average']}")
    for row in rows:
        extra = f", {row['padded_tokens']} tokens with padding" if "padded_tokens" in row else ""
        print(f"batch {row['batch']}: {row['cpu_s']} CPU s, {row['wall_s']} s wall{extra}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
