"""The Query step: the one place that reads a question's words."""
import pytest


@pytest.fixture(scope="module")
def understand(service):
    return service.loaded.understander.understand


@pytest.mark.parametrize("question,kind", [
    ("How is Blackpool doing?", "overview"),
    ("How did Lancashire do?", "overview"),
    ("Give me an overview of Blackpool's assessment", "overview"),
    ("What are the four CQC ratings?", "meaning"),
    ("Which quality statements are in the leadership theme?", "meaning"),
    ("can you give me a summary of lancashire", "overview"),
    ("By how much did Blackpool overspend its overall budget?", "factual"),
    ("What is Blackpool's overall rating?", "overview"),
    ("How did Blackpool do on safeguarding?", "factual"),
    ("Compare Blackpool and Lancashire", "compare"),
    ("Is Suffolk better than Nottingham?", "compare"),
    ("Which pilot council did best?", "rank"),
    ("Which councils were rated good?", "list"),
    ("What is Blackpool doing well?", "strengths"),
    ("Did the inspectors find anything good about Blackpool's staff?", "strengths"),
    ("Was there anything wrong with Lancashire's safeguarding?", "improve"),
    ("What does Lancashire need to improve?", "improve"),
    ("What does a score of 2 mean?", "meaning"),
    ("When was Blackpool's assessment published?", "when"),
    ("Thank you!", "social"),
    ("ok", "social"),
    ("Thanks", "social"),
    ("How many people were waiting for an assessment in Blackpool?", "factual"),
    ("What is Blackpool Council doing to turn adult social care around?", "action"),
    ("And what is the council doing about it?", "action"),
    ("How is Lancashire going to fix its waiting lists?", "action"),
    ("What's being done about waiting lists in Lancashire?", "action"),
    ("whats actually being done about the long waits", "action"),
    ("What is Blackpool doing well?", "strengths"),
    ("Which council is the worst?", "rank"),
    ("Which is the best council?", "rank"),
    ("Did any council get outstanding?", "list"),
    ("Were all the pilot councils rated good?", "list"),
    ("whats wrong with blackpool", "improve"),
    ("suffolk good or bad", "overview"),
    ("Is Blackpool failing?", "overview"),
    ("What is Blackpool's weakest area?", "rank"),
    ("Which five councils were in the CQC pilot?", "list"),
    ("What is Blackpool good at?", "strengths"),
    ("What is Suffolk best at?", "strengths"),
    ("Which council was rated worst?", "rank"),
    ("What did Suffolk get?", "overview"),
    ("Tell me about Nottingham's pilot assessment", "overview"),
    ("Is Blackpool any good?", "overview"),
    ("Were there any positive findings for Lancashire?", "strengths"),
    ("How many councils did the CQC look at in its pilot?", "list"),
    # a condition named ("mental health problems in Blackpool") is no question about the council's problems
    ("What happens when someone with mental health problems in Blackpool turns 65?", "factual"),
    ("Are there problems with Blackpool's mental health teams?", "improve"),
    # a council named with words for its assessment as a whole: an overview
    ("give me an overview of Suffolk adult social care assessment", "overview"),
    ("birmingham cqc", "overview"),
    ("Blackpool adult social care", "overview"),
    ("Out of all the councils in here, which one has the worst adult social care according to the CQC?", "rank"),
    ("Tell me about the CQC pilot assessments of the five councils", "list"),  # the pilot councils' records
    ("give me a summary of the pilot", "list"),
    ("tell me about the pilot's findings on waiting lists", "factual"),  # a topic of its own
])
def test_kinds(understand, question, kind):
    assert understand(question).kind == kind


