"""The CQC local authority assessment framework (its four themes, nine quality statements and score meanings) and how
the reports word things (REPORT_WORDING: their words for everyday ones)."""
from __future__ import annotations

import re
from functools import lru_cache

from .text import tokenize

THEMES = {
    1: ("How the local authority works with people",
        ("Assessing needs", "Supporting people to live healthier lives", "Equity in experience and outcomes")),
    2: ("Providing support",
        ("Care provision, integration and continuity", "Partnerships and communities")),
    3: ("How the local authority ensures safety within the system",
        ("Safe pathways, systems and transitions", "Safeguarding")),
    4: ("Leadership",
        ("Governance, management and sustainability", "Learning, improvement and innovation")),
}
QUALITY_STATEMENTS = tuple(qs for _, statements in THEMES.values() for qs in statements)

SCORE_MEANINGS = {
    1: "Inadequate: evidence shows significant shortfalls",
    2: "Requires improvement: evidence shows some shortfalls",
    3: "Good: evidence shows a good standard",
    4: "Outstanding: evidence shows an exceptional standard",
}
RATINGS = ("Outstanding", "Good", "Requires improvement", "Inadequate")
# The score whose word is a rating's ("Inadequate" is the word of a 1): what a rating means is what that score means.
RATING_SCORES = {meaning.split(":")[0]: score for score, meaning in SCORE_MEANINGS.items()}

_THEME = re.compile(r"^theme\s+(\d)\b", re.I)
# Headings that are really labels of the section above them: "Score: 1", "2 - Evidence shows some shortfalls".
_LABEL = re.compile(r"^(score\s*:\s*\d|\d\s*[-–]\s*(evidence|inadequate|requires|good|outstanding))", re.I)


def _key(name: str) -> str:
    words = re.sub(r"[^a-z ]+", " ", name.lower()).split()
    return " ".join("live" if w == "lead" else w for w in words if w != "and")


_QS_BY_KEY = {_key(qs): qs for qs in QUALITY_STATEMENTS}


def quality_statement(heading: str) -> str | None:
    """The canonical quality statement a heading names ("Supporting people to lead healthier lives" included)."""
    return _QS_BY_KEY.get(_key(heading))


def theme_number(heading: str) -> int | None:
    m = _THEME.match(heading.strip())
    return int(m.group(1)) if m else None


# A theme named in a question: "theme 4", "the leadership theme", "the theme of safety".
_THEME_NAMED = re.compile(r"\btheme ([1-4])\b|\b(leadership|safety|safe systems|providing support|support|working with "
                          r"people|people) theme\b|\bthe theme (?:of |on )?(leadership|safety|support|people)\b")
_THEME_WORD = {"leadership": 4, "safety": 3, "safe systems": 3, "providing support": 2, "support": 2,
               "working with people": 1, "people": 1}


def theme_named(text: str) -> int | None:
    """The number of the theme a question names, if any."""
    m = _THEME_NAMED.search(text.lower())
    if not m:
        return None
    return int(m.group(1)) if m.group(1) else _THEME_WORD[m.group(2) or m.group(3)]


def theme_of(statement: str) -> int | None:
    for number, (_, statements) in THEMES.items():
        if statement in statements:
            return number
    return None


def is_label(heading: str) -> bool:
    return bool(_LABEL.match(heading.strip()))


