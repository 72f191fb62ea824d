import numpy as np
import pytest

from rag.councils import CouncilMatcher, passage_councils
from rag.errors import BadRequest, NotFound
from rag.retrieval import fuse, neighbours, rrf, with_neighbours
from rag.types import Passage


def test_fusion_keeps_how_far_ahead_a_passage_is():
    mask = np.ones(3, dtype=bool)
    scores = {"bm25": np.array([10.0, 1.0, 0.0]), "dense": np.array([0.50, 0.55, 0.10])}
    fused = fuse(scores, mask, {"bm25": 0.5, "dense": 0.5})
    assert fused.argmax() == 0  # a strong BM25 match beats a slightly better dense one
    assert np.allclose(fused, [0.5 + 0.5 * 0.4 / 0.45, 0.5 * 0.1 + 0.5, 0.0])


def test_fusion_scales_over_the_candidates_only():
    mask = np.array([True, True, False])
    fused = fuse({"bm25": np.array([2.0, 1.0, 100.0])}, mask, {"bm25": 1.0})
    assert fused[0] == 1.0 and fused[1] == 0.0


def test_rrf_sums_reciprocal_ranks():
    mask = np.ones(3, dtype=bool)
    fused = rrf({"a": np.array([3.0, 2.0, 1.0]), "b": np.array([1.0, 2.0, 3.0])}, mask, k=60)
    assert np.allclose(fused, [1 / 61 + 1 / 63, 2 / 62, 1 / 63 + 1 / 61])


def test_council_names_are_found_longest_first():
    m = CouncilMatcher(["Lincolnshire County Council", "North Lincolnshire Council", "Blackpool Council"])
    assert m.find("North Lincolnshire and Lincolnshire") == ["North Lincolnshire Council", "Lincolnshire County Council"]
    assert m.find("What did Blackpool Council’s inspectors find?") == ["Blackpool Council"]
    assert m.resolve("blackpool") == "Blackpool Council"
    assert m.resolve("Kent") is None


def test_a_passage_in_a_many_council_article_is_about_the_council_its_section_names():
    councils = ("Lincolnshire County Council", "North Lincolnshire Council", "Nottingham City Council")
    assert passage_councils(councils, "North Lincolnshire (indicative rating: good)", "As with Lincolnshire...") == \
        ("North Lincolnshire Council",)
    assert passage_councils(councils, "", "Nottingham was rated requires improvement") == ("Nottingham City Council",)
    assert passage_councils(councils, "", "The CQC plans a national roll-out") == ()
    assert passage_councils(("Blackpool Council",), "", "anything") == ("Blackpool Council",)


def test_council_filter_keeps_to_that_councils_documents(service):
    result = service.search("waiting times for assessments", k=20, council="Lancashire")
    assert result["results"]
    assert {r["doc"] for r in result["results"]} <= {"lancashire-rated-requires-improvement-news",
                                                     "lancashire-county-council-staff-news-2025-08-15"}


def test_unknown_council_or_document_is_refused_with_the_choices(service):
    with pytest.raises(BadRequest, match="Blackpool Council"):
        service.search("waiting times", council="Kent")
    with pytest.raises(NotFound, match="blackpool-council-local-authority-assessment"):
        service.search("waiting times", doc="no-such-doc")


def test_a_council_named_in_the_question_is_preferred(service):
    top = service.search("What was the longest wait for a needs assessment in Lancashire?", k=1)["results"][0]
    assert top["doc"].startswith("lancashire")
    top = service.search("What was the longest wait for a needs assessment in Blackpool?", k=1)["results"][0]
    assert top["doc"].startswith("blackpool")


def test_modes(service):
    for mode in ("bm25", "dense", "hybrid"):
        result = service.search("carers satisfied with social services", k=3, mode=mode)
        assert result["mode"] == mode and len(result["results"]) == 3
    with pytest.raises(BadRequest):
        service.search("x", mode="magic")