@pytest.mark.parametrize("question,wants", [
    ("How many people were waiting?", "number"),
    ("How much did Blackpool spend?", "money"),
    ("How long did people wait?", "duration"),
    ("What score did Blackpool get for safeguarding?", "score"),
    ("How was Nottingham rated?", "rating"),
    ("What is the drug death rate in Blackpool?", None),  # "rate" is not a rating word
    ("Who chairs the board?", "person"),
    ("Who waits longest for a Care Act assessment in Blackpool?", None),  # which people: a group, not a name
    ("Who is most affected by the waits?", None),
    ("List the long waits the CQC found in Lancashire", "duration"),
    ("What was the longest anyone waited for an assessment in Blackpool?", "duration"),
    ("Which Suffolk councillor welcomed the rating?", "person"),  # the rating is acted on, not asked for
    ("Has Blackpool Council challenged any of its CQC ratings?", None),
    ("How often does the partnership meet?", "frequency"),
    ("How big is the backlog of DoLS requests?", "size"),
    ("How long is the waiting list?", "size"),
    ("Who is the leader of Blackpool Council?", "name"),
    ("How much does a care home place cost per week?", "money"),
    ("How much is the precept?", "amount"),
    ("Who is the chief executive of Lancashire County Council?", "name"),
    # a question asking for findings names a figure as its topic, not as what it wants
    ("What's being done about the long waits in Blackpool?", None),
    ("Is Blackpool good at safeguarding?", "score"),
    ("Is Lancashire bad at assessing needs?", "score"),
    ("What is Lancashire doing to cut how long people wait?", None),
])
def test_what_is_wanted(understand, question, wants):
    assert understand(question).wants == wants


def test_councils_named_and_not_covered(understand):
    assert understand("Compare Blackpool and Lancashire").councils == ("Blackpool Council", "Lancashire County Council")
    assert understand("How is North Lincolnshire doing?").councils == ("North Lincolnshire Council",)
    q = understand("What did the CQC say about safeguarding at Westmorland and Furness Council?")
    assert q.councils == () and q.uncovered == ("Westmorland and Furness",)


@pytest.mark.parametrize("question, councils, uncovered", [
    ("My mum lives near Ipswich, how long is the wait for an OT?", ("Suffolk County Council",), ()),
    ("I volunteer with a charity in preston, did the inspectors find partners felt ignored?",
     ("Lancashire County Council",), ()),
    ("is social care any good in Barton upon Humber", ("North Lincolnshire Council",), ()),
    ("how are LGBT people treated in Brighton?", (), ("Brighton and Hove",)),
    ("Does Lancashire have long waits? I live in Preston", ("Lancashire County Council",), ()),  # the council named
    ("What rating did Royal Preston Hospital get from the CQC?", (), ()),  # a hospital's name, not the town's council
])
def test_a_town_named_stands_for_the_council_providing_its_care(understand, question, councils, uncovered):
    q = understand(question)
    assert q.councils == councils and q.uncovered == uncovered


def test_a_town_named_for_its_council_is_no_topic_the_reports_lack(service):
    reply = service.ask("My mum lives near Ipswich, how long is the wait for an OT?")
    assert reply["found"] and "500 people were waiting for an occupational therapy assessment" in reply["answer"]


@pytest.mark.parametrize("question,statement", [
    ("What score did Blackpool get for safeguarding?", "Safeguarding"),
    ("What score did Blackpool get for joining up care?", "Care provision, integration and continuity"),
    ("How good is Blackpool at joint working with the NHS?", "Partnerships and communities"),
    ("Did Blackpool help people with staying healthy?", "Supporting people to live healthier lives"),
])
def test_statements_named_in_other_words(understand, question, statement):
    assert understand(question).statement == statement


def test_keeping_people_safe_is_theme_3(understand):
    """Both of theme 3's statements are about safety; either is a fair reading."""
    assert understand("How did Blackpool do at keeping people safe?").theme == 3


def test_a_statement_in_other_words_asked_how_well_wants_its_score(understand):
    q = understand("how good is blackpool at joint working with the NHS and other partners")
    assert q.statement == "Partnerships and communities" and q.wants == "score"


def test_spelling_corrected_to_corpus_words_and_council_names(understand):
    q = understand("blackpol carers asessment wait")
    assert q.corrected == "blackpool carers assessment wait" and q.searched_for == q.corrected
    assert q.councils == ("Blackpool Council",)
    assert understand("lancahsire dols wait days").councils == ("Lancashire County Council",)
    # English words the corpus lacks are left alone (so a question about them can be declined)
    assert understand("What's the weather like in Blackpool?").corrected == "What's the weather like in Blackpool?"
    # a possessive is not a misspelling; a misspelt council keeps its 's
    assert understand("What are Lincolnshire's strengths?").searched_for is None
    assert understand("blackpol's safegaurding score").corrected == "blackpool's safeguarding score"


