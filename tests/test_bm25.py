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
