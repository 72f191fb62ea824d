"""What a search remembers between questions gives what computing it afresh gives, and lasts only as long as the
index build it was computed from (rag/answer.py AnswerPicker._remember, rag/compose.py plain, the council bonus's
per-council passage arrays in rag/retrieval.py). Fast: the fake-embedder index."""
import json
from pathlib import Path

from rag.answer import AnswerPicker, candidate_spans
from rag.compose import plain
from rag.config import Settings
from rag.index import build_index
from rag.service import Service
from tests.conftest import FAKE_MODEL

ROOT = Path(__file__).resolve().parent.parent


def _questions() -> list[str]:
    return [json.loads(line)["q"] for name in ("questions.jsonl", "questions_extra.jsonl")
            for line in open(ROOT / "eval" / name) if line.strip()]


def _answers(picker: AnswerPicker, calls) -> list:
    return [[(a.doc_id, a.start, a.end, a.score, a.citation) for a in picker.ranked(question, hits, n=3, **reading)]
            for question, hits, reading in calls]


def test_remembered_spans_terms_and_figures_give_what_computing_them_gives(fake_service, monkeypatch):
    loaded = fake_service.loaded
    calls = []
    for q in _questions():
        query = loaded.understander.understand(q)
        calls.append((query.search, loaded.retriever.search(query, 10), loaded.answers.reading(query)))
    picker = AnswerPicker(loaded.index, loaded.answers.embedder)
    first, again = _answers(picker, calls), _answers(picker, calls)  # computed, then remembered
    assert all(picker._memo.values())
    monkeypatch.setattr(AnswerPicker, "_remember", lambda self, memo, key, compute: compute())
    assert first == again == _answers(AnswerPicker(loaded.index, loaded.answers.embedder), calls)
    assert any(first)
    hit = calls[0][1][0]
    doc = loaded.index.documents[hit.passage.doc_id].text
    assert picker._memo["spans"][(hit.passage.doc_id, hit.passage.start, hit.passage.end)] == \
        tuple(candidate_spans(doc, hit.passage.start, hit.passage.end))


def test_the_council_bonus_arrays_say_which_passages_are_about_each_council(fake_service):
    retriever = fake_service.loaded.retriever
    assert retriever._about_council
    for council, about in retriever._about_council.items():
        assert [bool(x) for x in about] == [council in p.councils for p in retriever.index.passages]


def test_plain_remembers_the_same_text_it_computes():
    text = "## Heading\n\n- **one** item\n\n\n`two`"
    assert plain(text) == plain(text) == plain.__wrapped__(text) == "Heading\none item\ntwo"


def test_nothing_remembered_outlives_its_index_build(small_corpus, tmp_path):
    """A document rewritten and indexed again: the same passage offsets now hold other sentences, and the
    answers are those of a service that starts on the new build."""
    settings = Settings(corpus_dir=small_corpus, index_dir=tmp_path / "index", model=FAKE_MODEL,
                        watch_index=False)
    build_index(settings)
    service = Service(settings)
    question = "How many people were waiting for assessments in Lancashire?"
    before = service.ask(question)
    assert before["found"] and "2,000" in before["answer"]
    service.search(question)
    old = service.loaded.answers
    assert old._memo["spans"]
    article = small_corpus / "lancashire-rated-requires-improvement-news.txt"
    # the same length: the passages keep their offsets, one of them now has a sentence more
    text = article.read_text(encoding="utf-8")
    changed = text.replace("more than 2,000 people", "more than 4,100 people").replace(
        "assessments, some up to 226 days", "assessments. Some up to 226 days")
    assert len(changed) == len(text) and changed != text
    article.write_text(changed, encoding="utf-8")
    build_index(settings)
    assert service.reload_if_changed()
    assert service.loaded.answers is not old
    after = service.ask(question)
    assert "4,100" in after["answer"] and "2,000" not in after["answer"]
    index = service.loaded.index
    hits = service.loaded.retriever.search(question, 10)
    assert service.loaded.answers._spans(hits) == [
        (i, s, e, pair) for i, h in enumerate(hits[:4])
        for s, e, pair in candidate_spans(index.documents[h.passage.doc_id].text, h.passage.start, h.passage.end)]
    fresh = Service(settings)
    for q in (question, *_questions()[:10]):
        assert service.search(q)["results"] == fresh.search(q)["results"]
        got, want = service.ask(q), fresh.ask(q)
        got.pop("conversation_id"), want.pop("conversation_id")
        assert got == want


def test_a_query_as_json_is_its_fields_as_asdict_gives_them(fake_service):
    from dataclasses import asdict

    from rag.query import Query

    understander = fake_service.loaded.understander
    previous = None
    for q in _questions():
        query = understander.understand(q, previous=previous)
        data = query.json()
        assert data == {**asdict(query), "searched_for": query.searched_for,
                        "previous_answer": list(query.previous_answer) if query.previous_answer else None}
        assert Query.from_json(json.loads(json.dumps(data))) == query
        previous = query


def test_fusing_every_passage_skips_the_tops_and_gives_what_the_tops_union_gives(fake_service):
    """A corpus within the scaling sample: the candidates are every passage allowed, scored by every ranker, as
    the union of each ranker's top and the sample, scored, gives them (bit for bit)."""
    import numpy as np

    from rag.retrieval import CANDIDATES, _sample, candidates

    retriever = fake_service.loaded.retriever
    masks = [retriever.candidate_mask(), retriever.candidate_mask(council="Blackpool")]
    assert all(CANDIDATES < mask.sum() <= len(mask) for mask in masks)
    for q in _questions():
        for mask in masks:
            rankers = dict(retriever.rankers)
            rows, scores = candidates(rankers, q, mask, 10)
            prepared = {name: r.prepare(q) for name, r in rankers.items()}
            tops = [r.top(prepared[name], CANDIDATES, mask)[0] for name, r in rankers.items()]
            union = np.unique(np.concatenate(tops + [_sample(mask, 2048)]))
            assert np.array_equal(rows, union)
            for name, r in rankers.items():
                assert np.array_equal(scores[name], np.asarray(r.score(prepared[name], union), dtype=np.float32))


def test_a_warmed_picker_holds_every_passages_spans_and_answers_as_a_cold_one(fake_service):
    loaded = fake_service.loaded
    calls = []
    for q in _questions():
        query = loaded.understander.understand(q)
        calls.append((query.search, loaded.retriever.search(query, 10), loaded.answers.reading(query)))
    warmed, cold = AnswerPicker(loaded.index, loaded.answers.embedder), AnswerPicker(loaded.index, loaded.answers.embedder)
    warmed.warm()
    assert set(warmed._memo["spans"]) == {(p.doc_id, p.start, p.end) for p in loaded.index.passages}
    assert len(warmed._memo["present"]) >= len(loaded.index.passages)
    assert not cold._memo["spans"]
    assert _answers(warmed, calls) == _answers(cold, calls)
    # the service warms the picker it builds: every passage, not only those its questions so far reached
    assert set(loaded.answers._memo["spans"]) == set(warmed._memo["spans"])


def test_a_picker_over_a_large_index_is_not_warmed(fake_service, monkeypatch):
    monkeypatch.setattr(AnswerPicker, "WARM_PASSAGES", len(fake_service.loaded.index.passages) - 1)
    picker = AnswerPicker(fake_service.loaded.index, None)
    picker.warm()
    assert not picker._memo["spans"]