def test_follow_ups_resolve_against_the_previous_query(understand):
    first = understand("What score did Blackpool get for safeguarding?")
    statement = understand("and for assessing needs?", first)
    assert statement.follow_up and statement.councils == ("Blackpool Council",)
    assert statement.statement == "Assessing needs" and statement.wants == "score"
    council = understand("what about Lancashire?", first)
    assert council.councils == ("Lancashire County Council",) and council.statement == "Safeguarding"
    assert council.wants == "score" and "Blackpool" not in council.search
    why = understand("why so low?", first)
    assert why.follow_up and why.wants == "reason" and why.statement == "Safeguarding"
    assert why.councils == ("Blackpool Council",)
    chain = understand("and in Blackpool?", council)
    assert chain.councils == ("Blackpool Council",) and chain.statement == "Safeguarding"


def test_a_new_question_across_councils_leaves_the_conversations_council(understand):
    first = understand("How many people get direct payments in Blackpool?")
    across = understand("Which of the pilot councils were praised for direct payments?", first)
    assert across.councils == () and across.across
    kept = understand("How many carers waited more than four weeks?", first)
    assert kept.councils == ("Blackpool Council",)


def test_the_council_is_the_conversations_own_and_them_points_back(understand):
    first = understand("What did the CQC say about Birmingham?")
    backlog = understand("what's the council doing about that backlog?", first)
    assert backlog.follow_up and backlog.councils == ("Birmingham City Council",) and not backlog.across
    payments = understand("How many people get direct payments in Blackpool?")
    why = understand("Why do people in Blackpool give them up?", payments)
    assert why.follow_up and "direct payments" in why.search


def test_a_bare_when_asks_the_date_of_what_the_chain_was_about(understand):
    plan = understand("What is Blackpool Council doing to turn adult social care around?")
    who = understand("Who has to sign off the plan?", plan)
    when = understand("by when?", who)
    assert when.follow_up and (when.kind, when.wants) == ("factual", "date")
    assert "sign off the plan" in when.search and "turn adult social care around" in when.search


def test_a_question_of_its_own_does_not_take_the_previous_ones_wants(understand):
    first = understand("How many carers waited more than four weeks?")
    happy = understand("Are carers there happy with the support they get?", first)
    assert happy.wants is None and not happy.follow_up


def test_a_span_of_time_is_also_searched_in_the_other_unit():
    from rag.query import same_durations
    assert same_durations("waited more than four weeks") == ["28 days"]
    assert same_durations("within 42 days") == ["6 weeks"] and same_durations("after 10 days") == []
    assert same_durations("a 21-day target") == ["3 weeks"]


def test_the_query_round_trips_through_json(understand):
    from rag.query import Query

    q = understand("What score did Blackpool get for safeguarding?")
    assert Query.from_json(q.json()) == q


def test_what_how_many_counts(understand):
    assert understand("How many people were waiting for a care assessment?").counted == "people"
    assert understand("How many safeguarding concerns were raised in Blackpool?").counted == "safeguarding concerns"
    assert understand("How long did people wait?").counted is None
    population = understand("What is the population of Blackpool?")
    assert population.wants == "number" and population.counted == "people"
    assert understand("What is the population like in Blackpool?").wants is None


def test_a_list_of_councils_by_a_topic_is_a_question_about_findings(understand):
    query = understand("Which councils had problems with waiting lists?")
    assert query.kind == "improve" and query.across and query.topic == ("waiting", "lists")
    assert understand("Which councils were rated good?").kind == "list"


def test_when_asks_for_a_date_even_with_a_rating_word(understand):
    assert understand("When was Nottingham rated?").wants == "date"


def test_a_question_told_with_a_story_is_read_from_its_asking_sentences(understand):
    """The story's "When my daughter was under 18" asks no date, and the police in it are not what is judged."""
    story = understand("When my daughter was under 18 she had the police involved all the time and then the day she "
                       "turned 18 everything stopped. Did other families in Blackpool tell the inspectors about a gap?")
    assert story.kind == "factual" and story.wants is None and story.rated_by is None
    assert understand("My dad is in Lancashire. When was it assessed?").wants == "date"
    assert understand("Does Blackpool treat everyone fairly? what was the equity score").wants == "score"


