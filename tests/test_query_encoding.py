"""How often a question goes to the model: once for a new question, its topic and itself in one call."""
import pytest

QUESTIONS = [
    "How long did people in Lancashire wait for an assessment?",
    "What did Blackpool get for working with the NHS?",
    "Did Blackpool help people with staying healthy?",
    "What is the drug death rate in Blackpool?",
]


@pytest.fixture
def model_calls(fake_service, fake_model_available, monkeypatch):
    """The texts of each call the fake model gets (questions not seen before, so the cache does not answer)."""
    calls: list[list[str]] = []
    real = type(fake_model_available).encode

    def counting(self, texts, *args, **kwargs):
        calls.append(list(texts))
        return real(self, texts, *args, **kwargs)

    fake_service.search("warm up: the statements' own phrasings are encoded once")
    monkeypatch.setattr(type(fake_model_available), "encode", counting)
    return calls


@pytest.mark.parametrize("question", QUESTIONS)
def test_a_new_question_costs_one_model_call_with_its_topic(fake_service, model_calls, question):
    parsed = fake_service.loaded.understander.understand(question + " (1)")
    model_calls.clear()
    question = question + " (2)"  # new again
    fake_service.search(question)
    texts = [t for call in model_calls for t in call]
    assert len(model_calls) == 1, model_calls  # one wait for the model, not two
    assert question in texts  # what retrieval searches for was encoded in that call
    if parsed.statement_by is None or parsed.statement_by == "meaning":
        assert len(texts) <= 2


def test_a_follow_up_is_not_encoded_ahead(fake_service, model_calls):
    """A follow-up searches for more than its own words: encoding them ahead would be wasted."""
    first = fake_service.loaded.understander.understand("How is Blackpool doing? (3)")
    model_calls.clear()
    query = fake_service.loaded.understander.understand("and what about waiting times? (3)", first)
    assert query.follow_up and query.search != query.corrected
    assert query.corrected not in [t for call in model_calls for t in call]


def test_a_search_matches_the_statement_by_meaning_only_where_it_can_change_the_results(fake_service, model_calls):
    """/api/search shows no Query: for a question whose statement can change neither the record put first nor
    the ranking, the question alone is encoded; /api/ask (its reply shows the statement) still matches it."""
    plain = "What is the drug death rate in Blackpool? (5)"
    fake_service.search(plain)
    assert model_calls == [[plain]]
    model_calls.clear()
    scored = "What score did Blackpool get for joining up care? (5)"
    fake_service.search(scored)  # a score wanted: its statement is the record looked up
    assert len(model_calls) == 1 and scored in model_calls[0] and len(model_calls[0]) == 2
    model_calls.clear()
    asked = "What is the drug death rate in Blackpool? (6)"
    query = fake_service.loaded.understander.understand(asked)
    assert query.statement_by != "name" and len(model_calls) == 1 and len(model_calls[0]) == 2


def _eval_questions():
    import json

    from rag.config import PROJECT_ROOT

    files = [PROJECT_ROOT / "eval" / name for name in ("questions.jsonl", "questions_extra.jsonl", "unanswerable.jsonl")]
    files += sorted((PROJECT_ROOT / "eval" / "pool").glob("*.jsonl"))
    out = []
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                out += [turn["q"] for turn in row.get("turns", [row])]
    return out


def test_search_results_are_the_same_with_the_statement_always_matched(service, monkeypatch):
    """The shortcut (Understander.understand(for_search=True)) changes no search result: every dev and pool
    question, unfiltered and filtered to a council, gets the same results as with the statement always matched."""
    understander = service.loaded.understander
    questions = _eval_questions()
    assert len(questions) > 200
    shortcut = [(q, c, service.search(q, council=c)) for c in (None, "Blackpool") for q in questions]
    real = understander.understand
    monkeypatch.setattr(understander, "understand", lambda *a, for_search=False, **k: real(*a, **k))
    for question, council, found in shortcut:
        assert service.search(question, council=council) == found, (question, council)
    # questions whose statement was matched by meaning, and skipped for search (else this would prove little)
    skipped = [q for q in questions if real(q).statement_by == "meaning" and real(q, for_search=True).statement is None]
    assert len(skipped) >= 5, skipped