def test_dense_similarity_weighs_more_than_bm25_in_the_default_fusion():
    from rag.retrieval import WEIGHTS

    mask = np.ones(2, dtype=bool)
    # passage 0 tops BM25, passage 1 tops dense, each by the same scaled margin: dense decides
    fused = fuse({"bm25": np.array([4.0, 0.0]), "dense": np.array([0.2, 0.6])}, mask, WEIGHTS)
    assert fused.argmax() == 1
    assert WEIGHTS["dense"] > WEIGHTS["bm25"] and abs(sum(WEIGHTS.values()) - 1.0) < 1e-9


def test_neighbours_are_the_adjacent_passages_of_the_same_section():
    a = ("Theme 1", "Assessing needs")
    passages = [Passage("d", a, 100, 200), Passage("d", a, 0, 100), Passage("d", ("Theme 2",), 200, 300),
                Passage("e", ("Theme 2",), 0, 50)]
    before, after = neighbours(passages)
    assert before.tolist() == [1, -1, -1, -1]  # the section changes at 200; another document is never adjacent
    assert after.tolist() == [-1, 0, -1, -1]


def test_a_passage_gains_a_share_of_its_best_neighbour():
    before, after = np.array([-1, 0, 1, -1]), np.array([1, 2, -1, -1])
    rows = np.array([0, 1, 2, 3])
    fused = np.array([0.2, 0.5, 0.9, 0.8], dtype=np.float32)
    out = with_neighbours(fused, rows, before, after, share=0.1)
    assert np.allclose(out, [0.2 + 0.05, 0.5 + 0.09, 0.9 + 0.05, 0.8])  # row 3 has no neighbour
    # a neighbour that is not among the candidates counts nothing
    assert np.allclose(with_neighbours(fused[[0, 2]], np.array([0, 2]), before, after, share=0.1), [0.2, 0.9])


def test_a_fact_among_passages_on_its_topic_beats_a_stray_match_elsewhere():
    """Two candidates with the same fused score: the one whose neighbour in its section also matches comes first."""
    before, after = np.array([-1, 0, -1]), np.array([1, -1, -1])
    fused = np.array([0.6, 0.7, 0.7], dtype=np.float32)
    out = with_neighbours(fused, np.arange(3), before, after)
    assert out.argmax() == 1


# Questions of the pool's validation part (by rag.evaluate.split_of), which no weight or rule was tuned on, whose
# right passage comes first by a clear margin on the shipped corpus.
VALIDATION_AT_RANK_1 = ["pa005", "pa006", "pa013", "pa033", "pb006", "pb033", "pc007", "pc017", "pc038",
                        "pt004", "pt014", "pt021", "pt022"]
# Of those, questions whose quoted answer holds the evidence.
VALIDATION_ANSWERED = ["pa005", "pa006", "pb006", "pc007", "pc038", "pt004", "pt022"]


def _pool_question(qid: str) -> dict:
    from rag.config import PROJECT_ROOT
    from rag.evaluate import load_questions, split_of

    pool = PROJECT_ROOT / "eval" / "pool"
    assert split_of(qid) == "validation"
    return {q["id"]: q for f in ("factual.jsonl", "messy.jsonl") for q in load_questions(pool / f)}[qid]


@pytest.mark.parametrize("qid", VALIDATION_AT_RANK_1)
def test_validation_questions_land_at_rank_1(service, qid):
    from rag.evaluate import first_hit_rank

    q = _pool_question(qid)
    results = service.search(q["q"], k=10)["results"]
    assert first_hit_rank([r["text"] for r in results], q["evidence"]) == 1, [r["text"][:80] for r in results[:3]]


@pytest.mark.parametrize("qid", VALIDATION_ANSWERED)
def test_validation_questions_are_answered_with_their_evidence(service, qid):
    from rag.evaluate import answer_hit, shown

    q = _pool_question(qid)
    reply = service.ask(q["q"])
    assert reply["found"] and answer_hit(shown(reply), q["evidence"]), reply["answer"][:200]