def test_a_when_clause_before_the_question_asks_no_date(understand):
    query = understand("When the CQC looked at Suffolk, how many people were waiting for an OT?")
    assert query.kind == "factual" and query.wants == "number"
    assert understand("When was Suffolk assessed?").kind == "when"
    assert understand("blackpool improvement plan deadline").wants == "date"


def test_why_after_a_rating_asks_what_the_reports_found(understand):
    compare = understand("Compare Blackpool and Lancashire")
    assert understand("why so low?", compare).kind == "improve"
    assert understand("why so good?", understand("How is Suffolk doing?")).kind == "strengths"
    score = understand("What score did Blackpool get for safeguarding?")
    assert understand("why so low?", score).kind == "factual"  # that statement's findings (service)


def test_a_question_after_a_bare_one_leans_on_what_the_bare_one_leaned_on(understand):
    plan = understand("What is Blackpool Council doing to turn adult social care around?")
    when = understand("by when?", understand("Who has to sign off the plan?", plan))
    chair = understand("who is going to chair the board?", when)
    assert chair.follow_up and "by when" not in chair.search and "sign off the plan" in chair.search


def test_is_that_low_searches_the_england_average(understand):
    first = understand("How many people get direct payments in Blackpool?")
    judged = understand("is that low?", first)
    assert judged.follow_up and "England national average" in judged.search and "direct payments" in judged.search
    assert "average" not in understand("How many people get direct payments in Blackpool?").search


def test_a_capitalised_unknown_word_is_a_name_corrected_only_to_a_councils(understand):
    assert understand("What did Ofsted say about Blackpool?").corrected == "What did Ofsted say about Blackpool?"
    assert "lancashire" in understand("How is Lancashre doing?").corrected  # a council's name is still found
    assert understand("Safegaurding in blackpol").corrected == "safeguarding in blackpool"  # the first word is no name


def test_asking_for_the_largest_figure(understand):
    assert understand("What was the longest wait for a needs assessment in Lancashire?").extreme
    assert understand("What was the maximum wait for an assessment in Blackpool?").extreme
    assert not understand("How long did people wait for assessments in Lancashire?").extreme
    assert not understand("What did most people say about Blackpool?").extreme  # no figure asked for


def test_asking_about_a_council_and_nothing_else_is_an_overview(understand):
    assert understand("Tell me about Lincolnshire").kind == "overview"
    assert understand("tell me about blackpool and lancashire").councils == ("Blackpool Council", "Lancashire County Council")
    assert understand("tell me about blackpool and lancashire").kind == "overview"
    assert understand("Blackpool?").kind == "overview"  # opening a conversation
    assert understand("Tell me about Blackpool's carers").kind == "factual"  # a topic of its own


def test_a_bare_council_name_in_a_conversation_asks_the_previous_question_of_it(understand):
    first = understand("What score did Blackpool get for safeguarding?")
    then = understand("Lancashire?", first)
    assert then.follow_up and then.councils == ("Lancashire County Council",)
    assert (then.wants, then.statement) == ("score", "Safeguarding")


def test_what_a_rating_means_after_the_rating(understand):
    first = understand("What rating did Lancashire get?")
    then = understand("what does that mean?", first)
    assert (then.kind, then.wants, then.councils) == ("meaning", "rating", ("Lancashire County Council",))


def test_which_is_better_compares_the_councils_the_conversation_was_about(understand):
    first = understand("How is Nottingham doing?")
    second = understand("what about Suffolk?", first)
    then = understand("which is better?", second)
    assert then.kind == "compare" and set(then.councils) == {"Nottingham City Council", "Suffolk County Council"}
    assert second.mentioned == ("Nottingham City Council", "Suffolk County Council")


