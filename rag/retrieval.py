"""Rank passages for a question: BM25 and dense rankers, fused; filters by council and document.

A ranker is anything with `scores(query) -> one float per passage`, so another store (a server-based
keyword or vector engine) can sit behind the same interface without touching callers.
"""
from __future__ import annotations

import logging
from typing import Protocol

import numpy as np
from rank_bm25 import BM25Okapi

from .councils import CouncilMatcher
from .errors import BadRequest, NotFound
from .index import Index
from .text import tokenize
from .types import Hit, Passage

log = logging.getLogger(__name__)

MODES = ("hybrid", "bm25", "dense")


class Ranker(Protocol):
    name: str

    def scores(self, query: str) -> np.ndarray: ...


class BM25Ranker:
    name = "bm25"

    def __init__(self, tokens: list[list[str]], k1: float = 1.2, b: float = 0.75):
        self.bm25 = BM25Okapi(tokens, k1=k1, b=b) if tokens else None
        self.size = len(tokens)

    def scores(self, query: str) -> np.ndarray:
        terms = tokenize(query)
        if self.bm25 is None or not terms:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self.bm25.get_scores(terms), dtype=np.float32)


class DenseRanker:
    name = "dense"

    def __init__(self, vectors, embedder):
        self.vectors = vectors
        self.embedder = embedder

    def scores(self, query: str) -> np.ndarray:
        q = self.embedder.encode([query])
        n = self.vectors.ntotal
        sims, ids = self.vectors.search(q, n)
        out = np.full(n, -1.0, dtype=np.float32)
        out[ids[0]] = sims[0]
        return out


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


COUNCIL_BONUS = 0.2  # added to the fused score (0..1) of passages about a council the question names


class Retriever:
    def __init__(self, index: Index, embedder=None, weights: dict[str, float] | None = None,
                 fusion: str = "weighted"):
        self.index = index
        self.matcher = CouncilMatcher(c for d in index.documents.values() for c in d.councils)
        self._about = [set(p.councils) for p in index.passages]
        self.rankers: dict[str, Ranker] = {"bm25": BM25Ranker(index.tokens)}
        if embedder is not None and index.vectors is not None:
            self.rankers["dense"] = DenseRanker(index.vectors, embedder)
        self.weights = weights or {"bm25": 0.5, "dense": 0.5}
        self.fusion = fusion
        self._doc_of = np.array([p.doc_id for p in index.passages], dtype=object)

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
        scores = {name: self.rankers[name].scores(query) for name in names}
        if len(names) == 1:
            fused = scores[names[0]]
        elif self.fusion == "rrf":
            fused = rrf(scores, mask)
        else:
            fused = fuse(scores, mask, self.weights)
        named = set(councils) if councils else set(self.matcher.find(query))
        named |= {self.matcher.resolve(council)} if council else set()
        named.discard(None)
        if named:
            fused = fused + COUNCIL_BONUS * np.array([bool(about & named) for about in self._about], dtype=np.float32)
        fused = np.where(mask, fused, -np.inf)
        top = np.argsort(-fused, kind="stable")[:min(k, int(mask.sum()))]
        hits = []
        for i in top:
            p = self.index.passages[i]
            hits.append(Hit(p, self.index.text(p), float(fused[i]),
                            {name: float(values[i]) for name, values in scores.items()}))
        return hits
