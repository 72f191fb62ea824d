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
