"""Scale benchmark: search over 10 k, 100 k and 1 M passages, in process.

    .venv/bin/python bench/scale.py                      # --sizes 10000,100000,1000000
    .venv/bin/python bench/scale.py --sizes 100000 --json

The passages are the real corpus's (from the built index, index/ or --index-dir), recombined under
generated council names: each generated council gets a copy of every real document, its passages'
BM25 context names that council instead of the real one. Their vectors are the real passages' vectors
perturbed with Gaussian noise and renormalised: embedding a million passages on 2 cores would take
hours, so the text is real but the vectors are synthetic (the output says so). The questions are the
dev questions (eval/questions.jsonl), encoded for real by the ONNX model on every query.

Each size runs in its own process (so resident memory is that size's alone) and prints: build seconds
(BM25 matrix, FAISS index with its recall check, retriever), disk (FAISS file, BM25 matrix, passages
as JSON), resident memory, hybrid p50 / p95 (encoding included) and BM25-only p50. `--json` prints one
line: {"sizes": [{"passages", "build_s", "disk_mb", "rss_mb", "hybrid_p50_ms", "hybrid_p95_ms",
"bm25_p50_ms", ...}]}.
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIGMA = 0.015  # per coordinate: a perturbation of norm ~0.3 on a unit vector
NOTE = ("passages: the real corpus's text recombined under generated council names; vectors: the real "
        "passages' vectors perturbed with Gaussian noise (sigma 0.015 per coordinate, about 0.3 in norm, renormalised: cosine about 0.96 to the original), "
        "because embedding a million passages on 2 cores would take hours; questions: the dev set, "
        "encoded by the real ONNX model on every query")

_STEMS = ["Ash", "Bram", "Carr", "Dun", "Elm", "Fen", "Gar", "Hol", "Ing", "Kel", "Lang", "Mar", "Nor", "Oak",
          "Pen", "Quar", "Ross", "Stan", "Thorn", "Ul", "Ver", "Wex", "Yar", "Ald", "Bex", "Cal", "Dor", "Esk",
          "Fal", "Gold"]
_ENDS = ["ford", "ley", "ton", "bury", "field", "wick", "ham", "by", "worth", "mere", "stow", "dale", "port",
         "well", "combe", "hurst", "minster", "thorpe", "side", "gate", "bridge", "moor", "holme", "chester",
         "wood", "brook", "cliff", "marsh", "haven", "vale"]
_KINDS = ["Council", "County Council", "Borough Council", "City Council", "District Council"]


def council_names(n: int) -> list[str]:
    names = (f"{a}{b} {kind}" for kind, a, b in itertools.product(_KINDS, _STEMS, _ENDS))
    out = list(itertools.islice(names, n))
    if len(out) < n:
        raise SystemExit(f"only {len(out)} council names can be generated; ask for fewer passages")
    return out


def rss_mb() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def one_size(n: int, index_dir: Path, questions: list[str], repeats: int) -> dict:
    import numpy as np
    import scipy.sparse as sp

    from rag.bm25 import BM25Matrix
    from rag.embedding import get_embedder
    from rag.index import Index, load_index
    from rag.retrieval import BM25Ranker, Retriever
    from rag.text import tokenize
    from rag.types import Document, Passage
    from rag.vectors import build_vector_index

    real = load_index(index_dir)
    base_vectors = real.vectors.reconstruct_n(0, real.vectors.ntotal)
    r = len(real.passages)
    copies = -(-n // r)
    names = council_names(copies)
    embedder = get_embedder(real.manifest["model"]["name"])
    rng = np.random.default_rng(0)

    t0 = time.perf_counter()
    # Passages and documents: council c holds a copy of every real document (the text object is shared).
    documents, passages = {}, []
    for c, name in enumerate(names):
        slug = name.lower().replace(" ", "-")
        for doc in real.documents.values():
            documents[f"{slug}--{doc.id}"] = Document(f"{slug}--{doc.id}", doc.title, (name,), doc.kind, doc.date,
                                                      doc.path, doc.text, doc.sha256)
        passages.extend(Passage(f"{slug}--{p.doc_id}", p.section, p.start, p.end, (name,)) for p in real.passages)
    passages = passages[:n]
    # BM25: each real passage's terms, with its councils' terms swapped for the generated council's.
    vocab: dict[str, int] = {}
    base_terms = []
    for p, tokens in zip(real.passages, real.tokens):
        drop = set(tokenize(", ".join(p.councils)))
        base_terms.append(np.array([vocab.setdefault(t, len(vocab)) for t in tokens if t not in drop], dtype=np.int32))
    council_terms = [np.array([vocab.setdefault(t, len(vocab)) for t in tokenize(name)], dtype=np.int32) for name in names]
    rows = [np.concatenate([council_terms[i // r], base_terms[i % r]]) for i in range(n)]
    lengths = np.array([len(x) for x in rows])
    tf = sp.csr_matrix((np.ones(int(lengths.sum()), dtype=np.int32),
                        (np.concatenate(rows), np.repeat(np.arange(n), lengths))), shape=(len(vocab), n))
    del rows
    tf.sum_duplicates()
    bm25 = BM25Matrix(vocab, tf, k1=1.2, b=0.75)
    # Vectors: the real ones, perturbed.
    vectors = np.empty((n, base_vectors.shape[1]), dtype=np.float32)
    for lo in range(0, n, 100_000):
        hi = min(n, lo + 100_000)
        block = base_vectors[np.arange(lo, hi) % r] + rng.normal(0, SIGMA, size=(hi - lo, base_vectors.shape[1])).astype(np.float32)
        vectors[lo:hi] = block / np.linalg.norm(block, axis=1, keepdims=True)
    dense, kind = build_vector_index(vectors)
    build_s = time.perf_counter() - t0
    # The dev questions' recall@100 against exact search (the build checked sample queries, not these).
    import faiss

    asked = np.ascontiguousarray(embedder.encode(questions), dtype=np.float32)
    if kind["kind"] != "flat":
        exact = faiss.IndexFlatIP(vectors.shape[1])
        exact.add(vectors)
        from rag.vectors import recall_at

        kind = dict(kind, dev_recall_at_100=round(recall_at(dense, exact, asked), 4))
        del exact
    del vectors
    t1 = time.perf_counter()
    index = Index(real.path, real.manifest, documents, passages, [], dense)
    retriever = Retriever(index, embedder)
    ranker = BM25Ranker([])
    ranker.matrix, ranker.size = bm25, n
    retriever.rankers["bm25"] = ranker
    build_s += time.perf_counter() - t1

    with tempfile.TemporaryDirectory(prefix="rag-scale-") as tmp:
        faiss.write_index(dense, os.path.join(tmp, "vectors.faiss"))
        sp.save_npz(os.path.join(tmp, "bm25.npz"), tf, compressed=False)
        with open(os.path.join(tmp, "passages.json"), "w") as f:
            json.dump([[p.doc_id, list(p.section), p.start, p.end, list(p.councils)] for p in passages], f)
        disk_mb = sum(os.path.getsize(os.path.join(tmp, f)) for f in os.listdir(tmp)) / 2**20
    del tf

    for q in questions[:3]:  # warm up: first calls pay for lazy set-up
        retriever.search(q + " warm", 10)
    timings: dict[str, list[float]] = {"hybrid": [], "bm25": [], "encode": []}
    for rep in range(repeats):
        for i, q in enumerate(questions):
            unique = f"{q} ({rep * len(questions) + i})"  # never the same text twice: no cache can help
            for mode in ("hybrid", "bm25"):
                t = time.perf_counter()
                hits = retriever.search(unique, 10, mode=mode)
                timings[mode].append((time.perf_counter() - t) * 1000)
                assert len(hits) == 10
            t = time.perf_counter()
            embedder.encode([unique + " encode"])
            timings["encode"].append((time.perf_counter() - t) * 1000)
    return {"passages": n, "build_s": round(build_s, 2), "disk_mb": round(disk_mb, 1), "rss_mb": round(rss_mb(), 1),
            "hybrid_p50_ms": round(percentile(timings["hybrid"], 50), 2),
            "hybrid_p95_ms": round(percentile(timings["hybrid"], 95), 2),
            "bm25_p50_ms": round(percentile(timings["bm25"], 50), 3),
            "encode_p50_ms": round(percentile(timings["encode"], 50), 2),
            "vector_index": kind, "councils": copies, "vocabulary": len(vocab)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--index-dir", default=str(ROOT / "index"), help="the real index to recombine")
    parser.add_argument("--questions", default=str(ROOT / "eval" / "questions.jsonl"))
    parser.add_argument("--repeats", type=int, default=3, help="passes over the questions per size")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # run one size here (the child process)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    questions = [json.loads(line)["q"] for line in open(args.questions, encoding="utf-8") if line.strip()]

    if args.one:
        print(json.dumps(one_size(args.one, Path(args.index_dir), questions, args.repeats)))
        return 0
    results = []
    if not args.json:
        print(f"note: {NOTE}\n")
        print(f"{'passages':>9} {'build s':>8} {'disk MB':>8} {'RSS MB':>8} {'hybrid p50':>11} {'p95':>7} "
              f"{'bm25 p50':>9} {'encode p50':>11}  dense index")
    for n in [int(s) for s in args.sizes.split(",") if s.strip()]:
        out = subprocess.run([sys.executable, __file__, "--one", str(n), "--index-dir", args.index_dir,
                              "--questions", args.questions, "--repeats", str(args.repeats)],
                             capture_output=True, text=True)
        if out.returncode != 0:
            sys.stderr.write(out.stderr)
            return out.returncode
        row = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(row)
        if not args.json:
            print(f"{row['passages']:>9} {row['build_s']:>8.1f} {row['disk_mb']:>8.1f} {row['rss_mb']:>8.0f} "
                  f"{row['hybrid_p50_ms']:>8.2f} ms {row['hybrid_p95_ms']:>7.2f} {row['bm25_p50_ms']:>6.2f} ms "
                  f"{row['encode_p50_ms']:>8.2f} ms  {json.dumps(row['vector_index'])}", flush=True)
    if args.json:
        print(json.dumps({"sizes": results, "note": NOTE}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