# What each quality statement covers, in the framework's own words: its "we statement" (the local authority
# commitment), its "I statements" (what people expect) and the topics an assessment reports under it. A question
# that names a statement in other words ("joining up care", "keeping people safe") is matched against these
# with the embedding model (query.py).
STATEMENT_WORDING = {
    "Assessing needs": (
        "We maximise the effectiveness of people's care and treatment by assessing and reviewing their health, "
        "care, wellbeing and communication needs with them.",
        "I have care and support that enables me to live as I want to, seeing me as a unique person with skills, "
        "strengths and goals.",
        "Assessment, care planning and review arrangements", "Timeliness of assessments, care planning and reviews",
        "Assessment and care planning for unpaid carers", "Eligibility decisions for care and support",
        "Financial assessment and charging policy for care and support", "Provision of independent advocacy"),
    "Supporting people to live healthier lives": (
        "We support people to manage their health and wellbeing so they can maximise their independence, choice "
        "and control, live healthier lives and where possible reduce future needs for care and support.",
        "I can get information and advice about my health, care and support and how I can be as well as possible "
        "- physically, mentally and emotionally.",
        "Arrangements to prevent, delay or reduce needs for care and support",
        "Provision and impact of intermediate care and reablement services",
        "Access to equipment and home adaptations", "Provision of accessible information and advice",
        "Direct payments"),
    "Equity in experience and outcomes": (
        "We actively seek out and listen to information about people who are most likely to experience inequality "
        "in experience or outcomes. We tailor the care, support and treatment in response to this.",
        "Understanding and reducing barriers to care and support and reducing inequalities",
        "Inclusion and accessibility arrangements"),
    "Care provision, integration and continuity": (
        "We understand the diverse health and care needs of people and our local communities, so care is "
        "joined-up, flexible and supports choice and continuity.",
        "I have care and support that is coordinated, and everyone works well together and with me.",
        "Understanding local needs for care and support", "Market shaping and commissioning to meet local needs",
        "Ensuring sufficient capacity in local services to meet demand", "Ensuring quality of local services",
        "Ensuring local services are sustainable"),
    "Partnerships and communities": (
        "We understand our duty to collaborate and work in partnership, so our services work seamlessly for "
        "people. We share information and learning with partners and collaborate for improvement.",
        "Arrangements to support effective partnership working", "Impact of partnership working",
        "Working with voluntary and charity sector groups"),
    "Safe pathways, systems and transitions": (
        "We work with people and our partners to establish and maintain safe systems of care, in which safety is "
        "managed, monitored and assured. We ensure continuity of care, including when people move between "
        "different services.",
        "When I move between services, settings or areas, there is a plan for what happens next and who will do "
        "what, and all the practical arrangements are in place.",
        "Safety management", "Safety during transitions", "Contingency planning"),
    "Safeguarding": (
        "We work with people to understand what being safe means to them and work with our partners to develop "
        "the best way to achieve this. We concentrate on improving people's lives while protecting their right to "
        "live in safety, free from bullying, harassment, abuse, discrimination, avoidable harm and neglect.",
        "I feel safe and am supported to understand and manage any risks.",
        "Safeguarding systems, processes and practices", "Responding to local safeguarding risks and issues",
        "Responding to concerns and undertaking Section 42 enquiries", "Making safeguarding personal"),
    "Governance, management and sustainability": (
        "We have clear responsibilities, roles, systems of accountability and good governance to manage and "
        "deliver good quality, sustainable care, treatment and support. We act on the best information about "
        "risk, performance and outcomes.",
        "Governance, accountability and risk management", "Strategic planning", "Information security"),
    "Learning, improvement and innovation": (
        "We focus on continuous learning, innovation and improvement across our organisation and the local "
        "system. We encourage creative ways of delivering equality of experience, outcome and quality of life. "
        "We actively contribute to safe, effective practice and research.",
        "Continuous learning, improvement and professional development", "Learning from feedback",
        "Co-production"),
}

# Sections of a report that summarise it: where an overview, strengths or areas for improvement are stated.
# The assessment framework's own words under each quality statement ("What people expect": "I have care and support
# that ..."; "The local authority commitment": "We support people to ..."): the same for every council, no finding.
FRAMEWORK_HEADINGS = ("What people expect", "The local authority commitment")
SUMMARY_HEADING = re.compile(r"\b(summary|key findings|overall|areas for (development|improvement)|next steps)\b", re.I)

# Words of the reports' own summary headings for what a kind of question asks, added to its search.
KIND_WORDING = {
    "overview": "overall summary of people's experiences key findings",
    "strengths": "strengths positive feedback worked well",
    "improve": "areas for development next steps areas for improvement shortfalls",
    "action": "improvement plan working to improve",  # what a council is doing about it
}

# The two sides of a report's findings, for picking what a council does well or must improve (compose.py):
# general descriptions of each, in the reports' register; a sentence leans to the side whose descriptions it
# is closer to on average, by the embedding model. Each kind's side first, its opposite second.
POSITIVE_FINDINGS = (
    "Staff were proud to work for the council and positive about their support.",
    "People spoke positively about their care and the staff who supported them.",
    "This was an area of good practice that worked well.",
    "Partnership working was effective and well established.",
    "Waiting times had been reduced and people got support quickly.",
    "The council was praised for its strong leadership and clear vision.",
)
NEGATIVE_FINDINGS = (
    "People waited a long time for assessments, with long delays and backlogs.",
    "Staff reported high workloads, vacancies and pressure.",
    "There were concerns and shortfalls that the council needed to improve.",
    "Feedback was mixed and some people found it hard to get support.",
    "Services were inconsistent and there were gaps in provision.",
    "The council did not have a clear oversight of risks.",
)
# What a council is doing about its findings ("what is the council doing about it?"), against the findings.
ACTIONS = (
    "The council is working on a plan to improve its services.",
    "A new improvement board will oversee the changes.",
    "We are recruiting more staff to reduce waiting lists.",
    "The council has invested in new services and is taking action.",
    "It will work with partners to put things right.",
)
FINDING_SIDES = {
    "strengths": (POSITIVE_FINDINGS, NEGATIVE_FINDINGS),
    "improve": (NEGATIVE_FINDINGS, POSITIVE_FINDINGS),
    "action": (ACTIONS, NEGATIVE_FINDINGS),
}

