"""BM25 from the sparse matrix scores exactly as rank_bm25; search fuses candidates as fusing every passage would."""
import json

import numpy as np
import pytest
from rank_bm25 import BM25Okapi

from rag import retrieval
from rag.bm25 import BM25Matrix
from rag.index import load_index
from rag.retrieval import Retriever, fuse
from rag.service import Service
from rag.text import tokenize
from tests.conftest import PROJECT_ROOT, QUESTIONS

EXTRA = PROJECT_ROOT / "eval" / "questions_extra.jsonl"


def questions() -> list[str]:
    return [json.loads(line)["q"] for path in (QUESTIONS, EXTRA)
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def index(fake_index):
    return load_index(fake_index.index_dir)


@pytest.mark.parametrize("k1,b", [(1.2, 0.75), (1.5, 0.75), (0.9, 0.4)])
def test_scores_are_rank_bm25s_to_the_last_bit(index, k1, b):
    reference = BM25Okapi(index.tokens, k1=k1, b=b)
    matrix = BM25Matrix.from_tokens(index.tokens, k1=k1, b=b)
    odd = ["council council council blackpool", "zzzz never seen", "", "the and of", "44.68% £71,158,000"]
    for q in questions() + odd:
        terms = tokenize(q)
        expected = np.asarray(reference.get_scores(terms))
        assert np.array_equal(matrix.scores(terms), expected), q
        rows, values = matrix.candidates(terms)  # only the passages holding a term, and all of those
        assert np.array_equal(rows, np.flatnonzero(expected)) and np.array_equal(values, expected[rows]), q


def test_a_word_in_most_passages_gets_rank_bm25s_floor_not_a_negative_weight():
    tokens = [["care", "home"], ["care"], ["care", "wait"], ["care"], ["home"]]
    reference, matrix = BM25Okapi(tokens), BM25Matrix.from_tokens(tokens)
    assert np.array_equal(matrix.scores(["care"]), reference.get_scores(["care"]))
    assert (matrix.scores(["care"]) > 0).sum() == 4


def full_fusion(retriever: Retriever, query: str, k: int):
    """Today's reference: every passage scored by both rankers, fused, sorted."""
    scores = {name: r.scores(query) for name, r in retriever.rankers.items()}
    fused = fuse(scores, np.ones(len(retriever.index.passages), dtype=bool), retriever.weights)
    fused = retrieval.with_neighbours(fused, np.arange(len(fused)), retriever._before, retriever._after)
    named = set(retriever.matcher.find(query))
    if named:
        fused = fused + retrieval.COUNCIL_BONUS * np.array([bool(a & named) for a in retriever._about], dtype=np.float32)
    return [int(i) for i in np.argsort(-fused, kind="stable")[:k]]


def test_searching_candidates_gives_what_fusing_every_passage_gives(fake_service):
    retriever = fake_service.retriever
    assert retriever.mode == "hybrid" and len(retriever.index.passages) <= retrieval.SCALE_SAMPLE
    rows = {p: i for i, p in enumerate(retriever.index.passages)}
    for q in questions():
        got = [rows[h.passage] for h in retriever.search(q, 10)]
        assert got == full_fusion(retriever, q, 10), q


def test_candidates_alone_are_the_union_of_each_rankers_top(fake_service):
    retriever = fake_service.retriever
    mask = np.ones(len(retriever.index.passages), dtype=bool)
    q = "How long did people wait for an assessment in Blackpool?"
    rows, scores = retrieval.candidates(retriever.rankers, q, mask, k=5, depth=20, sample=0)
    dense = retriever.rankers["dense"].scores(q)
    bm25 = retriever.rankers["bm25"].scores(q)
    top = set(np.argsort(-dense, kind="stable")[:20]) | set(np.argsort(-bm25, kind="stable")[:20])
    assert set(rows.tolist()) == {int(i) for i in top}
    assert np.allclose(scores["dense"], dense[rows], atol=1e-6) and np.array_equal(scores["bm25"], bm25[rows])


def test_filters_keep_to_their_passages_and_still_fill_k(fake_service):
    retriever = fake_service.retriever
    hits = retriever.search("waiting lists", 10, council="Lancashire")
    assert hits and all("Lancashire County Council" in retriever.index.documents[h.passage.doc_id].councils
                        for h in hits)
    only = retriever.search("zzzz nothing matches this", 3, mode="bm25")
    assert len(only) == 3 and all(h.score == 0 for h in only)  # as fusing every passage: the first ones


def _skewed_corpus(n: int, seed: int = 0) -> list[list[str]]:
    """Passages of words drawn by a Zipf law (a few words in most passages, many rare), each repeated
    a few times under other ids, as the scale benchmark's recombined corpus is: many exact ties."""
    rng = np.random.default_rng(seed)
    vocab = [f"w{i}" for i in range(3000)]
    base = [[vocab[min(int(z), 2999)] for z in rng.zipf(1.3, size=int(rng.integers(5, 60)))] for _ in range(n // 4)]
    return [base[i % len(base)] + ([f"council{i % 7}"] if i % 3 else []) for i in range(n)]


@pytest.mark.parametrize("seed", [0, 1])
def test_top_k_and_scores_of_rows_are_sorting_every_score(monkeypatch, seed):
    """Both ways of finding a query's top k (merging few postings, adding many into every passage's
    score and reading the top over a sampled threshold) give a stable sort's top k, ties included."""
    from rag import bm25

    monkeypatch.setattr(bm25, "STRIDE", 8)
    tokens = _skewed_corpus(8000, seed)
    matrix = BM25Matrix.from_tokens(tokens, k1=1.2, b=0.75)
    rng = np.random.default_rng(seed + 10)
    words = [t for passage in tokens[:200] for t in passage]
    many = few = 0
    for _ in range(150):
        pool = words if rng.random() < 0.5 else sorted(set(words))  # the second: rare words as often as common
        terms = list(rng.choice(pool, size=int(rng.integers(1, 7)))) + (["council3"] if rng.random() < 0.3 else [])
        every = matrix.scores(terms)
        for mask in (None, np.arange(len(tokens)) % 5 != 0, np.arange(len(tokens)) < 40):
            allowed = every if mask is None else np.where(mask, every, 0)
            for k in (1, 10, 100):
                order = np.argsort(-allowed, kind="stable")[:k]
                order = order[allowed[order] > 0]
                rows, values = matrix.query(terms).top(k, mask)
                assert np.array_equal(rows, order) and np.array_equal(values, every[order]), (terms, k)
        query = matrix.query(terms)
        many += query.postings * 8 > len(tokens)
        few += query.postings * 8 <= len(tokens)
        rows = rng.choice(len(tokens), size=50)
        assert np.array_equal(query.score(rows), every[rows])
        query.top(10)
        assert np.array_equal(query.score(rows), every[rows])  # from the scores top() added up
    assert many > 20 and few > 20  # both paths were taken: adding every posting, merging a few
