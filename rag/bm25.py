"""BM25 from a precomputed term-passage matrix: rank-bm25's BM25Okapi formula, scored sparsely.

rank-bm25's `get_scores` walks every passage in Python for every query term. Here each term's
BM25Okapi weight in each passage holding it is computed once, when the index is loaded, into a
scipy.sparse matrix (one row per term); a query adds up the rows of its terms, touching only the
passages that hold them. The arithmetic is rank-bm25's, in the same order, so the scores are the same
to the last bit (tests/test_bm25.py compares them with rank_bm25 on the corpus).
"""
from __future__ import annotations

import math

import numpy as np
import scipy.sparse as sp


class BM25Matrix:
    """BM25Okapi (k1, b, epsilon as rank_bm25) over `tf`, a terms x passages matrix of term counts."""

    def __init__(self, vocab: dict[str, int], tf: sp.csr_matrix, k1: float = 1.5, b: float = 0.75,
                 epsilon: float = 0.25):
        self.vocab = vocab
        self.k1, self.b, self.epsilon = k1, b, epsilon
        tf = sp.csr_matrix(tf)
        tf.sort_indices()
        self.size = tf.shape[1]
        doc_len = np.asarray(tf.sum(axis=0)).ravel().astype(np.int64)
        avgdl = int(doc_len.sum()) / self.size if self.size else 1.0
        df = np.diff(tf.indptr)
        # rank_bm25's idf: log(N - df + 0.5) - log(df + 0.5) with math.log, averaged in vocabulary order
        # (first occurrence); terms in more than half the passages get epsilon times the average.
        idf = [math.log(self.size - int(f) + 0.5) - math.log(int(f) + 0.5) for f in df]
        average = (sum(idf) / len(idf)) if idf else 0.0
        self.idf = np.array([i if i >= 0 else self.epsilon * average for i in idf], dtype=np.float64)
        freq = tf.data.astype(np.float64)
        norm = k1 * (1 - b + b * doc_len[tf.indices] / avgdl)
        rows = np.repeat(np.arange(len(df)), df)
        weights = self.idf[rows] * (freq * (k1 + 1) / (freq + norm))
        self.indptr, self.indices, self.weights = tf.indptr, tf.indices, weights

    @classmethod
    def from_tokens(cls, tokens: list[list[str]], **params) -> "BM25Matrix":
        vocab: dict[str, int] = {}
        rows, cols = [], []
        for col, passage in enumerate(tokens):
            ids = [vocab.setdefault(t, len(vocab)) for t in passage]
            rows.extend(ids)
            cols.extend([col] * len(ids))
        tf = sp.csr_matrix((np.ones(len(rows), dtype=np.int32), (np.array(rows, dtype=np.int64),
                                                                   np.array(cols, dtype=np.int64))),
                           shape=(len(vocab), len(tokens)))
        tf.sum_duplicates()
        return cls(vocab, tf, **params)

    def _postings(self, terms: list[str]):
        for t in terms:  # repeated terms count again, as in rank_bm25
            row = self.vocab.get(t)
            if row is not None:
                lo, hi = self.indptr[row], self.indptr[row + 1]
                yield self.indices[lo:hi], self.weights[lo:hi]

    def scores(self, terms: list[str]) -> np.ndarray:
        """One float64 score per passage, as BM25Okapi.get_scores(terms)."""
        out = np.zeros(self.size, dtype=np.float64)
        for ids, w in self._postings(terms):
            out[ids] += w
        return out

    def candidates(self, terms: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(passage rows in ascending order, their scores) of every passage a query term gives a score."""
        postings = list(self._postings(terms))
        total = sum(len(p[0]) for p in postings)
        if not postings:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        if total * 8 > self.size:  # many postings: adding into one row per passage is cheaper than merging
            out = np.zeros(self.size, dtype=np.float64)
            for rows, w in postings:
                out[rows] += w
            ids = np.flatnonzero(out)
            return ids, out[ids]
        ids = np.unique(np.concatenate([p[0] for p in postings]))
        out = np.zeros(len(ids), dtype=np.float64)
        for rows, w in postings:
            out[np.searchsorted(ids, rows)] += w
        keep = out != 0
        return ids[keep], out[keep]
