"""BM25 from a precomputed term-passage matrix: rank-bm25's BM25Okapi formula, scored sparsely.

rank-bm25's `get_scores` walks every passage in Python for every query term. Here each term's
BM25Okapi weight in each passage holding it is computed once, when the index is loaded, into a
scipy.sparse matrix (one row per term); a query adds up the rows of its terms, touching only the
passages that hold them. The arithmetic is rank-bm25's, in the same order, so the scores are the same
to the last bit (tests/test_bm25.py compares them with rank_bm25 on the corpus).

A query (`query(terms)`) gives its top k and the scores of any passages. When its terms have many
postings (a word in a third of a million passages), they are added into one score per passage with
one `bincount` (which adds them in the same order, so to the same bits), and the top k is read from
the passages over a threshold taken from a strided sample of the scores, instead of partitioning
every score. (Exact max-score pruning from impact-ordered postings was tried and dropped: on the
scale benchmark's recombined corpus, where every passage has thousands of copies, the k-th best
score stays within reach of the common terms and it was twice as slow as adding everything.)
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
        self.df = df  # postings per term

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

    def rows(self, terms: list[str]) -> list[int]:
        """The vocabulary rows of the query's terms the index has, in order (a repeated term counts again)."""
        return [row for row in map(self.vocab.get, terms) if row is not None]

    def _postings(self, terms: list[str] | list[int]):
        for t in terms:  # repeated terms count again, as in rank_bm25
            row = self.vocab.get(t) if isinstance(t, str) else t
            if row is not None:
                lo, hi = self.indptr[row], self.indptr[row + 1]
                yield self.indices[lo:hi], self.weights[lo:hi]

    def scores(self, terms: list[str]) -> np.ndarray:
        """One float64 score per passage, as BM25Okapi.get_scores(terms)."""
        postings = list(self._postings(terms))
        if not postings:
            return np.zeros(self.size, dtype=np.float64)
        # bincount adds each posting in turn, term after term: the sums rank_bm25 makes, bit for bit
        return np.bincount(np.concatenate([p[0] for p in postings]), weights=np.concatenate([p[1] for p in postings]),
                           minlength=self.size)

    def candidates(self, terms: list[str] | list[int]) -> tuple[np.ndarray, np.ndarray]:
        """(passage rows in ascending order, their scores) of every passage a query term gives a score."""
        postings = list(self._postings(terms))
        total = sum(len(p[0]) for p in postings)
        if not postings:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        if total * 8 > self.size:  # many postings: adding into one row per passage is cheaper than merging
            out = self.scores(terms)
            ids = np.flatnonzero(out)
            return ids, out[ids]
        ids = np.unique(np.concatenate([p[0] for p in postings]))
        out = np.zeros(len(ids), dtype=np.float64)
        for rows, w in postings:
            out[np.searchsorted(ids, rows)] += w
        keep = out != 0
        return ids[keep], out[keep]

    def query(self, terms: list[str]) -> "Scored":
        return Scored(self, self.rows(terms))


class Scored:
    """One query's BM25 scores: its top k within a mask, and the scores of given passages."""


    def __init__(self, matrix: BM25Matrix, terms: list[int]):
        self.matrix, self.terms = matrix, terms
        self.postings = int(sum(matrix.df[t] for t in terms))
        self._all: np.ndarray | None = None

    def every(self) -> np.ndarray:
        """The float64 score of every passage, computed once."""
        if self._all is None:
            self._all = self.matrix.scores(self.terms)
        return self._all

    def top(self, k: int, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The k best passages (within the mask) holding a query term (a score not 0), best first, rows
        ascending among equals: what a stable sort of every score would give, ties at the k-th place
        included. Once the postings are more than an eighth of the passages, every passage's score is
        added up (and kept: `score` then only looks them up)."""
        if not self.terms or k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        if mask is not None and mask.all():
            mask = None
        if mask is not None and self._all is None:
            allowed = np.flatnonzero(mask)
            if len(allowed) * len(self.terms) < self.postings:  # fewer passages allowed than postings
                values = self.score(allowed)
                keep = values != 0
                return best(allowed[keep], values[keep], k)
        if self._all is None and self.postings * 8 <= self.matrix.size:
            rows, values = self.matrix.candidates(self.terms)
            if mask is not None:
                keep = mask[rows]
                rows, values = rows[keep], values[keep]
            return best(rows, values, k)
        every = self.every() if mask is None else np.where(mask, self.every(), 0.0)
        return best_of_all(every, k)

    def score(self, rows: np.ndarray) -> np.ndarray:
        """The float64 scores of these passages (0 where none of the terms is), as `every()[rows]`."""
        rows = np.asarray(rows, dtype=np.int64)
        if self._all is not None:
            return self._all[rows]
        out = np.zeros(len(rows), dtype=np.float64)
        for ids, w in self.matrix._postings(self.terms):
            at = np.searchsorted(ids, rows)
            hit = at < len(ids)
            hit[hit] = ids[at[hit]] == rows[hit]
            out[hit] += w[at[hit]]
        return out


def best(rows: np.ndarray, values: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k highest values, best first, rows ascending among equals (as a stable sort of every row
    by value would give, ties at the k-th place included), without sorting them all."""
    rows, values = np.asarray(rows), np.asarray(values)
    if len(rows) > k:
        if k <= 0:
            return rows[:0], values[:0]
        kth = np.partition(values, len(values) - k)[len(values) - k]
        above = np.flatnonzero(values > kth)
        level = np.flatnonzero(values == kth)
        level = level[np.argsort(rows[level], kind="stable")[:k - len(above)]]
        keep = np.concatenate([above, level])
        rows, values = rows[keep], values[keep]
    order = np.lexsort((rows, -values))
    return rows[order], values[order]


STRIDE = 64  # best_of_all's sample: every STRIDE-th score


def best_of_all(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """`best` over every row of `scores` with a score (not 0). Over a large array, a threshold is read
    from a strided sample first (its few highest values, about k * 2 rows above it in all): when at
    least k rows reach it, the k-th best is at or over it, so only those rows need sorting (partitioning
    a million scores costs about ten times as much as comparing them with one number)."""
    if len(scores) > 16 * STRIDE * max(k, 1):
        sample = scores[::STRIDE]
        j = min(len(sample), k // STRIDE + 2)
        threshold = np.partition(sample, len(sample) - j)[len(sample) - j]
        if threshold > 0:
            rows = np.flatnonzero(scores >= threshold)
            if len(rows) >= k:
                return best(rows, scores[rows], k)
    rows = np.flatnonzero(scores)
    return best(rows, scores[rows], k)
