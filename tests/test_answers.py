"""Extracted answers, declining, conversations: unit tests and end to end through /api/ask."""

import pytest
from fastapi.testclient import TestClient

from rag.answer import MAX_ANSWER_CHARS
from rag.app import create_app
from rag.conversation import ConversationStore
from rag.evaluate import answer_hit, evaluate, load_questions
from rag.text import tokenize
from tests.conftest import QUESTIONS, PROJECT_ROOT

UNANSWERABLE = PROJECT_ROOT / "eval" / "unanswerable.jsonl"


@pytest.fixture(scope="module")
def client(service):
    return TestClient(create_app(service.settings, service=service))


def ask(client, question, **body):
    r = client.post("/api/ask", json={"question": question, **body})
    assert r.status_code == 200, r.text
    return r.json()


def test_the_answer_is_verbatim_source_text_within_the_limit(service):
    for question in ("How many people were waiting for a financial assessment in Blackpool?",
                     "What did inspectors find about partnership working in Lancashire?",
                     "Why did Suffolk bring mental health services back in-house?"):
        reply = service.ask(question)
        src = reply["answer_source"]
        assert reply["found"] and 0 < len(reply["answer"]) <= MAX_ANSWER_CHARS
        assert service.document(src["doc"])["text"][src["start"]:src["end"]] == reply["answer"]
        cited = reply["citations"][src["citation"]]
        assert cited["doc"] == src["doc"] and cited["start"] <= src["start"] and src["end"] <= cited["end"]


def test_a_number_question_gets_the_sentence_with_the_number(service):
    assert "203" in service.ask("How many people were waiting for a financial assessment in Blackpool?")["answer"]
    assert "24.70%" in service.ask("What percentage of Blackpool's budget went on adult social care in 2023/24?")["answer"]
    assert "40 minutes" in service.ask("How long were Suffolk's contact centre waits?")["answer"]  # minutes are a span of time


def test_a_question_about_a_council_is_answered_from_that_councils_passages(service):
    reply = service.ask("How long did people wait for assessments in Lancashire?")
    assert reply["council"] == "Lancashire County Council"
    assert reply["citations"][reply["answer_source"]["citation"]]["doc"].startswith("lancashire")


def test_score_question_answered_from_the_record(client):
    reply = ask(client, "What score did Blackpool get for safeguarding?")
    assert reply["found"] and reply["fact"]["kind"] == "score" and reply["fact"]["value"] == 1
    assert reply["fact"]["meaning"].startswith("Inadequate")
    # quoted from the statement's own section, with the line that says what the score means
    assert reply["answer"] == "# Safeguarding\n\nScore: 1\n\n1 -Inadequate: Evidence shows significant shortfalls"
    assert reply["answer_label"] == "Blackpool Council — Safeguarding"
    assert reply["citations"][0]["text"].startswith("# Safeguarding")


def test_rating_question_answered_from_the_record(client):
    reply = ask(client, "What rating did CQC give Lancashire County Council for adult social care?")
    assert reply["fact"]["kind"] == "rating" and reply["fact"]["value"] == "Requires improvement"
    assert "requires improvement" in reply["answer"]


def test_a_council_the_corpus_does_not_cover_is_declined_with_the_list(client):
    reply = ask(client, "What rating did Kent County Council get?")
    assert not reply["found"] and reply["answer"] == ""
    assert "Kent" in reply["message"] and "Blackpool Council" in reply["message"]
    assert reply["citations"] == []


@pytest.mark.parametrize("question", ["What is the capital of France?", "asdf qwerty zxcv",
                                      "What is the salary of Blackpool's Director of Adult Social Services?"])
def test_weak_support_is_declined_with_possibly_related_passages(client, question):
    reply = ask(client, question)
    assert not reply["found"] and reply["answer"] == "" and "don't answer" in reply["message"]


def test_follow_up_keeps_council_and_topic(client):
    first = ask(client, "What score did Blackpool get for assessing needs?")
    assert first["fact"]["statement"] == "Assessing needs"
    follow = ask(client, "and for safeguarding?", conversation_id=first["conversation_id"])
    assert follow["conversation_id"] == first["conversation_id"]
    assert follow["council"] == "Blackpool Council"
    assert follow["fact"]["statement"] == "Safeguarding" and follow["fact"]["value"] == 1
    again = ask(client, "and for partnerships?", conversation_id=first["conversation_id"])
    assert again["fact"]["statement"] == "Partnerships and communities" and again["fact"]["value"] == 2
    other = ask(client, "and for safeguarding?")  # no conversation: nothing to follow
    assert other["conversation_id"] != first["conversation_id"]


def test_conversation_store_is_bounded_in_number_and_age():
    now = [1000.0]
    store = ConversationStore(max_conversations=3, max_age=60)
    store.clock = lambda: now[0]  # time moves only when the test says
    ids = []
    for _ in range(5):
        ids.append(store.get_or_create(None).id)
        now[0] += 1
    assert len(store) == 3 and store.get_or_create(ids[0]).id != ids[0]  # the oldest were dropped
    kept = store.get_or_create(ids[-1])
    assert kept.id == ids[-1]
    now[0] += 59
    assert store.get_or_create(ids[-1]).id == ids[-1]  # 59 s idle: kept (and touched again)
    now[0] += 61
    assert store.get_or_create(ids[-1]).id != ids[-1]  # 61 s idle: expired


def test_answer_hit_uses_the_eval_normaliser():
    assert answer_hit("## Care provision, integration and continuity\n\nScore: 2",
                      ["Care provision, integration and continuity Score: 2"])
    assert not answer_hit("", ["x"])


def test_dev_and_unanswerable_targets(service):
    """Floors below the measured figures (README): answer@1 0.867, declined 0.933, wrongly declined 0."""
    report = evaluate(service, load_questions(QUESTIONS), unanswerable=load_questions(UNANSWERABLE))
    m = report["metrics"]
    assert m["answer1"] >= 0.8 and m["wrongly_declined"] <= 0.05 and m["declined"] >= 0.85


def test_a_sentence_that_leans_on_the_one_before_is_quoted_with_it(service):
    reply = service.ask("What was Blackpool's actual spend on adult social care in 2023/24?")
    assert "Its actual spend for that year was **£71,158,000.00**" in reply["answer"]
    assert reply["answer"].index("estimated") < reply["answer"].index("actual")  # the sentence before, too
    assert len(reply["answer"]) <= MAX_ANSWER_CHARS


# --- each kind of question, end to end through /api/ask ---

def test_overview_gives_rating_date_scores_and_a_quote(client):
    reply = ask(client, "How is Blackpool doing?")
    assert reply["answer_kind"] == "records" and reply["found"]
    assert "Inadequate" in reply["answer"] and "6 August 2025" in reply["answer"] and "6 scored 1" in reply["answer"]
    assert reply["quotes"] and all(q["doc"] == "blackpool-council-local-authority-assessment-2025-08-06"
                                   for q in reply["quotes"])
    assert any(r["kind"] == "rating" and r["source"]["text"] for r in reply["records"])


def test_compare_gives_rows_for_each_council(client):
    reply = ask(client, "Compare Blackpool and Lancashire")
    assert reply["answer_kind"] == "records"
    assert [row["header"] for row in reply["table"]["rows"]] == ["Blackpool Council", "Lancashire County Council"]
    assert "Inadequate" in reply["answer"] and "Requires improvement" in reply["answer"]
    assert all(cell["source"] for row in reply["table"]["rows"] for cell in row["cells"][:1])


