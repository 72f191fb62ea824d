"""The dense index: exact up to a size, IVF (or HNSW, when asked) beyond only with recall@100 >= 0.99 against exact search."""
import faiss
import numpy as np

from rag.retrieval import DenseRanker
from rag.vectors import MIN_RECALL, build_vector_index, recall_at, sample_queries


def clustered(n: int, d: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(50, d))
    x = centres[rng.integers(0, 50, n)] + rng.normal(0, 0.3, size=(n, d))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_small_collections_are_searched_exactly():
    index, info = build_vector_index(clustered(500), flat_max=1000)
    assert info == {"kind": "flat"} and isinstance(index, faiss.IndexFlatIP)


def test_large_collections_get_hnsw_with_its_recall_checked():
    x = clustered(2500)
    index, info = build_vector_index(x, flat_max=1000, ivf_above=10**9)
    assert info["kind"] == "hnsw" and info["recall_at_100"] >= MIN_RECALL
    exact = faiss.IndexFlatIP(x.shape[1])
    exact.add(x)
    fresh = sample_queries(x, 50, seed=7)  # queries it was not tuned on
    assert recall_at(index, exact, fresh) >= 0.98


class Fixed:
    """An encoder whose every question is one given vector."""
    dimension = 64

    def __init__(self, q):
        self.q = q

    def encode(self, texts):
        return self.q[None, :]


def test_dense_ranker_top_k_and_scores_over_hnsw():
    x = clustered(2000)
    index, _ = build_vector_index(x, flat_max=1000, ivf_above=10**9)
    q = x[17]
    ranker = DenseRanker(index, Fixed(q))
    rows, sims = ranker.top(ranker.prepare("anything"), 10, None)
    assert rows[0] == 17 and np.isclose(sims[0], 1.0, atol=1e-5)
    assert np.allclose(ranker.score(ranker.prepare("anything"), rows), x[rows] @ q, atol=1e-5)
    mask = np.zeros(2000, dtype=bool)
    mask[100:200] = True  # a filter: only those passages
    rows, _ = ranker.top(ranker.prepare("anything"), 10, mask)
    assert len(rows) == 10 and all(100 <= r < 200 for r in rows)
    assert list(rows) == list(100 + np.argsort(-(x[100:200] @ q), kind="stable")[:10])


def test_very_large_collections_get_inverted_lists_with_their_recall_checked():
    x = clustered(6000)
    index, info = build_vector_index(x, flat_max=1000, ivf_above=5000)
    assert info["kind"] == "ivf" and info["recall_at_100"] >= MIN_RECALL and isinstance(index, faiss.IndexIVFFlat)
    exact = faiss.IndexFlatIP(x.shape[1])
    exact.add(x)
    assert recall_at(index, exact, sample_queries(x, 50, seed=7)) >= 0.98
    ranker = DenseRanker(index, Fixed(x[17]))
    q = ranker.prepare("anything")
    rows, sims = ranker.top(q, 10, None)
    assert rows[0] == 17 and np.isclose(sims[0], 1.0, atol=1e-5)
    assert np.allclose(ranker.score(q, rows), x[rows] @ x[17], atol=1e-5)  # from the lists, by row
    mixed = np.arange(0, len(x), 7)  # rows of the scaling sample (whose vectors are kept) and others
    assert np.array_equal(ranker.score(q, mixed), np.einsum("ij,j->i", index.reconstruct_batch(mixed), x[17]))
    mask = np.zeros(len(x), dtype=bool)
    mask[300:420] = True  # a filter is searched exactly
    rows, _ = ranker.top(q, 10, mask)
    assert list(rows) == list(300 + np.argsort(-(x[300:420] @ x[17]), kind="stable")[:10])
