"""The FAISS index of the passage vectors: exact (flat) up to FLAT_MAX passages, inverted lists (IVF-Flat)
beyond, with its recall against exact search checked when it is built (HNSW only when asked for).

Flat inner product is exact and costs one pass over every vector per query (about 2 ms at 20,000
passages on this machine's cores). IVF-Flat clusters the vectors (k-means on a sample) and scans
exactly the lists of the nprobe clusters nearest the query: at a million, 4,096 lists and nprobe 16
scan about 4,000 vectors. It replaced HNSW, which bench/scale.py showed worse on every count: at
100,000 passages HNSW (M 32, efSearch 400) built in 23-83 s and found 93 % of the dev questions'
exact top 100 (its sample queries' 99.3 %), IVF built in 9 s and found 99.9 % at nprobe 8 in 0.5 ms;
at a million HNSW took 38 minutes to build and needed efSearch 6,400 on the benchmark's clusters of
near-duplicates, IVF builds in about 2 minutes (dev recall 99.5 % at nprobe 16). An approximate index
is accepted only if its top 100 holds at least MIN_RECALL of the exact top 100 for sample queries;
nprobe (or efSearch) is raised until it does.
"""
from __future__ import annotations

import logging

import faiss
import numpy as np

log = logging.getLogger(__name__)

FLAT_MAX = 20_000
IVF_TRAIN_PER_LIST = 32  # k-means training vectors per list (faiss warns under 39; 32 keeps training fast)
IVF_TRAIN_ITERATIONS = 10
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 64
RECALL_AT = 100
MIN_RECALL = 0.99


def recall_at(approx: faiss.Index, exact: faiss.Index, queries: np.ndarray, k: int = RECALL_AT) -> float:
    """Mean share of the exact top k that the approximate index also returns in its top k."""
    k = min(k, exact.ntotal)
    _, want = exact.search(queries, k)
    _, got = approx.search(queries, k)
    return float(np.mean([len(set(w) & set(g)) / k for w, g in zip(want, got)]))


def sample_queries(matrix: np.ndarray, n: int = 200, seed: int = 0) -> np.ndarray:
    """Queries near the data but not on it: stored vectors, perturbed and renormalised."""
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(matrix), size=min(n, len(matrix)), replace=False)
    q = matrix[rows] + rng.normal(0, 0.05, size=(len(rows), matrix.shape[1])).astype(np.float32)
    return np.ascontiguousarray(q / np.linalg.norm(q, axis=1, keepdims=True), dtype=np.float32)


def _flat(matrix: np.ndarray) -> faiss.Index:
    """Exact inner-product search over these vectors."""
    flat = faiss.IndexFlatIP(matrix.shape[1])
    flat.add(matrix)
    return flat


def _widen(approx: faiss.Index, exact: faiss.Index, queries: np.ndarray, set_value, value: int, limit: int,
           what: str) -> tuple[int, float]:
    """Doubles an approximate index's search breadth (nprobe, efSearch) from `value` until its recall reaches
    MIN_RECALL or the breadth reaches `limit`: (breadth, recall), with a warning if the recall falls short."""
    while True:
        set_value(value)
        recall = recall_at(approx, exact, queries)
        log.info("%s %d: recall@%d %.4f", what, value, RECALL_AT, recall)
        if recall >= MIN_RECALL or value >= limit:
            break
        value *= 2
    if recall < MIN_RECALL:
        log.warning("%s %d: recall@%d only %.4f, using exact search", what, value, RECALL_AT, recall)
    return value, recall


def ivf_lists(n: int) -> int:
    """Lists for n vectors: about 4 * sqrt(n), a power of two (4,096 at a million)."""
    return 1 << max(4, int(round(np.log2(4 * np.sqrt(n)))))


def build_ivf(matrix: np.ndarray, exact: faiss.Index, queries: np.ndarray, seed: int = 0) -> tuple[faiss.Index, dict]:
    n, d = matrix.shape
    nlist = ivf_lists(n)
    ivf = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
    ivf.cp.niter = IVF_TRAIN_ITERATIONS
    ivf.cp.seed = seed
    rng = np.random.default_rng(seed)
    sample = matrix[np.sort(rng.choice(n, size=min(n, nlist * IVF_TRAIN_PER_LIST), replace=False))]
    ivf.train(sample)
    ivf.add(matrix)
    ivf.make_direct_map()  # reconstruct(row) for scoring given passages
    nprobe, recall = _widen(ivf, exact, queries, lambda v: setattr(ivf, "nprobe", v), 8, nlist // 4,
                            f"IVF over {n} vectors ({nlist} lists), nprobe")
    if recall < MIN_RECALL:
        return exact, {"kind": "flat", "ivf_recall_at_100": recall}
    return ivf, {"kind": "ivf", "lists": nlist, "nprobe": nprobe, "recall_at_100": round(recall, 4)}


def build_vector_index(matrix: np.ndarray, flat_max: int = FLAT_MAX, queries: np.ndarray | None = None,
                       ivf_above: int | None = None) -> tuple[faiss.Index, dict]:
    """The index for these unit vectors and what it is: {"kind": "flat"}, {"kind": "hnsw", "m",
    "ef_search", "recall_at_100"} or {"kind": "ivf", "lists", "nprobe", "recall_at_100"}. `queries`:
    the recall check's (default: stored vectors, perturbed). HNSW only for sizes between `flat_max` and
    an `ivf_above` given above it."""
    ivf_above = flat_max if ivf_above is None else ivf_above
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    n, d = matrix.shape
    if n <= flat_max:
        return _flat(matrix), {"kind": "flat"}
    queries = sample_queries(matrix) if queries is None else queries
    if n > ivf_above:
        return build_ivf(matrix, _flat(matrix), queries)
    hnsw = faiss.IndexHNSWFlat(d, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    hnsw.add(matrix)
    exact = _flat(matrix)
    ef, recall = _widen(hnsw, exact, queries, lambda v: setattr(hnsw.hnsw, "efSearch", v), RECALL_AT, 4096,
                        f"HNSW over {n} vectors, efSearch")
    if recall < MIN_RECALL:
        return exact, {"kind": "flat", "hnsw_recall_at_100": recall}
    return hnsw, {"kind": "hnsw", "m": HNSW_M, "ef_search": ef, "recall_at_100": round(recall, 4)}