def test_rank_names_the_council_and_is_honest_about_missing_figures(client):
    reply = ask(client, "Which council had the lowest score for safeguarding?")
    assert reply["answer"].startswith("Blackpool Council") and "no Safeguarding score for" in reply["answer"]
    best = ask(client, "Which pilot council did best?")
    assert best["answer"].startswith("Lincolnshire County Council")


def test_list_of_councils_by_rating(client):
    reply = ask(client, "Which councils were rated good?")
    for name in ("Birmingham", "Lincolnshire", "North Lincolnshire", "Suffolk"):
        assert name in reply["answer"].split("\n")[0]
    assert "Blackpool" not in reply["answer"].split("\n")[0]


def test_a_councils_lowest_scores_are_listed(client):
    reply = ask(client, "In which areas did Blackpool get the lowest possible score?")
    first = reply["answer"].split("\n")[0]
    assert "Safeguarding" in first and "Partnerships" not in first


def test_score_meaning(client):
    reply = ask(client, "What does a score of 2 mean?")
    assert "some shortfalls" in reply["answer"].lower()


def test_a_statement_the_record_lacks_is_declined_with_what_the_reports_say(client):
    reply = ask(client, "What score did Birmingham get for safeguarding?")
    assert not reply["found"] and "6 scored 3" in reply["message"]


def test_misspelt_question_is_corrected_and_says_so(client):
    reply = ask(client, "blackpol safegaurding")
    assert reply["found"] and reply["searched_for"] == "blackpool safeguarding"
    assert reply["query"]["councils"] == ["Blackpool Council"]


def test_four_turn_conversation(client):
    first = ask(client, "What score did Blackpool get for safeguarding?")
    conv = first["conversation_id"]
    why = ask(client, "why so low?", conversation_id=conv)
    # the report's findings behind the score, quoted and cited, with the score record they explain
    assert why["found"] and why["answer_kind"] == "records" and "Score: 1" not in why["answer"]
    assert why["answer"].startswith("Why Blackpool scored 1 for Safeguarding")
    assert 2 <= len(why["quotes"]) and all(q["doc"] == first["answer_source"]["doc"] for q in why["quotes"])
    assert [r["statement"] for r in why["records"]] == ["Safeguarding"]
    cited = {(c["doc"], c["start"]) for c in why["citations"]}
    for q in why["quotes"]:  # each quote's own passage is cited
        assert any(doc == q["doc"] and start <= q["start"] for doc, start in cited)
    other = ask(client, "what about Lancashire?", conversation_id=conv)
    assert other["query"]["councils"] == ["Lancashire County Council"] and other["query"]["statement"] == "Safeguarding"
    assert other["scope"]["councils"] == ["Lancashire County Council"]
    back = ask(client, "and in Blackpool?", conversation_id=conv)
    assert back["query"]["councils"] == ["Blackpool Council"] and back["query"]["statement"] == "Safeguarding"


def test_who_said_that_names_the_speaker_of_the_previous_quote(client):
    first = ask(client, "How many people in Lancashire were still waiting for assessments, according to the CQC?")
    assert "2,000" in first["answer"]
    said = ask(client, "who said that?", conversation_id=first["conversation_id"])
    assert "Bullion" in said["answer"]


def test_the_scope_can_be_cleared(client):
    first = ask(client, "How is Blackpool doing?")
    cleared = ask(client, "How long do people wait?", conversation_id=first["conversation_id"], clear_scope=True)
    assert cleared["query"]["councils"] == []


def test_a_list_introduction_takes_its_items_but_not_the_prose_after_them():
    from rag.answer import AnswerPicker
    text = ("Key areas for improvement include:\nReducing service variation\nCutting waiting times\n"
            "Real change is underway. We are on it.\n")
    intro_end = text.index(":") + 1
    assert text[:AnswerPicker._with_list(text, 0, intro_end, len(text))].endswith("Cutting waiting times")
    # items that end as sentences run on while they are alike
    text = "Progress since:\nFaster access: waits fell.\nMore reviews: up 8%.\n"
    assert text[:AnswerPicker._with_list(text, 0, text.index(":") + 1, len(text))].endswith("up 8%.")


def test_strengths_and_shortfalls_are_several_findings_each_on_its_side(client):
    """An article gives each pilot council one passage: its findings there are several sentences, and
    the shortfalls are not listed as strengths."""
    worse = ask(client, "What problems did the CQC find in Suffolk?")
    assert worse["answer_kind"] == "records" and len(worse["quotes"]) >= 2
    assert "40 minutes" in worse["answer"] and "500 people" in worse["answer"]
    assert "overwhelmingly positive" not in worse["answer"]
    better = ask(client, "What did the CQC praise in Nottingham?")
    assert "newly qualified" in better["answer"] and "low morale" not in better["answer"]
    listed = ask(client, "What are Lancashire's key areas for improvement?")
    assert "Reducing service variation" in listed["answer"] and "Real change is underway" not in listed["answer"]


def test_a_count_is_of_what_was_asked_and_not_a_span_of_time():
    from rag.answer import AnswerPicker
    holds = AnswerPicker._holds
    assert holds("number", "more than 2,000 people were still waiting", "people")
    assert holds("number", "Approximately **3990** people were accessing support", "people")
    assert holds("number", "Four of the five authorities tested", "councils")
    assert not holds("number", "over 250 safeguarding referrals had been waiting", "people")
    assert not holds("number", "enquiries waiting 5-6 months", None)
    assert not holds("number", "waits of over 40 minutes", None)
    assert holds("number", "97 referrals had been made for major adaptations", "requests")  # cqc.SAME_COUNTED
    assert holds("number", "a total population of 142,708", "people live")
    assert not holds("number", "97 referrals had been made for major adaptations", "people")
    # a rate's base is no count, and a figure counts only what its own clause says
    assert not holds("number", "1,465 were receiving long term support per 100,000 people in Blackpool", "people")
    assert not holds("number", "compared with the England average at 855, and adults aged 65 and over", "adults")
    assert holds("number", "However, 66 unpaid carers took more than 28 days", "carers")
    # a count of a wider group answers "how many adults", as a share of them does (less surely than a count of adults)
    broader = "29,700 people aged 18 and over in Blackpool were living with some or severe hearing loss"
    assert not holds("number", broader, "adults") and AnswerPicker._holds_broader("number", broader, "adults")
    assert not AnswerPicker._holds_broader("number", broader, "carers")


def test_how_many_adults_and_the_population_are_answered_from_a_count_of_people(client):
    hearing = ask(client, "How many adults in Blackpool are living with hearing loss?")
    assert hearing["found"] and "29,700 people aged 18 and over" in hearing["answer"]
    population = ask(client, "What is the population of Blackpool?")
    assert population["found"] and "142,708" in population["answer"]


def test_how_many_people_is_declined_when_the_reports_count_something_else(client):
    reply = ask(client, "How many people in Birmingham were waiting for a care assessment?")
    assert not reply["found"] and not reply["answer"]


def test_a_readers_comment_is_not_the_answer_unless_opinions_are_asked_for(client):
    first = ask(client, "What did the CQC say about Birmingham?")
    backlog = ask(client, "what's the council doing about that backlog?", conversation_id=first["conversation_id"])
    assert backlog["found"] and "Anonymous" not in backlog["answer"] and "So… have I" not in backlog["answer"]
    assert "December 2023" in backlog["answer"]


