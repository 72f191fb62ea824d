"""Rank passages for a question: BM25 and dense rankers, fused; filters by council and document.

A ranker is anything with `prepare(query)`, `top(prepared, k, mask) -> (passage rows, scores)` and
`score(prepared, rows)`, so another store (a server-based keyword or vector engine) can sit behind the
same interface without touching callers. A search fuses the union of each ranker's top candidates
(every ranker scores every candidate), so its cost grows with the candidates, not the corpus.
"""
from __future__ import annotations

import logging
from typing import Protocol

import numpy as np

from .bm25 import BM25Matrix, best
from .councils import CouncilMatcher
from .errors import BadRequest, NotFound
from .index import Index
from .text import tokenize
from .types import Hit, Passage

log = logging.getLogger(__name__)

MODES = ("hybrid", "bm25", "dense")


# Candidates per ranker: its top CANDIDATES passages (within the filters) join the union that is fused.
CANDIDATES = 100
# Min-max scaling needs each ranker's lowest score over the passages, which a top-k does not see: a fixed,
# evenly spread sample of SCALE_SAMPLE passages (all of them in a corpus up to that size) is scored too
# and joins the candidates. Fusing the top-100s alone, without it, changed the top 10 of 41 of the 50
# questions of eval/questions.jsonl and eval/questions_extra.jsonl (the dense floor rose, stretching
# the dense scale); with it the results are those of fusing every passage, up to 2,048 passages.
SCALE_SAMPLE = 2048


class Ranker(Protocol):
    name: str

    def prepare(self, query: str): ...

    def top(self, prepared, k: int, mask: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]: ...

    def score(self, prepared, rows: np.ndarray) -> np.ndarray: ...


