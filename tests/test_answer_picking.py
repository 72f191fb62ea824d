"""The answer picker's candidates and what a span must hold (rag/answer.py); fast: the fake-embedder index."""
import pytest

from rag.answer import CANDIDATE_PASSAGES, HOLDS
from rag.chunking import is_comments_heading
from rag.types import Hit


@pytest.mark.parametrize("text", ["Funding had been awarded between 2022-2027 from the programme.",
                                  "The strategy runs from 2023 to 2028.", "between 2023 and 2028",
                                  "people waited up to 226 days"])
def test_a_period_of_years_is_a_duration(text):
    assert HOLDS["duration"].search(text)


@pytest.mark.parametrize("text", ["In 2023/24 its total budget was £262,764,000.", "in 2023-24", "in 2025"])
def test_a_financial_year_or_a_year_is_no_duration(text):
    assert not HOLDS["duration"].search(text)


def _hits(index, passages):
    return [Hit(p, index.text(p), 1.0 - n / 100) for n, p in enumerate(passages)]


def test_answers_come_from_the_top_passages_and_readers_comments_only_when_opinions_are_asked(fake_service):
    loaded = fake_service.loaded
    index, picker = loaded.index, loaded.answers
    comments = [p for p in index.passages if any(map(is_comments_heading, p.section))]
    others = [p for p in index.passages if p not in comments]
    assert comments, "the shipped corpus has an article with readers' comments"
    hits = _hits(index, others[:CANDIDATE_PASSAGES + 1] + comments[:1])  # the comment comes after the top four
    plain = {i for i, *_ in picker._spans(hits)}
    assert plain == set(range(CANDIDATE_PASSAGES))
    asked = {i for i, *_ in picker._spans(hits, opinions=True)}
    assert asked == set(range(CANDIDATE_PASSAGES)) | {CANDIDATE_PASSAGES + 1}  # not the fifth passage: only comments


def test_no_passage_is_over_the_citable_length_and_every_cited_text_is_verbatim(fake_service):
    """Every passage of the shipped corpus is short enough to read as a citation, and for every question of the
    pool's factual set each search result and each quoted answer is exactly document_text[start:end]."""
    from rag.config import PROJECT_ROOT
    from rag.evaluate import MAX_CITABLE_CHARS, load_questions

    index = fake_service.loaded.index
    assert max(p.end - p.start for p in index.passages) <= MAX_CITABLE_CHARS
    texts = {doc_id: d.text for doc_id, d in index.documents.items()}
    for q in load_questions(PROJECT_ROOT / "eval" / "pool" / "factual.jsonl"):
        for r in fake_service.search(q["q"], k=10)["results"]:
            assert texts[r["doc"]][r["start"]:r["end"]] == r["text"] and len(r["text"]) <= MAX_CITABLE_CHARS
        reply = fake_service.ask(q["q"])
        for c in reply["citations"]:
            assert texts[c["doc"]][c["start"]:c["end"]] == c["text"]
        if reply["answer_kind"] == "quote":
            src = reply["answer_source"]
            assert texts[src["doc"]][src["start"]:src["end"]] == reply["answer"], q["id"]