def test_what_readers_thought_is_answered_from_their_comments_not_the_rating(client):
    reply = ask(client, "Did everyone think Birmingham deserved a good rating?")
    assert reply["answer_kind"] == "quote" and "have I just read this right" in reply["answer"]
    assert ask(client, "What do you think of Blackpool's rating?")["fact"]["kind"] == "rating"


def test_a_topical_comparison_quotes_what_each_council_reports_and_no_pointer_to_read_more(client):
    reply = ask(client, "Which had shorter waiting lists in the pilot, Lincolnshire or Suffolk?")
    assert "less than 100" in reply["answer"] and "over 500 people" in reply["answer"]
    overview = ask(client, "Summarise Lancashire's CQC result for me")
    assert "You can read" not in overview["answer"]


def test_which_councils_for_a_topic_names_each_council_with_what_its_report_says(client):
    reply = ask(client, "Which of the pilot councils were praised for direct payments?")
    assert reply["answer_kind"] == "records" and reply["query"]["topic"] == ["direct", "payments"]
    assert "- Lincolnshire:" in reply["answer"] and "- North Lincolnshire:" in reply["answer"]
    assert all("direct payments" in q["text"] for q in reply["quotes"])


def test_how_many_days_is_not_answered_in_minutes(client):
    reply = ask(client, "How many days did people in Suffolk wait for an occupational therapy assessment?")
    assert not reply["found"]


def test_a_list_of_long_waits_quotes_the_waits(client):
    reply = ask(client, "List the long waits the CQC found in Lancashire")
    assert "262 days" in reply["answer"] and "226 days" in reply["answer"]
    assert "You can read" not in reply["answer"]


def test_who_said_that_never_repeats_the_previous_quote(client):
    first = ask(client, "What did Lancashire's staff news say about older people waiting for assessments?")
    who = ask(client, "who said that?", conversation_id=first["conversation_id"])
    assert not who["found"] or who["answer"] != first["answer"]


def test_a_finding_comes_before_a_council_spokespersons_reaction(client):
    reply = ask(client, "Did Nottingham get any credit from the CQC?")
    assert reply["quotes"] and "portfolio holder" not in reply["quotes"][0]["text"]
    assert any("newly qualified" in q["text"] for q in reply["quotes"])


def test_a_share_answers_how_many_when_no_count_is_given_and_a_pages_date_label_is_no_date():
    from rag.answer import HOLDS, AnswerPicker, candidate_spans
    share = "the percentage of people receiving direct payments was worse than the national average at 17.70%"
    assert not AnswerPicker._holds("number", share, "people") and AnswerPicker._share_of("number", share, "people")
    assert not AnswerPicker._share_of("number", "a 48% drop in waits", "people")
    text = " date 2025-09-11 Blackpool Council reports it is working on ways to improve.\n\nLast month the CQC published."
    spans = candidate_spans(text, 0, len(text))
    assert text[spans[0][0]:spans[0][1]].startswith("Blackpool Council reports")  # the dateline is the page's label
    assert not any("2025-09-11" in text[s:e] for s, e, _ in spans)
    assert HOLDS["date"].search("By the end of October 2025 the Council will be working with our Improvement Adviser")


def test_how_many_people_get_direct_payments_is_answered_with_a_share(client):
    reply = ask(client, "How many people get direct payments in Blackpool?")
    assert reply["found"] and "%" in reply["answer"] and "direct payments" in reply["answer"]


def test_a_when_question_is_answered_by_a_sentence_with_a_date(service):
    reply = service.ask("When did Suffolk bring mental health services back in-house?")
    assert reply["found"] and "2022" in reply["answer"]
    assert not service.loaded.answers.holds("date", "The CQC has rated most councils as good in pilot assessments.")


def test_an_overview_quotes_a_summary_finding_not_a_detail(client):
    reply = ask(client, "How is Blackpool doing?")
    texts = [q["text"] for q in reply["quotes"]]
    assert any("People were not receiving the standard of support" in t for t in texts), texts


@pytest.mark.parametrize("question,held", [
    ("Which Lincolnshire councillor spoke about the good rating?", "Wendy Bowkett"),  # a person, not the rating
    ("How often did the drugs and alcohol partnership meet in Blackpool?", "quarterly"),
    ("How big was the DoLS waiting list in Blackpool?", "281"),
])
def test_who_how_often_and_how_big_are_answered_by_a_sentence_holding_it(client, question, held):
    reply = ask(client, question)
    assert reply["answer_kind"] == "quote" and held in reply["answer"]


def test_a_sentence_takes_in_the_one_it_leans_on_and_the_one_leaning_on_it():
    from rag.answer import AnswerPicker
    text = ("Staff were positive.\n\nThere were over 250 referrals waiting five months.\n\n"
            "While initial efforts to tackle this had led to high caseloads, the council had a plan.\n\n"
            "The council estimated £67m. Its actual spend was £71m.\n\nIt said the plan was late.")
    span = lambda sentence: (text.index(sentence), text.index(sentence) + len(sentence))
    s, e = AnswerPicker._with_context(text, *span("While initial efforts to tackle this had led to high caseloads, "
                                                  "the council had a plan."), 0, len(text))
    assert text[s:e].startswith("There were over 250") and text[s:e].endswith("had a plan.")
    s, e = AnswerPicker._with_context(text, *span("The council estimated £67m."), 0, len(text))
    assert text[s:e] == "The council estimated £67m. Its actual spend was £71m."
    s, e = AnswerPicker._with_context(text, *span("Staff were positive."), 0, len(text))
    assert text[s:e] == "Staff were positive."  # the next sentence does not lean on it


def test_is_that_worse_after_a_statements_score_compares_that_statement(client):
    first = ask(client, "What score did Blackpool get for safeguarding?")
    reply = ask(client, "is that worse than the others?", conversation_id=first["conversation_id"])
    assert reply["answer_kind"] == "records"
    lines = reply["answer"].splitlines()
    assert lines[0].startswith("Blackpool Council comes out behind on Safeguarding: 1 of 4 against")
    assert any(line.startswith("Blackpool Council: Safeguarding scored 1 of 4") for line in lines)
    assert "Lancashire County Council: Safeguarding scored 2 of 4" in reply["answer"]  # all nine areas: 2
    assert "give no Safeguarding score for" in reply["answer"] and "Birmingham" in reply["answer"]
    assert reply["table"]["columns"][:2] == ["Council", "Safeguarding"]
    assert any(r["statement"] == "Safeguarding" for r in reply["records"] if r.get("statement"))


@pytest.mark.parametrize("question,named", [
    ("Who is the cabinet member for adult care in Suffolk?", "Beccy Hopfensperger"),
    ("Who is the deputy leader of Blackpool Council?", "Neal Brookes"),
    ("Who is the leader of Blackpool Council?", None),  # only the Deputy Leader is named
    ("Who is the chief executive of Blackpool Council?", None),  # a role the reports mention, but name no one in
])
def test_who_is_the_role_is_answered_by_the_name_of_its_holder_or_declined(client, question, named):
    reply = ask(client, question)
    assert reply["query"]["wants"] == "name"
    if named:
        assert reply["found"] and named in reply["answer"]
    else:
        assert not reply["found"] and "give no name" in reply["message"]


def test_a_name_is_two_capitalised_words_the_corpus_never_writes_in_lower_case(service):
    names = service.loaded.answers.names
    assert names("Wendy Bowkett, executive councillor, said the outcome vindicates the work.")
    assert not names("The Chief Executive and councillors oversaw the leadership.")
    assert names("Cllr Neal Brookes, Deputy Leader of Blackpool Council, said ...")
    assert not names("Cllr Neal Brookes, Deputy Leader of Blackpool Council, said ...", role="leader")