def _top_k(rows: np.ndarray, values: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k best (rows ascending among equals, ties at the k-th place too), without sorting them all."""
    return best(rows, values, k)


class BM25Ranker:
    """rank-bm25's BM25Okapi, scored from a sparse term-passage matrix (rag/bm25.py)."""
    name = "bm25"

    def __init__(self, tokens: list[list[str]], k1: float = 1.2, b: float = 0.75):
        self.matrix = BM25Matrix.from_tokens(tokens, k1=k1, b=b)
        self.size = len(tokens)

    def prepare(self, query: str):
        """The query's scores, computed as `top` and `score` need them (rag/bm25.py)."""
        return self.matrix.query(tokenize(query))

    def scores(self, query: str) -> np.ndarray:
        """One score per passage (0 where none of the query's terms is)."""
        return self.matrix.scores(tokenize(query)).astype(np.float32)

    def top(self, prepared, k: int, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        rows, values = prepared.top(k, mask)
        return rows, values.astype(np.float32)

    def score(self, prepared, rows: np.ndarray) -> np.ndarray:
        return prepared.score(rows).astype(np.float32)


def vector_matrix(vectors) -> np.ndarray | None:
    """The stored vectors of a flat (or HNSW-flat) FAISS index as a read-only array, without a copy
    (the memory-mapped file itself); None for an index that does not store them flat."""
    import faiss

    flat = vectors
    if hasattr(vectors, "storage"):  # HNSW: the vectors live in its flat storage index
        flat = faiss.downcast_index(vectors.storage)
    if not hasattr(flat, "get_xb") or flat.ntotal == 0:
        return None
    view = faiss.rev_swig_ptr(flat.get_xb(), flat.ntotal * flat.d).reshape(flat.ntotal, flat.d)
    view.flags.writeable = False
    return view


def _dot(matrix: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Each row's inner product with q, in numpy's own loop: BLAS would start threads that fight for the
    cores (7 times slower for 2,200 rows on this shared machine)."""
    return np.einsum("ij,j->i", matrix, q)


class DenseRanker:
    """Inner product over unit vectors (cosine) from FAISS: its top k, exact for a flat index and
    approximate (recall checked at build) for HNSW or IVF."""
    name = "dense"
    EXACT_FILTERED = 200_000  # filtered searches over at most this many passages are scored exactly

    def __init__(self, vectors, embedder):
        import faiss

        self.vectors = vectors
        self.embedder = embedder
        self.matrix = vector_matrix(vectors)
        self._kept: tuple[np.ndarray, np.ndarray] | None = None  # (rows, vectors): see score()
        # One thread per query: requests run side by side already, and OpenMP threads waiting at a
        # barrier for a core another process holds made a 10,000-vector search 13 times slower
        # (28 ms against 2.2 ms) on this shared 2-core machine.
        faiss.omp_set_num_threads(1)

    def prepare(self, query: str) -> np.ndarray:
        return np.ascontiguousarray(self.embedder.encode([query]), dtype=np.float32)

    def scores(self, query: str) -> np.ndarray:
        """One cosine per passage."""
        q = self.prepare(query)
        if self.matrix is not None:
            return _dot(self.matrix, q[0])
        n = self.vectors.ntotal
        sims, ids = self.vectors.search(q, n)
        out = np.full(n, -1.0, dtype=np.float32)
        out[ids[0]] = sims[0]
        return out

    def top(self, q: np.ndarray, k: int, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        n = self.vectors.ntotal
        if mask is not None and not mask.all():
            allowed = np.flatnonzero(mask)
            if len(allowed) <= self.EXACT_FILTERED:
                return _top_k(allowed, self.score(q, allowed), k)
            import faiss

            selector = faiss.IDSelectorBatch(allowed.astype(np.int64))
            params = (faiss.SearchParametersIVF(sel=selector, nprobe=self.vectors.nprobe)
                      if hasattr(self.vectors, "nprobe") else faiss.SearchParameters(sel=selector))
            sims, ids = self.vectors.search(q, min(k, len(allowed)), params=params)
        else:
            sims, ids = self.vectors.search(q, min(k, n))
        keep = ids[0] >= 0
        return _top_k(ids[0][keep].astype(np.int64), sims[0][keep], k)

    def score(self, q: np.ndarray, rows: np.ndarray) -> np.ndarray:
        if self.matrix is not None:
            return _dot(self.matrix[rows], q[0])
        # An index without a flat array (IVF) gives vectors one by one; the unfiltered scaling sample
        # (SCALE_SAMPLE rows, the same for every query) is most of every query's candidates, so its
        # vectors are kept once (3 MB) and only the other rows are looked up.
        if self._kept is None:
            kept = _sample(np.ones(self.vectors.ntotal, dtype=bool), SCALE_SAMPLE)
            self._kept = kept, self._reconstruct(kept)
        kept, vectors = self._kept
        rows = np.asarray(rows, dtype=np.int64)
        if not len(kept):
            return _dot(self._reconstruct(rows), q[0])
        at = np.minimum(np.searchsorted(kept, rows), len(kept) - 1)
        have = kept[at] == rows
        out = np.empty(len(rows), dtype=np.float32)
        out[have] = _dot(vectors[at[have]], q[0])
        if not have.all():
            out[~have] = _dot(self._reconstruct(rows[~have]), q[0])
        return out

    def _reconstruct(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray(self.vectors.reconstruct_batch(rows.astype(np.int64)), dtype=np.float32)


def _sample(mask: np.ndarray, size: int) -> np.ndarray:
    """`size` passages spread evenly over those the mask allows (all of them if there are fewer)."""
    n = len(mask)
    if mask.all():
        return np.arange(n) if n <= size else np.unique(np.linspace(0, n - 1, size).astype(np.int64))
    allowed = np.flatnonzero(mask)
    return allowed if len(allowed) <= size else allowed[np.unique(np.linspace(0, len(allowed) - 1, size).astype(np.int64))]


def candidates(rankers: dict[str, Ranker], query: str, mask: np.ndarray, k: int, depth: int = CANDIDATES,
               sample: int = SCALE_SAMPLE) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The union of each ranker's top max(k, depth) passages within the mask and of a fixed sample of
    them (rows ascending), and every ranker's score for each. In a corpus up to `sample` passages that
    is every passage the mask allows, so fusing them is fusing everything."""
    prepared = {name: r.prepare(query) for name, r in rankers.items()}
    sampled = _sample(mask, sample)
    if len(sampled) > max(k, depth) and len(sampled) == np.count_nonzero(mask):
        # the sample is every passage allowed, more than a top takes: the union is the sample, each top adds
        # nothing to it, and every ranker scores every row (as it would after its top)
        return sampled, {name: np.asarray(r.score(prepared[name], sampled), dtype=np.float32) for name, r in rankers.items()}
    found = {name: r.top(prepared[name], max(k, depth), mask) for name, r in rankers.items()}
    rows = np.unique(np.concatenate([ids for ids, _ in found.values()] + [sampled]))
    scores = {}
    for name, (ids, values) in found.items():
        if len(ids) == len(rows):  # the ranker's own top covers every row: no second scoring
            out = np.zeros(len(rows), dtype=np.float32)
            out[np.searchsorted(rows, ids)] = values
        else:
            out = np.asarray(rankers[name].score(prepared[name], rows), dtype=np.float32)
        scores[name] = out
    return rows, scores


def _minmax(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    lo, hi = values[mask].min(), values[mask].max()
    return (values - lo) / (hi - lo) if hi > lo else np.zeros_like(values)


def fuse(scores: dict[str, np.ndarray], mask: np.ndarray, weights: dict[str, float]) -> np.ndarray:
    """Weighted sum of each ranker's scores, min-max scaled over the candidate passages.

    Scaling keeps how far ahead a passage is (which rank fusion throws away): a passage that matches
    a rare term strongly under BM25 is not pulled level with ones that merely rank next to it.
    """
    total = np.zeros(mask.shape, dtype=np.float32)
    for name, values in scores.items():
        total += weights.get(name, 1.0) * _minmax(values, mask)
    return total


def rrf(scores: dict[str, np.ndarray], mask: np.ndarray, k: int = 60) -> np.ndarray:
    """Reciprocal rank fusion, for comparison: sum of 1 / (k + rank)."""
    total = np.zeros(mask.shape, dtype=np.float32)
    for values in scores.values():
        order = np.argsort(-np.where(mask, values, -np.inf), kind="stable")
        ranks = np.empty_like(order)
        ranks[order] = np.arange(1, len(order) + 1)
        total += 1.0 / (k + ranks)
    return total


# Each ranker's weight in the fused score (min-max scaled scores, so both run 0..1 over the candidates).
# Measured with rag eval --no-answers (hit@1 / MRR@10): dense 0.6 against 0.5 keeps pool factual tuning at
# 0.724 (MRR 0.804 -> 0.806), eval/questions.jsonl at 0.900 (MRR 0.933 -> 0.936) and the extra set at 0.800,
# and lifts pool factual validation 0.607 -> 0.643 (hit@5 0.857 -> 0.893); dense 0.7 lifted validation
# further (0.714) but lost tuning (0.707) and messy tuning (0.778 -> 0.667), so it was not taken.
WEIGHTS = {"bm25": 0.4, "dense": 0.6}
# A passage gains this share of the fused score of its best neighbour in the same section (the passage just
# before or after it): a fact's passage usually sits among passages on the same topic, a stray match in another
# section does not. Measured with rag eval --no-answers (hit@1 / hit@5), from the 0.4/0.6 weights: pool factual
# validation 0.643 / 0.893 -> 0.679 / 0.929, tuning 0.724 / 0.931 -> 0.724 / 0.948, eval/questions.jsonl,
# questions_extra.jsonl and messy unchanged at hit@1; any share from 0.05 to 0.15 gave the same validation hit@1.
NEIGHBOUR_SHARE = 0.1


def neighbours(passages: list[Passage]) -> tuple[np.ndarray, np.ndarray]:
    """For each passage row, the row of the passage just before and just after it in the same document and
    section (-1 where there is none)."""
    n = len(passages)
    before, after = np.full(n, -1, dtype=np.int64), np.full(n, -1, dtype=np.int64)
    order = sorted(range(n), key=lambda i: (passages[i].doc_id, passages[i].start))
    for a, b in zip(order, order[1:]):
        if passages[a].doc_id == passages[b].doc_id and passages[a].section == passages[b].section:
            after[a], before[b] = b, a
    return before, after


def with_neighbours(fused: np.ndarray, rows: np.ndarray, before: np.ndarray, after: np.ndarray,
                    share: float = NEIGHBOUR_SHARE) -> np.ndarray:
    """Each candidate's fused score plus `share` of its best same-section neighbour's (rows ascending; a
    neighbour that is not among the candidates counts 0)."""
    best = np.zeros(len(rows), dtype=np.float32)
    for side in (before, after):
        other = side[rows]
        at = np.searchsorted(rows, other)
        there = (other >= 0) & (at < len(rows))
        there[there] = rows[at[there]] == other[there]
        best[there] = np.maximum(best[there], fused[at[there]])
    return fused + share * best


COUNCIL_BONUS = 0.2  # added to the fused score (0..1) of passages about a council the question names


class Retriever:
    def __init__(self, index: Index, embedder=None, weights: dict[str, float] | None = None,
                 fusion: str = "weighted"):
        self.index = index
        self.matcher = CouncilMatcher(c for d in index.documents.values() for c in d.councils)
        self._about = [set(p.councils) for p in index.passages]
        # per council, which passages are about it (the council bonus, one array operation instead of a loop)
        self._about_council = {c: np.array([c in a for a in self._about], dtype=bool) for c in set().union(*self._about)}
        self.rankers: dict[str, Ranker] = {"bm25": BM25Ranker(index.tokens)}
        if embedder is not None and index.vectors is not None:
            self.rankers["dense"] = DenseRanker(index.vectors, embedder)
        self.weights = weights or dict(WEIGHTS)
        self.fusion = fusion
        self._doc_of = np.array([p.doc_id for p in index.passages], dtype=object)
        self._before, self._after = neighbours(index.passages)

    @property
    def mode(self) -> str:
        return "hybrid" if "dense" in self.rankers else "bm25"

    def effective_mode(self, mode: str | None) -> str:
        """The mode a search will really use: hybrid falls back to BM25 when dense search cannot run."""
        mode = mode or self.mode
        if mode not in MODES:
            raise BadRequest(f"mode must be one of: {', '.join(MODES)}")
        if mode != "bm25" and "dense" not in self.rankers:
            if mode == "dense":
                raise BadRequest("Dense search is unavailable here (no model or vector file); use mode=bm25.")
            return "bm25"
        return mode

    def councils(self) -> list[str]:
        return sorted({c for d in self.index.documents.values() for c in d.councils})

    def candidate_mask(self, council: str | None = None, doc: str | None = None) -> np.ndarray:
        mask = np.ones(len(self.index.passages), dtype=bool)
        if doc:
            if doc not in self.index.documents:
                raise NotFound(f"No document {doc!r}. Documents: {', '.join(sorted(self.index.documents))}")
            mask &= self._doc_of == doc
        if council:
            name = self.matcher.resolve(council)
            if name is None:
                raise BadRequest(f"No documents cover the council {council!r}. "
                                 f"Councils covered: {', '.join(self.councils())}")
            docs = [d.id for d in self.index.documents.values() if name in d.councils]
            mask &= np.isin(self._doc_of, docs)
        return mask

    def allows(self, passage: Passage, council: str | None = None, doc: str | None = None) -> bool:
        """Whether the filters let this passage through."""
        if doc and passage.doc_id != doc:
            return False
        if council:
            name = self.matcher.resolve(council)
            return name in self.index.documents[passage.doc_id].councils
        return True

    def allows_council(self, council: str, doc: str | None = None) -> bool:
        """Whether any passage is left once filtered to this council (and document)."""
        return bool(self.candidate_mask(council, doc).any())

    def search(self, query, k: int = 10, council: str | None = None, doc: str | None = None,
               mode: str | None = None, extra: str = "") -> list[Hit]:
        """Top k passages for a Query (or a plain string). `council` and `doc` filter; passages about the
        councils the Query is about get a bonus. `extra`: words added to the search ("key findings")."""
        councils = tuple(getattr(query, "councils", ()))
        text = getattr(query, "search", query)
        query = f"{text} {extra}".strip()
        mode = self.effective_mode(mode)
        mask = self.candidate_mask(council, doc)
        if not mask.any() or k <= 0:
            return []
        names = ["bm25", "dense"] if mode == "hybrid" else [mode]
        rows, scores = candidates({name: self.rankers[name] for name in names}, query, mask, k)
        among = np.ones(len(rows), dtype=bool)
        if len(names) == 1:
            fused = scores[names[0]]
        elif self.fusion == "rrf":
            fused = rrf(scores, among)
        else:
            fused = with_neighbours(fuse(scores, among, self.weights), rows, self._before, self._after)
        named = set(councils) if councils else set(self.matcher.find(query))
        named |= {self.matcher.resolve(council)} if council else set()
        named.discard(None)
        if named:
            about = np.zeros(len(self.index.passages), dtype=bool)
            for name in named & self._about_council.keys():
                about |= self._about_council[name]
            fused = fused + COUNCIL_BONUS * about[rows].astype(np.float32)
        hits = []
        for j in np.argsort(-fused, kind="stable")[:k]:
            p = self.index.passages[rows[j]]
            hits.append(Hit(p, self.index.text(p), float(fused[j]),
                            {name: float(values[j]) for name, values in scores.items()}))
        return hits