# What a count may be of, in the reports' other words (by the asked word's stem, rag.text.tokenize): "how many
# councils" is answered by "four of the five authorities".
SAME_COUNTED = {"council": ("authorities",), "author": ("councils",), "peopl": ("adults", "persons", "individuals", "population"),
                "request": ("referrals",), "referr": ("requests",), "applic": ("requests",)}
# A count's noun that counts a wider group than the one asked about: "How many adults are living with hearing loss?"
# is answered, less surely, by "29,700 people aged 18 and over" (as by a share of adults).
BROADER_COUNTED = {"adult": "people", "resid": "people"}

# A council's own spokesperson quoted in an article ("Linda Woodings, Nottingham's portfolio holder for adult
# social care, said: ..."): the council's reaction to its assessment, not what the regulator found.
COUNCIL_SPOKESPERSON = re.compile(r"\b(portfolio holder|cabinet member|executive councillor|councillor|cllr|"
                                  r"(deputy )?leader of (the|\w+) council|council leader)\b", re.I)

# How the reports judge a figure: against the England (national) average.
BENCHMARK_WORDS = "compared to the England national average"
# Searched with a question asking what the council said: how articles name its spokespeople.
SPOKESPERSON_WORDS = "Cllr councillor cabinet member portfolio holder said"