def test_how_much_does_it_cost_wants_a_sum_of_money_not_a_percentage(client):
    reply = ask(client, "How much does a care home place cost per week in Lancashire?")
    assert reply["query"]["wants"] == "money"
    assert not reply["found"] and "give no sum of money" in reply["message"]  # "an 8% increase" is no cost
    spent = ask(client, "How much did Blackpool spend on adult social care?")
    assert spent["found"] and "£71,158,000.00" in spent["answer"]


def test_a_figure_answers_only_a_sentence_on_the_questions_topic(client):
    reply = ask(client, "When will Lancashire be reinspected?")  # "the awards ceremony will take place on 25 September"
    assert not reply["found"] and "give no date" in reply["message"]
    spent = ask(client, "When was Blackpool's assessment published?")
    assert spent["found"] and "2025" in spent["answer"]


def test_follow_ups_on_a_score_its_meaning_another_council_the_others_and_thanks(client):
    first = ask(client, "What score did Blackpool get for safeguarding?")
    conv = first["conversation_id"]
    meaning = ask(client, "what does that mean?", conversation_id=conv)
    assert meaning["found"] and "significant shortfalls" in meaning["answer"]  # the meaning of its score, 1
    thanks = ask(client, "thanks", conversation_id=conv)
    assert not thanks["found"] and thanks["query"]["kind"] == "social" and not thanks["citations"]
    other = ask(client, "and Lancashire?", conversation_id=conv)  # follows on from the turn before "thanks"
    assert other["query"]["wants"] == "score" and other["query"]["statement"] == "Safeguarding"
    # its article rates it requires improvement "across all nine areas": a 2 for each, that sentence quoted
    assert other["found"] and other["fact"]["value"] == 2 and "across all nine areas" in other["answer"]
    overview = ask(client, "How is Nottingham doing?")
    others = ask(client, "what about the others?", conversation_id=overview["conversation_id"])
    assert others["query"]["kind"] == "compare" and len(others["table"]["rows"]) > 2
    assert others["table"]["rows"][0]["header"] == "Nottingham City Council"


def test_tell_me_more_gives_another_answer_to_the_previous_question(client):
    first = ask(client, "How long do people wait for an assessment in Lancashire?")
    more = ask(client, "tell me more", conversation_id=first["conversation_id"])
    assert more["query"]["more"] and more["found"] and more["answer"] != first["answer"]
    assert more["query"]["wants"] == first["query"]["wants"] and "Lancashire County Council" in more["query"]["councils"]


def test_is_that_worse_than_a_named_council_compares_the_conversations_council_with_it(client):
    first = ask(client, "How long do people wait for an assessment in Lancashire?")
    reply = ask(client, "is that worse than Blackpool?", conversation_id=first["conversation_id"])
    assert reply["query"]["kind"] == "compare"
    assert reply["query"]["councils"] == ["Lancashire County Council", "Blackpool Council"]
    assert [row["header"] for row in reply["table"]["rows"]] == ["Lancashire County Council", "Blackpool Council"]
    assert "England national average" not in reply["query"]["search"]  # judged against Blackpool, not England


def test_the_longest_wait_is_answered_by_the_largest_figure(service):
    # two sentences give waits for assessments in Lancashire; only one gives the longest ("some up to 226 days")
    assert "226 days" in service.ask("What was the longest wait for a needs assessment in Lancashire?")["answer"]


def test_how_big_a_backlog_is_a_count_not_a_share(service):
    answer = service.ask("How big is Blackpool's backlog of deprivation of liberty (DoLS) requests?")["answer"]
    assert "%" not in answer and any(ch.isdigit() for ch in answer), answer


def test_search_ranks_the_passage_the_answer_quotes_first(service):
    for question in ("How many people get long-term and short-term adult social care from Blackpool Council?",
                     "How often does the Blackpool drugs and alcohol partnership meet?"):
        reply = service.ask(question)
        first = service.search(question)["results"][0]
        src = reply["answer_source"]
        assert reply["citations"][0]["doc"] == first["doc"] == src["doc"] and src["citation"] == 0
        assert first["start"] <= src["start"] and src["end"] <= first["end"], (question, reply["answer"])


def test_what_a_council_is_doing_about_it_is_answered_by_its_actions(service):
    conversation = None
    for question in ("What did inspectors say about Lancashire's staff?", "So what were the staffing problems?",
                     "And what is the council doing about it?"):
        reply = service.ask(question, conversation_id=conversation)
        conversation = reply["conversation_id"]
    assert reply["query"]["kind"] == "action" and reply["answer"].startswith("What the reports say Lancashire is doing:")
    assert "Strengthening recruitment" in reply["answer"]  # the council's own list of what it is working on
    assert all(service.document(q["doc"])["text"][q["start"]:q["end"]] == q["text"] for q in reply["quotes"])


def test_what_is_being_done_about_a_figure_is_answered_by_actions_not_the_figure(service):
    # "the long waits" is what the question is about; it asks for what the council is doing, not how long
    reply = service.ask("What's being done about the long waits in Blackpool?")
    assert reply["query"]["kind"] == "action" and reply["query"]["wants"] is None
    assert reply["answer"].startswith("What the reports say Blackpool is doing:")
    assert "550 days" not in reply["answer"]


def test_the_frameworks_own_statements_do_not_answer_a_question_about_a_council(service):
    # "When I move between services ... there is a plan for what happens next" is what the CQC expects of every
    # council (under "What people expect"), not what it found in Blackpool
    framework = service.loaded.answers._framework
    assert any(f.startswith("When I move between services") for f in framework)
    assert any(f.startswith("We work with people to understand what being safe") for f in framework)
    reply = service.ask("What happens next for Blackpool?")
    assert reply["found"] and not reply["answer"].startswith(("When I move", "I have care", "We "))


def test_which_councils_were_in_the_pilot_lists_them_from_their_records(service):
    reply = service.ask("Which five councils were in the CQC pilot?")
    assert reply["answer_kind"] == "records" and reply["answer"].startswith("The pilot councils in the reports here (5):")
    for name in ("Birmingham", "Lincolnshire", "North Lincolnshire", "Nottingham", "Suffolk"):
        assert name in reply["answer"]
    assert "Blackpool" not in reply["answer"] and "Lancashire County" not in reply["answer"]


def test_why_a_council_got_its_score_is_answered_by_the_reports_reasons(service):
    # asked at once, not only as a follow-up ("why so low?" after the score)
    for question in ("Why did Blackpool score 1 for safeguarding?", "Why was Blackpool's safeguarding score so low?"):
        reply = service.ask(question)
        assert reply["answer"].startswith("Why Blackpool scored 1 for Safeguarding, in the report's words:"), question
        assert reply["records"] and reply["records"][0]["value"] == 1


def test_why_a_council_got_its_rating_is_answered_by_findings_on_its_side(service):
    reply = service.ask("Why was Blackpool rated inadequate?")
    assert reply["query"]["kind"] == "improve" and reply["query"]["judged"]
    lines = reply["answer"].splitlines()
    assert lines[0].startswith("Blackpool Council: rated Inadequate") and "needs to improve" in lines[1]
    assert any(r["value"] == "Inadequate" for r in reply["records"])
    # the reasons, not the sentences that only state the rating
    assert not any("rated" in q["text"].lower() and "inadequate" in q["text"].lower() for q in reply["quotes"])
    good = service.ask("Why did Lincolnshire get a good rating?")
    assert good["query"]["kind"] == "strengths" and "does well" in good["answer"]


