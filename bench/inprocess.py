"""Where a worker's CPU goes: one Service in this process, many requests in flight, every question new.

    .venv/bin/python bench/inprocess.py --index-dir index --concurrency 16 --duration 20
    .venv/bin/python bench/inprocess.py --without-statement-encoding   # what that second encoding costs

Requests run as a served worker runs them (rag/waiting.py): each on the event loop, waiting for the
question encoder without holding the loop; `--threads N` runs them from N threads instead, as workers
did before. Each sends unique questions from eval/questions.jsonl (a request number appended),
one /api/ask for every nine /api/search, as bench/load.py does, but without HTTP: it prints requests
per second, CPU per request, the model's share of it (CPU time of the encoding thread inside
Embedder.encode) and model calls per request with their mean batch. `--without-statement-encoding` makes
the question parser's match of the quality statement by meaning (StatementMatcher.by_meaning, which
encodes the question's topic apart from the question) find nothing: it changes answers, and is only
there to measure what that encoding costs. RAG_TORCH_THREADS=1 (one model thread), as in a worker of two.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index-dir", default=str(ROOT / "index"))
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight (16: one of two workers at 32)")
    parser.add_argument("--threads", type=int, default=0,
                        help="run the requests from this many threads instead of on the event loop (as workers did before)")
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--ask-every", type=int, default=10, help="one /api/ask per this many requests")
    parser.add_argument("--without-statement-encoding", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("RAG_TORCH_THREADS", "1")
    import rag.embedding as embedding
    import rag.query as query
    from rag.config import Settings
    from rag import waiting
    from rag.service import Service

    model = {"cpu": 0.0, "calls": 0, "texts": 0}
    encode = embedding.Embedder.encode

    def timed(self, texts, *a, **kw):
        t = time.thread_time()
        out = encode(self, texts, *a, **kw)
        model["cpu"] += time.thread_time() - t
        model["calls"] += 1
        model["texts"] += len(texts)
        return out

    embedding.Embedder.encode = timed
    if args.without_statement_encoding:
        query.StatementMatcher.by_meaning = lambda self, text, also=(): (None, 0.0, 0.0)
    service = Service(Settings().with_overrides(index_dir=Path(args.index_dir), watch_index=False))
    questions = [json.loads(line)["q"] for line in open(ROOT / "eval" / "questions.jsonl") if line.strip()]
    for q in questions[:3]:  # warm up: lazy set-up
        service.search(q + " (warm)")
        service.ask(q + " (warm)")
    model.update(cpu=0.0, calls=0, texts=0)
    counter, lock, done = iter(range(10**9)), threading.Lock(), [0]
    deadline = time.monotonic() + args.duration

    def next_request():
        with lock:
            n = next(counter)
        return (service.ask if n % args.ask_every == 0 else service.search), f"{questions[n % len(questions)]} ({n})"

    def client():
        while time.monotonic() < deadline:
            call, q = next_request()
            call(q)
            with lock:
                done[0] += 1

    async def on_loop():
        async def one():
            while time.monotonic() < deadline:
                call, q = next_request()
                await waiting.run(call, q)
                done[0] += 1
        await asyncio.gather(*(one() for _ in range(args.concurrency)))

    cpu, wall = time.process_time(), time.perf_counter()
    if args.threads:
        threads = [threading.Thread(target=client) for _ in range(args.threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    else:
        asyncio.run(on_loop())
    wall, cpu, n = time.perf_counter() - wall, time.process_time() - cpu, max(1, done[0])
    row = {"concurrency": args.threads or args.concurrency, "on": "threads" if args.threads else "event loop", "requests": done[0], "rps": round(n / wall, 1),
           "cpu_ms_per_request": round(cpu * 1000 / n, 2), "model_ms_per_request": round(model["cpu"] * 1000 / n, 2),
           "texts_encoded_per_request": round(model["texts"] / n, 2),
           "mean_batch": round(model["texts"] / max(1, model["calls"]), 2),
           "without_statement_encoding": args.without_statement_encoding,
           "load_average": round(os.getloadavg()[0], 2)}
    if args.json:
        print(json.dumps(row))
    else:
        print(f"{row['concurrency']} in flight ({row['on']}), {row['requests']} requests: {row['rps']} req/s, CPU {row['cpu_ms_per_request']} "
              f"ms per request, of it the model {row['model_ms_per_request']} ms ({row['texts_encoded_per_request']} texts "
              f"encoded per request, mean batch {row['mean_batch']}); load average {row['load_average']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