# Everyday words for what the reports say in their own: a question's word on the left is searched with the
# reports' words on the right too ("the usual wait": "median"; "phoning the council": "telephone contact"). Written
# from how the assessments word their findings, for phrasings people use, not from particular questions.
REPORT_WORDING = tuple((re.compile(pattern, re.I), words) for pattern, words in (
    (r"\b(usual(ly)?|typical(ly)?|normal(ly)?|on average|average)\b", "median average"),
    (r"\b(challeng\w*|appeal\w*|disput\w*|contest\w*|query|queried)\b", "review"),
    (r"\b(a say|choose|choosing)\b", "choice"),
    (r"\b(pick(ed|ing|s)? up(?! the (phone|calls?|telephone))|spot(s|ted|ting)?|noticed|notic(e|es|ing) (when|that|if))\b",
     "identify recognise"),
    (r"\b(pick(ed|ing|s)? up|answer(s|ed|ing)?) the (phone|calls?|telephone)\b", "took calls business support"),
    (r"\b(kids?|children|young people|teenagers?) (who are |are )?(looking after|caring for)\b", "young carers"),
    (r"\b(phon(e|es|ed|ing)|ring(s|ing)?|rang)\b", "telephone contact call"),
    (r"\bbacklogs?\b", "waiting list"),
    (r"\b(queues?|queuing)\b", "waiting"),
    (r"\b(kids?)\b", "children"),
    (r"\b(money|cash)\b", "funding budget financial"),
    (r"\b(employees|(?<!social )workers|staffing)\b", "workforce staff"),  # "social workers" the reports say too
    (r"\b(home from hospital|(leav\w*|out of|left) hospital)\b", "hospital discharge"),
    (r"\b(abuse|abused|neglect\w*)\b", "safeguarding"),
    (r"\b(fair(ly|ness)?|unfair(ly)?|equal(ly|ity)?)\b", "equity"),
    (r"\b(lonel\w*)\b", "isolation"),
    (r"\b(boss(es)?|(?<!councillor )(?<!member )in charge|top brass)\b", "leaders leadership"),
    (r"\b(councillor|member|politician)s? in charge\b", "cabinet member portfolio holder"),
    (r"\b(a break|breaks from caring|time off)\b", "respite short breaks"),
    (r"\bcouncil tax\b", "precept"),
    (r"\b(translat\w*|languages?)\b", "interpreter"),
    (r"\b(deaf|blind)\b", "sensory"),
    (r"\b(turn(s|ing)? 18|children'?s services to adult|moving to adult)\b", "transition"),
    (r"\b(hir(e|ing)|recruiting|vacancies|shortages?)\b", "recruitment retention"),
    (r"\b(back on (their|your|his|her|my) feet|recover(y|ing)? at home)\b", "reablement intermediate care"),
    (r"\b(help at home|carers? (coming|visiting) (to )?(the|your|their|my) (home|house))\b", "home care"),
    (r"\bpay(s|ing)? (for )?care homes\b|\bcare home (fees|costs?|prices?)\b", "residential care cost fees"),
    (r"\b(pay(s|ing)? for (it |care |their care |your care )?(themselves|yourself|(their|your|my) own( care)?)|self[- ]pay\w*)\b",
     "self-funders self-funding"),
    (r"\b(speak(s|ing)? up for|someone to speak|advocates?)\b", "advocacy"),
    (r"\b(involv\w*|listen\w*|views)\b", "co-production engagement feedback"),
    (r"\b(gay|lesbian|trans(gender)?|bisexual|lgbt\w*)\b", "LGBTQIA+"),
    (r"\b(nights?|weekends?|evenings?)\b", "out of hours"),
    (r"\b(overspen\w*|over budget|more than (it )?planned)\b", "actual spend more than estimated"),
    (r"\b(ring|call|phone)(s|ed|ing)? (\w+ )?back\b", "call-backs"),
    (r"\bback[- ]?up plans?\b", "contingency plans"),
    (r"\b(cope|coping|can'?t manage)\b", "crisis"),
    (r"\b(receptionists?|front desk|switchboard)\b", "business support staff"),
    (r"\bturn(s|ed|ing)? (\w+ )?away\b", "signpost"),
    (r"\b(gave|give|giving|given) up\b", "stopped using"),
    (r"\b(happy|unhappy|pleased)\b", "satisfied satisfaction"),
    (r"\b(telecare|alarms?|pendants?|sensors?)\b", "technology enabled care assistive technology"),
    (r"\b(second[- ]?hand|used equipment|reus\w*)\b", "recycling re-use"),
    (r"\b(walk[- ]in showers?|wet rooms?|grab rails?|stair ?lifts?|ramps?)\b", "level access adaptations equipment"),
    (r"\b(warn(s|ed|ing|ings)?|worr(y|ies|ied|ying))\b", "concerns"),
    (r"\b(get|got|getting|hear|heard) back\b", "hear back feedback"),
    (r"\b(set aside|protected time|time off for)\b", "protect time"),
    (r"\b(forced|made to|against (their|his|her|my|your) (will|wishes))\b", "wishes did not want"),
    (r"\b(daily|own|their|everyday) lives\b", "daily life"),
    (r"\bkeep(s|ing)? track\b", "monitor tool"),
    (r"(?<!\w)(a ?& ?e|a and e|casualty|emergency department)(?!\w)", "Accident and Emergency"),
    (r"\b(miles away|far away|out of (the )?(area|county|town))\b", "placed out of area"),
    (r"\b(outside|private) (company|companies|firm|firms|organisations?|providers?)\b", "external agency"),
    (r"\b(wrongly|wrong|incorrectly) (told|informed|advised)\b|\btold (the )?wrong\b", "incorrectly informed"),
    (r"\bturn(s|ed)? up\b|\barriv(e|es|ed|ing)\b", "received delivery"),
    (r"\bdeprivation of liberty\b", "DoLS"),
    (r"\b(over and over|again and again|(tell|telling|explain\w*) (\w+ )?(story|everything|it) (\w+ )?again)\b", "repeat themselves"),
    (r"\bburn(t|ed)?[- ]?out\b|\bexhausted\b|\bstressed\b", "workloads pressures"),
    (r"\boff sick\b|\bsick(ness)? leave\b", "sickness absence"),
    (r"\binvestigat\w*\b", "enquiry enquiries section 42"),
    # "last rated before this", "previously rated": "the first ... ratings since 2010, when the previous ratings system ..."
    (r"\blast\b[^?.]*\bbefore\b|\bpreviously (rated|assessed)\b", "first since previous ratings system"),
    (r"\bhow many (people|residents|adults) (live|are there)\b(?! (in|at) (a |an )?(care|nursing|residential|supported|"
     r"sheltered|extra care|their own))", "population"),
))


def report_words(text: str) -> list[str]:
    """The reports' words for the everyday words of a question (REPORT_WORDING), each once, in the table's order."""
    return list(dict.fromkeys(words for _, _, words in _worded(text)))


def worded(text: str) -> list[tuple[int, int, str]]:
    """Where the text says something the reports say in their own words (REPORT_WORDING), and those words:
    (start, end, "the reports' words") for "back on your feet"."""
    return list(_worded(text))


@lru_cache(maxsize=4096)
def _worded(text: str) -> tuple[tuple[int, int, str], ...]:
    """(start, end, the reports' words) of every match of the table, in its order: one pass over the 55 patterns
    (65 us) for both the search's added words and the unknown-word check, remembered (questions recur)."""
    return tuple((*m.span(), words) for pattern, words in REPORT_WORDING for m in pattern.finditer(text))


def same_counted(terms: set[str]) -> set[str]:
    """The terms with the reports' other words for them as a count's noun (SAME_COUNTED), as terms."""
    return terms | {t for a in terms for same in SAME_COUNTED.get(a, ()) for t in tokenize(same)}