def test_why_after_a_figure_asks_about_that_figure_not_a_score(service):
    first = service.ask("What percentage of people in Blackpool receive direct payments?")
    reply = service.ask("why is it so low?", conversation_id=first["conversation_id"])
    assert not reply["query"]["judged"] and not reply["answer"].startswith("Why Blackpool scored")
    assert reply["answer"] != first["answer"]  # not the figure again
    assert "direct payments" in reply["answer"]
    # after the score itself, the reasons for the score
    first = service.ask("How did Blackpool do on safeguarding?")
    reply = service.ask("why so low?", conversation_id=first["conversation_id"])
    assert reply["query"]["judged"] and reply["answer"].startswith("Why Blackpool scored 1 for Safeguarding")


def test_a_why_question_about_something_else_is_not_read_as_about_a_rating(service):
    reply = service.ask("Why does Blackpool show no safeguarding concerns about discriminatory abuse?")
    assert reply["query"]["kind"] == "factual" and not reply["query"]["judged"]
    assert "discriminatory abuse" in reply["answer"]


def test_which_councils_had_something_is_answered_council_by_council_from_their_reports(service):
    reply = service.ask("Which council had no waiting lists?")
    assert reply["query"]["kind"] == "list" and reply["query"]["across_findings"]
    lines = reply["answer"].splitlines()
    assert lines[0] == "What the reports say on this, council by council:"
    assert lines[1].startswith("- Lincolnshire:") and "No one was waiting" in lines[1]
    assert all(service.document(q["doc"])["text"][q["start"]:q["end"]] == q["text"] for q in reply["quotes"])
    filtered = service.ask("Which councils had no waiting lists?", council="Blackpool")
    assert filtered["answer"].startswith("What the reports say about Blackpool:")
    assert {service.document(q["doc"])["councils"][0] for q in filtered["quotes"]} == {"Blackpool Council"}
    # a ranking asked by something besides the records is what the reports say, council by council
    most = service.ask("Which council has the most people waiting?")
    assert most["query"]["kind"] == "list" and most["answer"].startswith("What the reports say on this, council by council:")
    assert not service.ask("Which council had the most potholes?")["found"]  # not ranked by rating
    assert service.ask("Which council performed worst on safeguarding?")["query"]["kind"] == "rank"  # a statement's scores
    assert service.ask("Which pilot council did best?")["query"]["kind"] == "rank"
    # which councils the reports cover, or were rated something, are their records
    for question in ("Which councils do you have CQC information on?", "Which five councils were in the CQC pilot?",
                     "Which councils were rated good?"):
        reply = service.ask(question)
        assert not reply["query"]["across_findings"] and reply["answer_kind"] == "records", question


def test_how_many_councils_were_rated_something_is_counted_from_their_records(service):
    reply = service.ask("How many councils were rated good in the pilot?")
    assert reply["query"]["kind"] == "list" and reply["query"]["counted"] == "councils"
    first, said = reply["answer"].splitlines()[:2]
    assert first.startswith("4 of the 5 pilot councils were rated Good: Birmingham City Council")
    assert "Four of the five authorities tested" in said  # the report's own sentence saying so, quoted and cited
    quote = reply["quotes"][0]
    assert service.document(quote["doc"])["text"][quote["start"]:quote["end"]] == quote["text"]
    assert quote["text"] in reply["citations"][0]["text"]
    assert quote["text"] in service.search("How many councils were rated good in the pilot?")["results"][0]["text"]
    one = service.ask("How many councils were rated inadequate?")
    assert one["answer"].startswith("1 of the 7 councils the reports here cover was rated Inadequate: Blackpool Council.")


def test_a_list_by_rating_quotes_the_reports_sentence_naming_them(service):
    reply = service.ask("Which councils came out as good in the CQC's pilot assessments?")
    assert reply["answer"].startswith("Rated Good: Birmingham City Council")
    assert "Four of the five authorities tested" in reply["quotes"][0]["text"]
    assert reply["quotes"][0]["text"] in reply["citations"][0]["text"]
    bad = service.ask("which councils were rated inadequate")
    assert all("Blackpool" in q["text"] and "inadequate" in q["text"].lower() for q in bad["quotes"])


def test_a_caveat_about_the_figures_is_not_the_answer(service):
    reply = service.ask("Did Blackpool put up council tax with the adult social care precept?")
    assert "raised the full adult social care precept" in reply["answer"]
    assert not reply["answer"].startswith("Please note")


def test_who_is_a_named_person_is_answered_by_the_sentence_naming_them(service):
    # "portfolio holder" is a role: the sentence naming her was passed over for one naming "a senior leader"
    reply = service.ask("Who is Linda Woodings?")
    assert reply["answer"].startswith("Linda Woodings, Nottingham’s portfolio holder for adult social care")


def test_a_short_question_whose_every_term_is_in_the_top_passage_is_answered(service):
    # the model's similarity for a short question can be under the decline threshold; its words are all there
    reply = service.ask("What did Suffolk bring back in-house?")
    assert reply["found"] and "bring mental health services back in-house" in reply["answer"]
    assert not service.ask("What is Lancashire's recycling rate?")["found"]  # a word the reports lack: still declined


def test_what_the_council_said_is_its_spokespersons_words(service):
    first = service.ask("Tell me about Nottingham's pilot assessment")
    reply = service.ask("what did their councillor say?", conversation_id=first["conversation_id"])
    assert reply["query"]["wants"] == "council_said" and reply["answer"].startswith("Linda Woodings")
    assert service.ask("What did Blackpool's council leader say about the rating?")["answer"].startswith("Cllr Neal Brookes")
    assert service.ask("How did Suffolk's council respond?")["answer"].startswith("Beccy Hopfensperger")
    # no one of Lancashire's is named: not another council's spokesperson
    assert "Brookes" not in service.ask("What did Lancashire's council say?")["answer"]


def test_how_long_counts_less_as_a_word_the_answer_must_share(service):
    # "how long" asks for a length of time: the sentence on "long waits for occupational therapy" shared "long" by chance
    assert "some up to 226 days" in service.ask("How long did people in Lancashire wait for an assessment?")["answer"]
    # ... and where the answer is that sentence, it still is
    assert "up to 262 days" in service.ask("How long did people in Lancashire wait for occupational therapy?")["answer"]


def test_what_a_rating_means_is_the_meaning_of_its_word_in_the_report(service):
    first = service.ask("What rating did Blackpool get?")
    reply = service.ask("what does that mean?", conversation_id=first["conversation_id"])
    assert reply["fact"]["kind"] == "meaning" and "significant shortfalls" in reply["answer"]  # Inadequate: a 1
    src = reply["answer_source"]
    assert service.document(src["doc"])["text"][src["start"]:src["end"]] == reply["answer"]


def test_a_comparison_says_which_council_comes_out_ahead(service):
    reply = service.ask("Compare Blackpool and Lancashire")
    assert reply["answer"].startswith("Lancashire County Council comes out ahead on its overall rating.")
    reply = service.ask("Compare Suffolk and Birmingham")  # both rated Good: by their quality statement scores
    assert reply["answer"].startswith("Suffolk County Council comes out ahead on its quality statement scores")
    # asked which is worse, the one behind is named
    worse = service.ask("which is worse?", conversation_id=service.ask("Compare Blackpool and Lancashire")["conversation_id"])
    assert worse["answer"].startswith("Blackpool Council comes out behind on its overall rating.")


def test_did_any_council_get_a_rating_is_answered_from_the_records(service):
    reply = service.ask("Did any council get outstanding?")
    assert reply["answer_kind"] == "records" and reply["answer"].startswith("Rated Outstanding: none.")


