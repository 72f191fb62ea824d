"""The FAISS index of the passage vectors: exact (flat) up to FLAT_MAX passages, HNSW beyond, with its
recall against exact search checked when it is built.

Flat inner product is exact and costs one pass over every vector per query (about 2 ms at 20,000
passages on this machine's cores); HNSW visits a few thousand, so a query costs about the same at a
million. An HNSW index is accepted only if its top 100 holds at least MIN_RECALL of the exact top 100
for sample queries; efSearch is raised until it does.
"""
from __future__ import annotations

import logging

import faiss
import numpy as np

log = logging.getLogger(__name__)

FLAT_MAX = 20_000
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


def build_vector_index(matrix: np.ndarray, flat_max: int = FLAT_MAX, queries: np.ndarray | None = None) -> tuple[faiss.Index, dict]:
    """The index for these unit vectors and what it is: {"kind": "flat"} or {"kind": "hnsw", "m",
    "ef_search", "recall_at_100"}."""
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    n, d = matrix.shape
    if n <= flat_max:
        flat = faiss.IndexFlatIP(d)
        flat.add(matrix)
        return flat, {"kind": "flat"}
    hnsw = faiss.IndexHNSWFlat(d, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    hnsw.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    hnsw.add(matrix)
    exact = faiss.IndexFlatIP(d)
    exact.add(matrix)
    queries = sample_queries(matrix) if queries is None else queries
    ef = RECALL_AT
    while True:
        hnsw.hnsw.efSearch = ef
        recall = recall_at(hnsw, exact, queries)
        log.info("HNSW over %d vectors: efSearch %d, recall@%d %.4f", n, ef, RECALL_AT, recall)
        if recall >= MIN_RECALL or ef >= 4096:
            break
        ef *= 2
    if recall < MIN_RECALL:
        log.warning("HNSW recall@%d only %.4f at efSearch %d: using exact search", RECALL_AT, recall, ef)
        return exact, {"kind": "flat", "hnsw_recall_at_100": recall}
    return hnsw, {"kind": "hnsw", "m": HNSW_M, "ef_search": ef, "recall_at_100": round(recall, 4)}
