"""The parsed records, checked field by field against the reports."""
import pytest

from rag import cqc
from rag.facts import Facts
from rag.index import load_index

BLACKPOOL_SCORES = {
    "Assessing needs": 1, "Supporting people to live healthier lives": 1, "Equity in experience and outcomes": 1,
    "Care provision, integration and continuity": 2, "Partnerships and communities": 2,
    "Safe pathways, systems and transitions": 2, "Safeguarding": 1,
    "Governance, management and sustainability": 1, "Learning, improvement and innovation": 1,
}


@pytest.fixture(scope="module")
def facts(built_index):
    return Facts(load_index(built_index.index_dir))


def test_blackpool_assessment_record(facts):
    rec = facts.councils["blackpool"]
    assert rec.name == "Blackpool Council"
    assert rec.rating.value == "Inadequate" and not rec.rating.indicative
    assert rec.published == "2025-08-06"
    assert {s: f.value for s, f in rec.statements.items()} == BLACKPOOL_SCORES


def test_each_score_cites_the_text_that_states_it(facts):
    index = facts.index
    for statement, fact in facts.councils["blackpool"].statements.items():
        quoted = index.documents[fact.doc_id].text[fact.start:fact.end]
        assert f"Score: {fact.value}" in quoted
        assert fact.in_theme or quoted.endswith(f"Score: {fact.value}")  # the theme's quote adds its meaning line
        assert cqc.quality_statement(quoted.splitlines()[0].lstrip("# ")) == statement
        record = fact.json(index)
        assert record["meaning"] == cqc.SCORE_MEANINGS[fact.value]
        assert record["theme"] == cqc.theme_of(statement) and record["theme_name"]
        assert fact.passage.start <= fact.start < fact.end <= fact.passage.end


def test_ratings_stated_in_articles(facts):
    lancashire = facts.councils["lancashire"]
    assert lancashire.rating.value == "Requires improvement"
    source = facts.index.documents[lancashire.rating.doc_id].text[lancashire.rating.start:lancashire.rating.end]
    assert "Lancashire County Council" in source and "requires improvement" in source
    nottingham = facts.councils["nottingham"]
    assert nottingham.rating.value == "Requires improvement" and nottingham.rating.indicative
    for slug in ("birmingham", "lincolnshire", "north-lincolnshire", "suffolk"):
        assert facts.councils[slug].rating.value == "Good" and facts.councils[slug].rating.indicative


def test_score_counts_from_the_pilot_article(facts):
    assert facts.councils["nottingham"].score_counts.value == {"3": 3, "2": 6}
    assert facts.councils["north-lincolnshire"].score_counts.value == {"3": 8, "2": 1}
    assert facts.councils["lincolnshire"].score_counts.value == {"3": 9}
    assert facts.councils["blackpool"].score_counts is None


@pytest.fixture(scope="module")
def understand(service):
    return service.loaded.understander.understand


@pytest.mark.parametrize("question,kind,value", [
    ("What score did Blackpool get for safeguarding?", "score", 1),
    ("How did Blackpool score on partnerships?", "score", 2),
    ("Blackpool's score for supporting people to live healthier lives", "score", 1),
    ("What rating did CQC give Lancashire County Council?", "rating", "Requires improvement"),
    ("How was Nottingham rated?", "rating", "Requires improvement"),
    ("What scores did Nottingham get in the pilot?", "score_counts", {"3": 3, "2": 6}),
    ("What does a score of 1 mean?", "meaning", cqc.SCORE_MEANINGS[1]),
    ("What scores did Lancashire get?", "score_max", 2),
])
def test_lookup_routes_rating_and_score_questions(facts, understand, question, kind, value):
    fact = facts.lookup(understand(question))
    assert fact is not None and fact.kind == kind and fact.value == value


@pytest.mark.parametrize("question", [
    "How long did people wait for reviews in Blackpool?",  # not a rating or score question
    "What is the council tax rate in Lancashire?",  # "rate" is not "rating"
    "What score did Kent get for safeguarding?",  # no record
    "What score did Birmingham get for safeguarding?",  # the pilot article gives only counts
])
def test_lookup_leaves_other_questions_alone(facts, understand, question):
    assert facts.lookup(understand(question)) is None


def test_follow_up_takes_what_and_whom_from_the_question_before(facts, understand):
    first = understand("What score did Blackpool get for assessing needs?")
    fact = facts.lookup(understand("and for safeguarding?", first))
    assert fact.statement == "Safeguarding" and fact.council == "Blackpool Council"


def test_an_article_bound_on_the_scores_is_a_record(facts):
    bound = facts.councils["lancashire"].score_max
    assert bound.value == 2
    assert "score above two" in facts.index.documents[bound.doc_id].text[bound.start:bound.end]


def test_a_rating_across_all_nine_areas_is_each_statements_score(facts):
    """"rated ... “requires improvement” across all nine areas": nine scores of 2, quoting that sentence."""
    counts = facts.councils["lancashire"].score_counts
    assert counts.value == {"2": 9} and not counts.indicative
    assert "across all nine areas" in facts.index.documents[counts.doc_id].text[counts.start:counts.end]
    assert counts.summary() == "Lancashire County Council, the nine quality statements: 9 scored 2."


@pytest.mark.parametrize("slug, statement, value", [
    ("lincolnshire", "Safeguarding", 3),  # "gaining 3s across the board"
    ("lancashire", "Assessing needs", 2),  # "requires improvement across all nine areas"
    ("blackpool", "Safeguarding", 1),  # its own report's score
])
def test_a_statements_score_is_read_where_all_nine_got_the_same(facts, slug, statement, value):
    fact = facts.councils[slug].score_for(statement)
    assert fact.value == value and fact.statement == statement
    assert fact.of_all == (slug != "blackpool")
    assert fact.passage.start <= fact.start < fact.end <= fact.passage.end


def test_no_statement_score_is_read_from_mixed_counts(facts):
    assert facts.councils["birmingham"].score_for("Safeguarding") is None  # six 3s and three 2s: which is which?