def test_keywords_naming_a_figure_are_answered_without_one_where_the_reports_give_none(service):
    # "waiting times" asks for a length of time; as keywords, not a question, the best sentence on it is the answer
    reply = service.ask("nottingham waiting times")
    assert reply["found"] and "waiting times" in reply["answer"]
    reply = service.ask("How long are Nottingham's waiting times?")  # asked: a length of time, or declined
    assert not reply["found"] or any(ch.isdigit() for ch in reply["answer"])


def test_a_weakest_area_without_scores_by_statement_says_what_the_reports_give(service):
    reply = service.ask("What's Birmingham's worst area?")  # six 3s and three 2s: which statements, not said
    assert reply["answer_kind"] == "records" and "no score by quality statement" in reply["answer"]
    even = service.ask("What's Lancashire's worst area?")  # "requires improvement" across all nine: none worse
    assert "lowest score was 2 of 4" in even["answer"] and "all nine quality statements scored 2" in even["answer"]
    assert "lowest score was 1" in service.ask("What is Blackpool's weakest area?")["answer"]


def test_after_a_ranking_they_and_why_mean_the_council_that_came_first(service):
    first = service.ask("Which pilot council had the lowest score?")
    assert first["answer"].startswith("Nottingham City Council comes last of the 5 pilot councils the reports here cover.")
    reply = service.ask("why?", conversation_id=first["conversation_id"])
    assert list(reply["query"]["councils"]) == ["Nottingham City Council"] and reply["query"]["kind"] == "improve"
    assert reply["found"] and all("Nottingham" in q["text"] or q["doc"] == reply["quotes"][0]["doc"]
                                  for q in reply["quotes"])


def test_why_so_low_then_a_council_without_statement_scores_gets_what_its_reports_say_of_the_statement(service):
    conversation = None
    for question in ("What score did Blackpool get for safeguarding?", "why so low?", "what about Lancashire?"):
        reply = service.ask(question, conversation_id=conversation)
        conversation = reply["conversation_id"]
    assert reply["answer"].startswith("The reports here give no Safeguarding score for Lancashire")
    assert reply["quotes"] and all("safeguarding" in q["text"].lower() for q in reply["quotes"])


def test_who_is_answered_by_a_body_of_government_too(service):
    first = service.ask("What is Blackpool Council doing to turn adult social care around?")
    reply = service.ask("Who has to sign off the plan?", conversation_id=first["conversation_id"])
    assert "approved by the Department for Health and Social Care" in reply["answer"]


def test_another_bodys_rating_is_not_the_cqcs(service):
    reply = service.ask("What is Blackpool's Ofsted rating?")
    assert not reply["found"] and "no Ofsted rating" in reply["message"] and reply["fact"] is None
    assert service.ask("What is Blackpool's CQC rating?")["fact"]["value"] == "Inadequate"
    assert service.ask("Which council got the bottom grade?")["answer"].startswith("Blackpool Council comes last")
    # another service's rating: these reports rate the council's adult social care only
    for question, service_name in (("What is Blackpool's children's services rating?", "children's services"),
                                   ("What is the hospital rating in Blackpool?", "hospital")):
        reply = service.ask(question)
        assert not reply["found"] and f"no {service_name} rating" in reply["message"], question
    assert service.ask("What score did Blackpool get for housing?")["answer"].startswith("None of the nine quality statements")


def test_a_contraction_without_its_apostrophe_is_no_word_the_reports_lack(service):
    assert service.ask("dont they have enough staff in lancashire")["found"]  # was declined: "never mention dont"


def test_who_said_that_names_only_the_speaker_its_passage_names(service):
    first = service.ask("How long did people in Lancashire wait for an assessment?")
    said = service.ask("who said that?", conversation_id=first["conversation_id"])
    then = service.ask("what about Blackpool?", conversation_id=first["conversation_id"])
    assert then["council"] == "Blackpool Council" and said["answer"] != then["answer"]  # not the attribution again
    assert "Bullion" not in then["answer"]
    first = service.ask("What did CQC say about carers in Blackpool?")
    second = service.ask("and in Lancashire?", conversation_id=first["conversation_id"])
    reply = service.ask("who said that?", conversation_id=first["conversation_id"])
    # the article's own sentence quotes no one: said so, not another quote's speaker
    assert "said" in second["answer"] or (not reply["found"] and "names no one" in reply["message"])


def test_a_council_filter_that_disagrees_with_the_question_is_said(service):
    reply = service.ask("What rating did Nottingham get?", council="Blackpool")
    assert not reply["found"] and "Nottingham City Council" in reply["message"] and "filter" in reply["message"]


def test_what_a_rating_word_means(service):
    assert "some shortfalls" in service.ask("What does requires improvement mean?")["answer"]
    assert service.council("Blackpool")["slug"] == "blackpool"  # a council by its name as written, not only its slug


def test_one_unknown_word_in_a_long_question_is_not_its_topic(service):
    reply = service.ask("Hi, my mum lives in Blackpool and she's been waiting ages for someone to come and assess her "
                        "for care at home, I'm her carer and I'm exhausted, is this normal, what did the inspectors "
                        "find about how long people wait?")
    assert reply["found"] and any(ch.isdigit() for ch in reply["answer"])  # was: "the reports never mention exhausted"
    assert not service.ask("What is the council leader's salary?")["found"]  # a short question about it still declined


def test_the_people_of_the_askers_story_are_no_unknown_topic(service):
    reply = service.ask("I care for my husband near Preston and every time we get a new worker I have to tell the whole "
                        "story again, it's exhausting. Did the CQC notice this happening in Lancashire?")
    assert reply["found"]  # was: "the reports never mention husband, near, exhausting"
    assert not service.ask("What did the CQC say about potholes near my husband's house?")["found"]


def test_a_share_of_rated_things_is_a_share_not_the_rating(service):
    reply = service.ask("What percentage of Blackpool home care services were rated good?")
    assert "68.00%" in reply["answer"] and reply["fact"] is None
    assert "three 2s" in service.ask("how many 2s did birmingham get")["answer"]


def test_why_after_a_comparison_gives_each_council_the_side_of_its_rating(service):
    first = service.ask("which is better, Lincolnshire or Nottingham?")
    reply = service.ask("why?", conversation_id=first["conversation_id"])
    assert "What the reports say Lincolnshire does well:" in reply["answer"]  # rated Good
    assert "What the reports say Nottingham needs to improve:" in reply["answer"]  # rated Requires improvement
    bad = service.ask("why so bad?", conversation_id=service.ask("How is Lincolnshire doing?")["conversation_id"])
    assert "Lincolnshire needs to improve" in bad["answer"] or not bad["found"]  # the question's own side wins


def test_a_score_for_something_no_statement_covers_says_so(service):
    reply = service.ask("What score did Blackpool get for housing?")
    assert reply["answer"].startswith("None of the nine quality statements is about housing.")
    assert service.ask("What score did Blackpool get?")["answer"].startswith("Blackpool Council's quality statement scores")


def test_a_document_about_one_council_filters_to_that_council(service):
    doc = "lancashire-rated-requires-improvement-news"
    assert "requires improvement" in service.ask("What rating?", doc=doc)["answer"]
    other = service.ask("What rating did Blackpool get?", doc=doc)
    assert not other["found"] and "filtered to Lancashire County Council" in other["message"]