def test_a_countys_short_form_is_read_as_its_name(understand):
    query = understand("lancs dols backlog")
    assert query.councils == ("Lancashire County Council",) and query.searched_for == "Lancashire dols backlog"
    assert understand("N Lincs waiting lists").councils == ("North Lincolnshire Council",)
    assert understand("nottm waiting").councils == ("Nottingham City Council",)
    assert understand("b'ham rating").councils == ("Birmingham City Council",)


def test_a_dropped_g_is_put_back(understand):
    query = understand("how is blackpol doin")
    assert query.corrected == "how is blackpool doing" and query.kind == "overview"
    assert understand("Is Robin waiting?").corrected == "Is Robin waiting?"  # a name, and an English word, are kept


def test_keywords_are_not_a_question(understand):
    assert understand("nottingham waiting times").keywords
    assert not understand("How long are Nottingham's waiting times?").keywords
    assert not understand("nottingham waiting times?").keywords


def test_a_yes_no_follow_up_asks_its_own_question_about_the_same_thing(understand):
    first = understand("How long were the waits at Suffolk's contact centre?")
    then = understand("has it improved?", first)
    assert then.follow_up and then.wants is None  # not "how long" again
    assert set(first.topic) <= set(then.topic)  # a figure it asks for must be on the same topic
    assert understand("how quickly were they dealt with?").wants == "duration"


def test_contractions_without_their_apostrophe_are_read_as_meant(understand):
    query = understand("dont they have enough staff in lancashire")
    assert query.searched_for == "don't they have enough staff in lancashire"
    assert understand("whos in charge of blackpool council").wants == "person"
    assert understand("whats wrong with blackpool").kind == "improve"


def test_comparing_with_england_is_the_england_average_not_the_other_councils(understand):
    first = understand("How many people get direct payments in Blackpool?")
    then = understand("how does that compare with England?", first)
    assert then.kind == "factual" and then.councils == ("Blackpool Council",) and "average" in then.search
    assert understand("Compare Blackpool and Lancashire").kind == "compare"


def test_asking_what_someone_said_does_not_take_the_previous_questions_want(understand):
    first = understand("How long do people wait for assessments in Lancashire?")
    assert first.wants == "duration"
    assert understand("what did the council say?", previous=first).wants == "council_said"  # its own, not a duration
    assert understand("what did they think?", previous=first).wants is None
    assert understand("and in Blackpool?", previous=first).wants == "duration"  # the same question of Blackpool


def test_assessment_alone_names_no_quality_statement(understand):
    # every report is an assessment: the word does not name "Assessing needs"; with "needs" it does
    assert understand("Tell me about Nottingham's pilot assessment").statement is None
    assert understand("What score did Blackpool get for needs assessments?").statement == "Assessing needs"


def test_is_that_good_after_a_figure_judges_the_figure(understand):
    first = understand("What percentage of carers in Blackpool were satisfied?")
    follow = understand("is that good?", previous=first)
    assert follow.kind == "factual" and follow.follow_up  # not an overview of the council
    assert understand("is the council any good at getting equipment to people quickly in blackpool?").kind == "factual"


def test_a_follow_up_with_a_topic_of_its_own_is_searched_for_that_topic(understand):
    first = understand("How many people were waiting for an assessment in Blackpool in May 2025?")
    autism = understand("what about the autism team?", first)
    assert autism.follow_up and autism.shifted and autism.councils == ("Blackpool Council",)
    # its own words outweigh the previous question's, which it still leans on
    assert autism.search.lower().count("autism team") == 3 and "May 2025" in autism.search
    # a follow-up that only points back, or swaps the council, brings no topic of its own
    assert not understand("is that a lot?", first).shifted
    assert not understand("what about Lancashire?", first).shifted
    assert not understand("How many carers were waiting?", first).shifted  # not elliptical: a question of its own