def test_an_ended_conversation_is_said_to_have_ended(service):
    reply = service.ask("why?", conversation_id="no-such-conversation")
    assert reply["notice"] and "ended" in reply["notice"] and reply["conversation_id"] != "no-such-conversation"
    assert service.ask("What score did Blackpool get for safeguarding?")["notice"] is None


def test_a_named_persons_words_are_found_though_the_model_reads_names_poorly(service):
    reply = service.ask("What did Mariam Khan say?")
    assert reply["found"] and "Mariam Khan" in reply["answer"]
    assert not service.ask("What did Mariam Khan say about pizza?")["found"]  # a topic the reports lack


def test_a_definition_is_no_finding_about_a_council(service):
    reply = service.ask("How big is Blackpool's backlog of deprivation of liberty (DoLS) requests?")
    assert "281" in reply["answer"], reply["answer"]  # not "Deprivation of Liberty Safeguards (DoLS) are legal protections"
    assert "takes place following" in service.ask("What is a Safeguarding Adult Review?")["answer"]  # asked what it is


def test_a_follow_up_on_a_new_topic_quotes_that_topic_not_the_previous_answer(client):
    first = ask(client, "How many people were waiting for an assessment in Blackpool in May 2025?")
    autism = ask(client, "what about the autism team?", conversation_id=first["conversation_id"])
    assert autism["found"] and autism["answer"] != first["answer"]
    assert "autism team" in autism["answer"].lower()


def test_a_rating_of_another_time_is_declined_saying_what_the_reports_hold(client):
    later = ask(client, "Will Blackpool be rated good next time?")
    assert not later["found"] and "assessment published 6 August 2025" in later["message"]
    assert "later assessment" in later["message"]
    year = ask(client, "What was Blackpool's rating in 2019?")
    assert not year["found"] and "none from 2019" in year["message"]
    # the year of the assessment itself is answered from the record
    same = ask(client, "What was Blackpool's rating in 2025?")
    assert same["found"] and "Inadequate" in same["answer"]


def test_when_councils_were_rated_before_is_answered_from_the_reports_history(client):
    """No council's earlier rating is in the reports, but when councils in general were last rated is."""
    for question in ("when was the last time councils were rated before this",
                     "When were councils previously rated by the CQC?",
                     "when was the last time the CQC gave councils ratings for their adult social care before this?"):
        reply = ask(client, question)
        assert reply["found"] and "since 2010" in reply["answer"], question
    assert not ask(client, "When was Blackpool previously rated?")["found"]


def test_the_words_a_question_is_wrapped_in_are_not_a_topic_the_reports_lack(client):
    wrapped = ask(client, "sorry if this is a silly question but does blackpool actually pay people direct payments")
    assert wrapped["found"] and "direct payment" in wrapped["answer"].lower()
    # a word the reports never use that is the topic still declines
    assert not ask(client, "What is the salary of Blackpool's Director of Adult Social Services?")["found"]


def test_a_short_answer_does_not_take_in_a_rule_after_it():
    from rag.answer import AnswerPicker

    text = "Some partners had noticed positive changes.\n---\nThe next paragraph."
    start, end = AnswerPicker._extend(None, text, 0, text.index("\n"), 0, len(text))
    assert text[start:end] == "Some partners had noticed positive changes."
    text = "Score: 1\nEvidence shows significant shortfalls\n"
    start, end = AnswerPicker._extend(None, text, 0, 8, 0, len(text))
    assert text[start:end] == "Score: 1\nEvidence shows significant shortfalls"


def test_a_councils_scores_in_a_theme_are_that_themes_statements(client):
    reply = ask(client, "What score did Blackpool get in the leadership theme?")
    assert reply["found"] and "theme 4, Leadership" in reply["answer"]
    assert [r["statement"] for r in reply["records"]] == ["Governance, management and sustainability",
                                                          "Learning, improvement and innovation"]
    assert "None of the nine" not in reply["answer"]


def test_the_previous_question_asked_of_another_council_is_answered_on_the_same_thing_or_declined(client):
    dols = ask(client, "How many DoLS requests was Blackpool sitting on?")
    other = ask(client, "what about Lancashire?", conversation_id=dols["conversation_id"])
    assert other["query"]["swapped"] and other["found"] and "DoLS" in other["answer"]
    money = ask(client, "How long did Blackpool people wait for a financial assessment?")
    none = ask(client, "what about Lancashire?", conversation_id=money["conversation_id"])
    # Lancashire's articles never mention financial assessments: said, not their general lines quoted
    assert not none["found"] and "do not mention financial" in none["message"]


def test_a_word_the_reports_say_otherwise_is_no_unknown_topic(service):
    """"rings" is nowhere in the reports, but what it means is ("telephone", rag.cqc.REPORT_WORDING): not declined."""
    reply = service.ask("If someone rings adult social care just needing help with their bins, is the call logged?")
    assert reply["found"] and "bins" in reply["answer"], reply.get("message")
    assert not service.ask("What is the council leader's salary?")["found"]


def test_a_short_everyday_question_whose_words_the_top_passage_holds_is_answered(service):
    """Below MIN_DENSE, the top passage holding most of the question's terms (by rarity) answers (answer.TERMS_FOUND_SHARE)."""
    reply = service.ask("is it hard to set up a direct payment")
    assert reply["found"] and "direct payment" in reply["answer"].lower(), reply.get("message")
    for off_topic in ("Is it hard to get a GP appointment in Lancashire?", "What is the council tax rate in Lancashire for 2025?"):
        assert not service.ask(off_topic)["found"], off_topic


def test_providers_rated_are_answered_from_the_passages_not_the_councils_rating(service):
    reply = service.ask("are home care agencies in blackpool rated well")
    assert reply["fact"] is None and "68.00%" in reply["answer"], reply["answer"]
    assert service.ask("What rating did Blackpool get?")["fact"]["value"] == "Inadequate"


def test_how_many_people_live_there_is_answered_by_its_population(service):
    assert "142,708" in service.ask("how many people live in blackpool")["answer"]
    assert "1,461" in service.ask("how many people live in care homes in blackpool")["answer"]


def test_which_one_did_best_after_the_pilot_councils_ranks_them_and_worst_reads_the_other_end(service):
    first = service.ask("Which councils were in the CQC pilot assessments?")
    best = service.ask("which one did best?", conversation_id=first["conversation_id"])
    assert best["found"] and best["answer"].startswith("Lincolnshire County Council comes first"), best.get("message")
    worst = service.ask("and worst?", conversation_id=first["conversation_id"])
    assert worst["answer"].startswith("Nottingham City Council comes last"), worst.get("answer") or worst.get("message")


def test_a_ranking_quotes_the_reports_own_sentence_naming_who_came_first(service):
    reply = service.ask("which council did best in the pilot")
    assert reply["answer"].startswith("Lincolnshire County Council comes first")
    assert "“Lincolnshire performed best in this regard" in reply["answer"]  # verbatim, linked as the first citation
    quote = reply["quotes"][0]
    assert "Lincolnshire performed best" in quote["text"] and reply["citations"][0]["start"] <= quote["start"]
    worst = service.ask("which pilot council did worst")  # no sentence says Nottingham did worst: none is quoted
    assert worst["answer"].startswith("Nottingham City Council comes last") and not worst["quotes"]


def test_what_did_they_do_about_it_asks_for_the_councils_actions(service):
    first = service.ask("Are people in Blackpool getting their annual reviews?")
    done = service.ask("what did they do about it?", conversation_id=first["conversation_id"])
    assert done["query"]["kind"] == "action" and "doing" in done["answer"], done["answer"]


def test_a_follow_up_asking_another_figure_of_the_same_thing_may_take_the_previous_answer(service):
    first = service.ask("How was Lancashire County Council rated by the CQC?")
    service.ask("how many people were waiting for assessments?", conversation_id=first["conversation_id"])
    longest = service.ask("and the longest wait?", conversation_id=first["conversation_id"])
    assert longest["found"] and "226 days" in longest["answer"], longest.get("message")


def test_which_one_after_a_comparison_compares_the_same_councils(service):
    first = service.ask("Compare Blackpool's and Lancashire's CQC ratings")
    which = service.ask("which one had more scores of 1?", conversation_id=first["conversation_id"])
    assert which["found"] and "6 scored 1" in which["answer"], which.get("message")


def test_a_word_inside_a_phrase_the_reports_say_otherwise_is_no_unknown_topic(service):
    """"feet" is nowhere in the reports; "back on your feet" is what they call reablement (rag.cqc.worded)."""
    picker = service.loaded.answers
    assert picker.unknown_terms("Is the help to get you back on your feet after an illness any good?") == ["illness"]
    assert "feet" in picker.unknown_terms("Does Blackpool look after people's feet?")
    assert picker.unknown_terms("Was somebody in Blackpool wrongly told their care would be free?") == []


@pytest.mark.parametrize("question, quoted", [
    # "keep track" is the reports' "monitor"/"tool": those words are another way to find it, not more to find
    ("is there a tool to keep track of people waiting", "waiting tool"),
    # "how fast" asks for a length of time, as "how quickly" does: no term the passage must hold
    ("once assessed how fast do you get the equipment", "2- 5 days"),
])
def test_a_question_in_everyday_words_is_answered_where_its_passage_holds_the_reports_words(service, question, quoted):
    reply = service.ask(question)
    assert reply["found"] and quoted in reply["answer"], reply.get("message")


def test_the_reports_words_a_search_adds_count_as_found_for_the_everyday_words_they_stand_for(service):
    loaded = service.loaded
    picker, hit = loaded.answers, loaded.retriever.search(loaded.understander.understand("waiting tool draft form"), 1)[0]
    assert "tool" in hit.text and "keep" not in hit.text and "monitor" not in hit.text
    search = "is there a tool to keep track of people waiting monitor"
    reworded = (("keep track", "monitor tool"),)
    assert picker._terms_found(search, hit, 0.35, reworded)
    assert not picker._terms_found(search, hit, 0.35)  # "keep", "track" and "monitor" are then three terms it lacks


def test_contractions_written_without_their_apostrophe_are_stop_words():
    assert tokenize("I'm autistic and I can't use the phone, I dont like it") == tokenize("autistic use phone like")


@pytest.mark.parametrize("question, first_line", [
    ("Which councils scored 1 for safeguarding?", "Scored 1 for Safeguarding: Blackpool Council."),
    ("Which of the councils had a score of 2 for assessing needs?", "Scored 2 for Assessing needs: Lancashire County Council."),
    ("what councils got all 3s", "All nine quality statements scored 3: Lincolnshire County Council."),
    ("Which pilot council scored 3 in every quality statement?", "All nine quality statements scored 3: Lincolnshire County Council."),
    ("which council had the most scores of 1", "Blackpool Council had the most quality statements scored 1: 6 of 9."),
    ("which pilot council had the fewest 3s", "Nottingham City Council had the fewest quality statements scored 3: 3 of 9."),
    ("Is Lancashire better than Blackpool at safeguarding?",
     "Lancashire County Council comes out ahead on Safeguarding: 2 of 4 against Blackpool's 1."),
])
def test_councils_are_listed_and_ranked_by_the_scores_their_records_give(service, question, first_line):
    reply = service.ask(question)
    assert reply["found"] and reply["answer"].splitlines()[0] == first_line, reply["answer"][:300]
    assert reply["records"]  # every line is read from a record that links to its passage


def test_a_why_answer_takes_in_the_sentence_that_explains_what_it_states(service):
    reply = service.ask("Why did Blackpool's published data show no safeguarding concerns about discriminatory abuse?")
    assert reply["found"] and "had not had a reported safeguarding concern" in reply["answer"]
    assert "lower than 5 concerns were reported" in reply["answer"]  # the next sentence: the reason
    assert len(reply["answer"]) <= MAX_ANSWER_CHARS


def test_a_why_answer_runs_to_the_cause_given_a_sentence_later(service):
    reply = service.ask("Why do people in Blackpool give up on direct payments for their care?")
    assert reply["found"] and "lack of availability of personal assistants" in reply["answer"]
    source = reply["answer_source"]
    assert service.document(reply["citations"][0]["doc"])["text"][source["start"]:source["end"]] == reply["answer"]


def test_a_follow_ups_unknown_word_is_counted_against_its_own_words(service):
    """A word the reports never use is a follow-up's topic when it is most of the follow-up, however long the
    question it leans on (which its search includes)."""
    first = service.ask("How long do people in Blackpool wait for an assessment of their care and support needs by a "
                        "social worker after asking?")
    follow = service.ask("and the potholes?", conversation_id=first["conversation_id"])
    assert not follow["found"] and "potholes" in follow["message"]


def test_a_follow_up_after_a_declined_figure_does_not_ask_for_that_figure_again(service):
    first = service.ask("is it hard to get through to lancashire social services on the phone?")
    count = service.ask("how many staff do they have?", conversation_id=first["conversation_id"])
    assert not count["found"]  # the reports give no count of Lancashire's staff
    website = service.ask("what about the website?", conversation_id=first["conversation_id"])
    assert website["found"] and "website was also seen as inaccessible" in website["answer"]
    other = service.ask("how many social workers does Blackpool have?")
    again = service.ask("and Lancashire?", conversation_id=other["conversation_id"])
    assert again["query"]["wants"] == "number"  # only another council named: the same question of it


def test_a_date_is_the_reports_not_a_readers_comment_and_may_be_a_season(service):
    """The pilot article's comments carry their posting dates ("Anonymous November 18, 2023"): no answer to when the
    assessments were done; "carried out over the summer and autumn" is."""
    reply = service.ask("When were the pilot assessments carried out?")
    assert reply["found"] and "over the summer and autumn" in reply["answer"]
    assert "Anonymous" not in reply["answer"]


def test_a_count_may_be_named_before_its_figure_as_the_number_of_something(service):
    reply = service.ask("how many DoLS requests were waiting to be completed in Blackpool in August 2024?")
    assert reply["found"] and "the number of DoLS requests waiting to be completed was 281" in reply["answer"]


def test_a_councils_scores_are_listed_where_its_source_gives_all_nine_the_same(service):
    reply = service.ask("What was Lincolnshire's lowest score?")
    first = reply["answer"].splitlines()[0]
    assert first.startswith("Lincolnshire County Council's lowest score was 3 of 4") and "all nine quality statements scored 3" in first
    assert "3s across the board" in reply["records"][0]["source"]["text"]  # every line links to the sentence saying so


def test_comparing_a_figure_with_another_council_puts_the_figures_side_by_side_not_a_guessed_statement(service):
    first = service.ask("How long were people waiting for assessments in Blackpool?")
    service.ask("and for carers assessments?", conversation_id=first["conversation_id"])
    compared = service.ask("how does that compare to Lancashire?", conversation_id=first["conversation_id"])
    assert "Assessing needs scored" not in compared["answer"]  # the statement was guessed from the words, not asked
    assert "maximum wait was 240 days" in compared["answer"] and "Lancashire:" in compared["answer"]