@pytest.mark.parametrize("question,when", [
    ("Will Blackpool be rated good next time?", "later"),
    ("What score will Blackpool get for safeguarding next time?", "later"),
    ("When will the CQC next inspect Blackpool?", "later"),
    ("What was Lancashire's rating before this one?", "earlier"),
    ("What was Blackpool's rating in 2019?", "2019"),
    ("What was Blackpool's rating?", None),
    ("What score did Blackpool get for safeguarding?", None),
    ("has nottingham been reassessed since?", "later"),  # an assessment done again: not in the reports
    ("What is Blackpool's rating now after the review?", "later"),  # the outcome of the review it asked for
    ("how long do people wait for a reassessment in Blackpool?", None),  # a person's care reassessed
    ("When was Blackpool previously rated?", "earlier"),
    # of no council, the reports' own history answers it ("the first ... since 2010, when the previous ratings ...")
    ("when was the last time councils were rated before this", None),
])
def test_a_rating_asked_of_another_time_is_noticed(understand, question, when):
    assert understand(question).another_time == when



def test_a_theme_named_in_a_question(understand):
    assert understand("What score did Blackpool get in the leadership theme?").theme == 4
    assert understand("Blackpool theme 3 scores").theme == 3
    assert understand("What did Blackpool's leaders say?").theme is None
    assert understand("What score did Blackpool get for safeguarding?").theme == 3  # its statement's


def test_short_forms_people_type_are_spelt_out(understand):
    assert "people" in understand("how many ppl waiting reviews lancashire").corrected
    assert understand("blackpool dps").corrected == "blackpool direct payments"


@pytest.mark.parametrize("question,other", [
    ("How good are Blackpool's schools?", "schools"),
    ("How did Blackpool's children's social care do in its last inspection?", "children's social care"),
    ("Is Blackpool Victoria Hospital any good?", "hospital"),
    ("How good is Blackpool at hospital discharge?", None),  # adult social care's own work
    ("How does Blackpool support young people moving from children's services to adult services?", None),
])
def test_another_service_judged_as_a_whole_is_not_in_these_reports(understand, question, other):
    assert understand(question).rated_by == other


def test_everyday_words_are_also_searched_in_the_reports_words():
    from rag import cqc
    assert cqc.report_words("Has Blackpool challenged its ratings?") == ["review"]
    assert cqc.report_words("how long is the usual wait") == ["median average"]
    assert cqc.report_words("Can carers get a break from caring?") == ["respite short breaks"]
    # picking up the phone is taking calls, not noticing something
    phone = cqc.report_words("Who picks up the phone at the council?")
    assert "took calls business support" in phone and "identify recognise" not in phone
    assert cqc.report_words("Did staff pick up that carers were struggling?") == ["identify recognise"]
    assert cqc.report_words("How long do people wait for an assessment?") == []
    assert cqc.report_words("a break at short notice") == ["respite short breaks"]  # "notice" is no "noticed"
    assert cqc.report_words("How much time do social workers get?") == []  # the reports say "social workers" too
    assert cqc.report_words("a safeguarding worry") == ["concerns"]
    assert cqc.report_words("the councillor in charge of adult social care") == ["cabinet member portfolio holder"]
    assert cqc.report_words("Are staff burnt out and off sick?") == ["workloads pressures", "sickness absence"]


@pytest.mark.parametrize("question,wants", [
    ("Who do I ring at the weekend if my dad needs urgent social care?", None),  # a service to call, not a name
    ("How bad was Birmingham's backlog of safeguarding cases?", "size"),  # a size, not the statement's score
    ("What did the Blackpool councillor in charge of adult social care say about the inspection?", "council_said"),
])
def test_what_is_wanted_of_a_service_or_a_backlog(understand, question, wants):
    assert understand(question).wants == wants


def test_the_reports_words_are_added_once_and_only_where_missing(understand):
    q = understand("Do people in Blackpool feel they get a say in which care services they use?")
    assert q.search.endswith("they use? choice")
    home = understand("Does the council check on people once they're home from hospital?")
    assert home.search.count("hospital") == 1 and home.search.endswith(" discharge")  # "hospital" it has already


def test_findings_asked_for_with_nothing_named_follow_the_conversations_statement(understand):
    first = understand("What score did Blackpool get for safeguarding?")
    problems = understand("what were the main problems?", first)
    assert problems.kind == "improve" and problems.follow_up and problems.statement == "Safeguarding"
    assert understand("what were the main problems?").statement is None  # no conversation: nothing to follow
    own = understand("what were the main problems with waiting lists?", first)
    assert own.kind == "improve" and not own.follow_up  # a topic of its own
