"""Pick the answer: the sentence or sentences of the cited passages that best answer the question.

The answer is always verbatim source text (a slice of a document, with its offsets), never generated.
Each candidate sentence is scored on the question's terms it contains (weighted by how rare they are
in the corpus, numbers and names counting most), on its embedding similarity to the question, on
whether it holds the kind of thing asked for (a number for "how many", a date for "when", a score for
"what score"), and on the rank of its passage.
"""
from __future__ import annotations

import math
from functools import cached_property
import re
from dataclasses import dataclass

import numpy as np

from . import cqc
from .chunking import is_comments_heading, is_heading_line, sentence_spans
from .index import Index
from .text import NUMBER_WORDS, term_groups, tokenize
from .types import Hit

MAX_ANSWER_CHARS = 400
# Answers are picked from the sentences of this many top passages. Measured (answer@1, rag eval): 4 against 5
# lifted pool factual tuning 0.655 -> 0.690 and validation 0.464 -> 0.500, the dev, extra and messy sets as
# they were; 3 lost the extra and messy tuning sets, 7 gained nothing.
CANDIDATE_PASSAGES = 4
PAIR_FACTOR = 0.9
SPOKESPERSON_FACTOR = 0.7
LEDE_FACTOR = 1.2
SHARE_OF_COUNTED = 0.5  # the kind feature of a share where a count was asked (see _share_of)
COMMENT_FACTOR = 0.5  # a reader's comment under an article is not what the report found (but is what readers think)
# A span's score: these weights of its features (AnswerPicker.features), times its penalties.
W_LEXICAL, W_DENSE, W_KIND, W_RANK = 0.40, 0.30, 0.15, 0.15
# How much a span's lean toward the wanted side of a polarity (strengths: praise rather than shortfalls) adds.
POLARITY_WEIGHT = 3.0
MIN_LEAN = 0.0  # a span no closer to the wanted side than to its opposite is no strength (or shortfall)

# When to say the reports don't answer a question. Calibrated on eval/questions.jsonl (answerable)
# against eval/unanswerable.jsonl (other councils, topics the reports don't cover, off-topic, nonsense):
# a top passage this far from the question in meaning, or a question word the corpus never uses
# ("salary", "Ofsted", "potholes") with only a middling match, means the reports don't say.
MIN_DENSE = 0.45
MIN_DENSE_WITH_UNKNOWN_TERM = 0.68
# ... unless the top passage holds this share of the question's terms (by rarity) and is at least this close: 16 of
# 120 new answerable questions (a QA pass) were declined below MIN_DENSE, 12 of them with their passage first; every
# question to decline in eval/ holds at most 0.35 of its terms
TERMS_FOUND_SHARE = 0.5
MIN_DENSE_WITH_TERMS = 0.25
RARE_PASSAGES = 2  # ... unless the top passage holds the question's names: words in at most this many passages
# ... if its unknown words are at least this share of its terms (measured: 0.125 spared two factual tuning questions,
# "rings"/"logged", and declined every unanswerable one it did; 0.2 answered one of validation's unanswerable)
UNKNOWN_SHARE = 0.125
DISTINCTIVE_SHARE = 0.05  # a term held by at most this share of the passages is distinctive of a topic
# Words a question uses to ask, not to say what about: not evidence of a topic the corpus lacks.
_ASKING_WORDS = {"give", "gave", "given", "get", "tell", "find", "found", "mean", "show", "know", "take", "make",
                 "happen", "list", "explain", "describ", "compar", "say", "doe", "did", "whi", "pleas",
                 "anyon", "anyth", "someon", "someth", "everyon", "everyth"}
# ... nor are the words people wrap a question in ("sorry if this is a silly question but ..."; as stemmed)
_ASKING_WORDS |= set(tokenize("sorry silly stupid dumb wondering curious actually basically honestly really quick "
                              "hello mate cheers confused grateful apologies sort somebody anybody everybody nobody"))
# ... nor those asking how soon ("how fast", "how soon"): a length of time, as "how quickly" (quick, above) does
_ASKING_WORDS |= {"fast", "soon"}
# ... nor the people and places of the asker's own story ("I care for my husband near Preston"), nor a deadline
# (asking a date): the reports speak of unpaid carers and family, and never of a husband, so none is a topic missing
_ASKING_WORDS |= set(tokenize("husband wife partner mum mom mother dad father son daughter brother sister gran granny "
                              "grandma grandad grandmother grandfather nan aunt uncle niece nephew cousin friend "
                              "neighbour boyfriend girlfriend near nearby nothing loads lots trying deadline"))

# What an answering sentence holds, for what a question wants (Query.wants). A year is not a count.
_YEAR = r"(?:19|20)\d\d(?:[-/]\d\d(?:\d\d)?)?"
# "5-6 months", "five and six months", "40 minutes": after a figure, a span of time
_AND_TIME = r"\s*(?:(?:-|to|and|or)\s*\w+\s*)?(?:days?|weeks?|months?|years?|hours?|minutes?)\b"
_NUMBER_WORDS = r"\b(" + "|".join(NUMBER_WORDS) + r"|twenty|hundred|thousand|half|third|quarter|none|no one|nobody)\b"
HOLDS = {
    # how much: money, a large figure or a share; not a count like "3s"
    "amount": re.compile(r"£\s?\d|\d[\d,.]*\s*(million|billion|bn|m)\b|\d{1,3}(,\d{3})+|\d%|\bper ?cent\b", re.I),
    "money": re.compile(r"£\s?\d|\d[\d,.]*\s*(million|billion|bn|m|k|pounds)\b", re.I),
    "percent": re.compile(r"\d%|\bper ?cent\b", re.I),
    # a count: not a share, a year or a span of time ("5-6 months")
    "number": re.compile(rf"(?<![\d/.,-])(?!{_YEAR}\b)\d[\d,.]*(?![\d,.])(?!%|{_AND_TIME})|{_NUMBER_WORDS}(?!{_AND_TIME})", re.I),
    "duration": re.compile(r"\b\d[\d,.]*\s*(?:-|to)?\s*(minutes?|hours?|days?|weeks?|months?|years?)\b|\bmedian\b|\bmaximum\b"
                           r"|\b(one|two|three|four|five|six|seven|eight|nine|ten|several|many) (days?|weeks?|months?|years?)\b"
                           # a period from one year to another: "funding awarded between 2022-2027", "from 2023 to 2028"
                           r"|\b(?:19|20)\d\d\s*(?:-|–|to|until)\s*(?:19|20)\d\d\b|\bbetween (?:19|20)\d\d and (?:19|20)\d\d\b", re.I),
    "date": re.compile(rf"\b{_YEAR}\b|\b(january|february|march|april|may|june|july|august|september|october|november|"
                       r"december)\b|\b(in|over|during) the (spring|summer|autumn|winter)\b", re.I),
    "score": re.compile(r"\bscores?\b[^.\n]{0,20}\d|\d+s\b|\b[1-4]\s*-\s*\w", re.I),
    "rating": re.compile(r"\b(inadequate|requires improvement|good|outstanding)\b", re.I),
    # who: a named role or a title ("Wendy Bowkett, executive councillor", "an independent Chair", "Cllr Smith")
    "person": re.compile(r"\b(cllr|councillor|dr|mr|mrs|ms|professor|chair|chairs|chaired|chief|director|executive|"
                         r"cabinet member|portfolio holder|leader|lead member|head of|spokes(person|man|woman)|minister|secretary of state|"
                         r"inspector|commissioner|mayor|department|government|ministry)\b", re.I),
    # how often: "met quarterly", "6 weekly", "every three months", "twice a year"
    "frequency": re.compile(r"\b(daily|weekly|fortnightly|monthly|quarterly|annually|yearly|regularly|routinely)\b"
                            r"|\b(every|each) (\w+ )?(day|week|month|quarter|year)s?\b|\b(once|twice|\w+ times) (a|an|per|each) \w+",
                            re.I),
    # the council's own words: its spokesperson named ("Linda Woodings, Nottingham's portfolio holder ..., said")
    "council_said": cqc.COUNCIL_SPOKESPERSON,
}
# how big (a backlog, a list): a count or a sum of money; a share ("32.25% of the workforce") is no size
HOLDS["size"] = re.compile(f"{HOLDS['number'].pattern}|{HOLDS['money'].pattern}", re.I)
# What a count of people may follow: "a total population of 142,708" (the text before the figure).
_POPULATION = re.compile(r"\bpopulation (?:of|was|is|stood at)\s+(?:about |around |approximately )?\**$", re.I)
# The largest of a figure, for a question asking for it (Query.extreme): "some up to 226 days", "the maximum wait".
EXTREME = re.compile(r"\bup to\b|\bmaxim(um|al)\b|\bas (high|long|many|much) as\b|\b(longest|highest|largest|biggest|"
                     r"greatest|most|peak\w*)\b", re.I)
EXTREME_SHORT = 0.75  # the kind feature of a figure that is not the largest where the largest was asked
# A figure the question asks for must be in the answer, or the reports don't give it.
FIGURES = ("number", "amount", "money", "percent", "duration", "date", "name")  # "when ...?" is answered by a date, or declined
WANTED = {"number": "count", "money": "sum of money", "duration": "length of time"}  # a figure's name in a message
# What a question may also ask for: a span holding it is taken where one is there, or else the best span.
PREFERRED = ("person", "frequency", "size", "council_said")
# A page's dateline ("date 2025-09-11 Blackpool Council reports ..."): its label, not part of a sentence (nor a
# date the sentence states).
_DATELINE = re.compile(r"\s*date \d{4}-\d\d-\d\d\s+")
_TITLE_LINE = re.compile(r"^(?!\s*(?:[-*+•]|\d+[.)])\s)[^\n]{0,160}$")  # one short line, not a list item
_LIST_ITEM = re.compile(r"\s*(?:[-*+•]|\d+[.)])\s")
# A web page's pointer to elsewhere: "You can read the full report on ...", "Click here", "Find out more".
_NAVIGATION = re.compile(r"\W*(you can (read|find|see|view|watch|download)|click|read more|find out more|visit|"
                         r"sign up|subscribe|follow us|share this)\b", re.I)
# What a figure at the end of this counts: "the number of DoLS requests waiting to be completed was" 281
_PER = re.compile(r"\bper\s+$", re.I)
_CLAUSE_END = re.compile(r"[,;:.()]")


def _after_figure(text: str, figure: re.Match) -> str:
    """The words after a figure in its clause: "66 unpaid carers took ...", but nothing after "855," ."""
    if figure.group(0)[-1] in ",;:.":
        return ""
    after = text[figure.end():figure.end() + 80]
    return after[:m.start()] if (m := _CLAUSE_END.search(after)) else after
_NUMBER_OF = re.compile(r"\b(?:number|total) of ([^.,;:]{1,80}?)\s+(?:was|were|is|are|stood at|totalled|reached|had risen to|"
                        r"had fallen to|rose to|fell to)\s*$", re.I)
# A sentence giving a cause ("due to a lack of personal assistants")
_CAUSE = re.compile(r"\b(because|due to|owing to|as a result|result(ed|s)? (in|from)|caused|reasons?|led to|meant)\b", re.I)
# A sentence that leans on the one before it: a reference back as its first word ("Its actual spend for that year
# was ...", "They ...") or within its first words ("While initial efforts to tackle this ...").
_LEANS_BACK = re.compile(r"^\W*(?:(it|its|they|their|this|these|those|such)\b|(?:\w+\W+){1,5}?(this|these|those|such|that year)\b)",
                         re.I)
_NAME_PAIR = re.compile(r"\b([A-Z][a-z]+) ([A-Z][a-z]+(?:-[A-Z][a-z]+)?)\b")
_TITLED = re.compile(r"\b(Cllr|Councillor|Dr|Mr|Mrs|Ms|Professor|Sir|Dame)\.? [A-Z][a-z]+")
# Words of time a figure's sentence need not share with the question: the figure itself says them.
_TIME_WORDS = frozenset(t for w in "next last previous first soon recent recently year month week day date time ago"
                        .split() for t in tokenize(w))
_CLOCK = re.compile(r"\b(minutes?|hours?)\b", re.I)
_CALENDAR = re.compile(r"\b(days?|weeks?|months?|years?|median|maximum)\b", re.I)
# How a question asks for a figure ("How long did people wait?"): its word counts for this share of its weight in the
# word overlap, for it asks more than it names (a sentence on "long waits for occupational therapy" shares it by chance).
_HOW = re.compile(r"\bhow (long|many|much|often|big|large|soon|quickly|far)\b", re.I)
# Measured (rag eval, both parts and the older sets): 0 lost eval/questions_extra.jsonl's x02 ("How long did people
# in Lancashire wait for occupational therapy?" is answered by "long waits for occupational therapy (up to 262
# days)"); 0.5 did not yet move "How long did people in Lancashire wait for an assessment?" to "some up to 226 days";
# 0.25 moves it and changes no eval figure.
ASKING_SHARE = 0.25
_FULL_STOP = re.compile(r"[.!?:][”\"')\]]*\s*$")
_SENTENCE_END = re.compile(r"[.!?:;”\"')\]]\s*$")


# A sentence saying what a term means ("Deprivation of Liberty Safeguards (DoLS) are legal protections ...", "A
# Safeguarding Adult Review (SAR) takes place following ..."): the report explaining, not finding. For a question
# about a council it counts for less (DEFINITION_FACTOR); asked what the term is, it is the answer.
_DEFINITION = re.compile(r"^\W*(?:A |An |The )?(?:[A-Z][\w-]*|of|and|for|the|\d{4})(?: (?:[A-Z][\w-]*|of|and|for|the|\d{4})){0,7} "
                         r"\([A-Z][A-Za-z]{1,6}\) (?:is|are|takes place|provides|means|refers|sets out)\b")
DEFINITION_FACTOR = 0.7
# The framework's statements (cqc.FRAMEWORK_HEADINGS) answer no question about a council: what is expected, not found.
FRAMEWORK_FACTOR = 0.7
FRAMEWORK_PREFIX = 60  # characters of a sentence compared (a span of two starts with its first)
# A caveat about the figures ("Please note that the amount raised through adult social care precept varies from
# local authority to local authority", in every assessment's financial facts) qualifies a finding, it is none.
_CAVEAT = re.compile(r"^\W*(please note|note that|note:|nb\b)", re.I)
CAVEAT_FACTOR = 0.7
# A sentence that names who said something: "said James Bullion", "Cllr Smith said", "according to ...".
_SAID = re.compile(r"\b(said|says|told|according to|commented|added)\b[^.]{0,40}\b[A-Z][a-z]+ [A-Z][a-z]+"
                   r"|\b[A-Z][a-z]+ [A-Z][a-z]+\b[^.]{0,60}\b(said|says|told|commented|added)\b")


def is_pointer(text: str) -> bool:
    """Whether a sentence only points elsewhere ("You can read the full report on ..."): no finding."""
    return bool(_NAVIGATION.match(text))


@dataclass
class Answer:
    text: str
    doc_id: str
    start: int
    end: int
    score: float
    citation: int  # index of the citation (hit) it was taken from


def _idf(index: Index) -> dict[str, float]:
    """Over the passages' own text: the context indexed with them (council names on every passage of
    a document) would make a council's name look like a common word."""
    n = len(index.passages)
    df: dict[str, int] = {}
    for p in index.passages:
        for t in set(tokenize(index.text(p))):
            df[t] = df.get(t, 0) + 1
    return {t: math.log(1 + (n - c + 0.5) / (c + 0.5)) for t, c in df.items()}


def candidate_spans(text: str, start: int, end: int) -> list[tuple[int, int, bool]]:
    """(start, end, is a pair) of each sentence of the passage text[start:end], and of each two sentences
    that run on in one paragraph and fit the limit together ("It estimated £67m. Its actual spend for
    that year was £71m."): the second may only make sense with the first. Headings are not answers.
    The index build embeds these same spans (rag/index.py), so answering encodes only the question."""
    sentences = [(m.end() if (m := _DATELINE.match(text, s, e)) else s, e) for s, e in sentence_spans(text, start, end)]
    sentences = [(s, e) for s, e in sentences
                 if not (is_heading_line(text[s:e]) or not re.search(r"\w", text[s:e])
                         or re.fullmatch(r"[-*_\s]+", text[s:e]))]
    out = []
    for j, (s, e) in enumerate(sentences):
        out.append((s, e, False))
        if j + 1 < len(sentences):
            s2, e2 = sentences[j + 1]
            if "\n" not in text[e:s2] and e2 - s <= MAX_ANSWER_CHARS:
                out.append((s, e2, True))
    return out


def _context(passage) -> str:
    """What a sentence inherits from its passage for the word overlap: the councils and the section path."""
    return " ".join((*passage.councils, *passage.section))


class AnswerPicker:
    def __init__(self, index: Index, embedder=None):
        self.index = index
        self.embedder = embedder
        self.idf = _idf(index)
        self.default_idf = math.log(1 + (len(index.tokens) + 0.5) / 0.5)
        self._directions: dict = {}
        # Per-question work that depends only on the passage or sentence, remembered (this picker is built anew
        # with each index build, so nothing outlives the index it was computed from): see _memo.
        self._memo: dict[str, dict] = {"spans": {}, "present": {}, "kind": {}}

    WARM_PASSAGES = 5000  # warm() takes about 0.2 ms a passage: at most about a second before a build serves

    def warm(self) -> None:
        """Remember every passage's candidate spans and their terms now, as the first questions would: without it a
        fresh process's first pass over the dev questions took 5.7 ms a search (p50) against 4.1-4.6 once warm.
        Only for an index of up to WARM_PASSAGES passages (a larger one warms with its questions), and within half
        the memo's size."""
        if len(self.index.passages) > self.WARM_PASSAGES:
            return
        for p in self.index.passages:
            text, context = self.index.documents[p.doc_id].text, _context(p)
            for s, e, _ in self._passage_spans(p):
                if len(self._memo["present"]) >= self.MEMO_SIZE // 2:
                    return
                self._present(text[s:e], context)

    def _passage_spans(self, passage) -> tuple[tuple[int, int, bool], ...]:
        """The passage's candidate spans (candidate_spans), remembered."""
        return self._remember("spans", (passage.doc_id, passage.start, passage.end), lambda: tuple(candidate_spans(
            self.index.documents[passage.doc_id].text, passage.start, passage.end)))

    def _spans(self, hits: list[Hit], opinions: bool = False) -> list[tuple[int, int, int, bool]]:
        """(hit number, start, end, is a pair) of each candidate span of the top passages; for a question asking
        what people thought (`opinions`), also of the readers' comments among the next ones."""
        return [(i, s, e, pair) for i, hit in enumerate(hits[:2 * CANDIDATE_PASSAGES])
                if i < CANDIDATE_PASSAGES or (opinions and any(map(is_comments_heading, hit.passage.section)))
                for s, e, pair in self._passage_spans(hit.passage)]

    MEMO_SIZE = 65536  # entries per memo; past it the memo starts again (the corpus's spans are a few thousand)

    def _remember(self, memo: str, key, compute):
        """compute(), remembered under `key`: what a passage's or sentence's candidate spans, terms or figures are
        does not change between questions (tests/test_memos.py checks the remembered and computed results agree)."""
        table = self._memo[memo]
        value = table.get(key)
        if value is None:
            if len(table) >= self.MEMO_SIZE:
                table.clear()
            value = table[key] = compute()
        return value

    def _lexical(self, question: str, texts: list[str], contexts: list[str]) -> np.ndarray:
        """For each sentence, the share of the question's terms (weighted by rarity; numbers double) that it, or the
        context it inherits from its passage (councils, section path), contains."""
        groups = term_groups(question)
        asking = {t for m in _HOW.finditer(question) for t in tokenize(m.group(1))}  # "how long": asks, names less
        weight = lambda g: max(self.idf.get(t, self.default_idf) for t in g) * (2.0 if g[0][0] in "0123456789£" else 1.0) \
            * (ASKING_SHARE if asking & set(g) else 1.0)
        unique: dict[tuple, float] = {}
        for g in groups:  # a term the question repeats counts again (a follow-up's own words, given more than once)
            unique[tuple(g)] = unique.get(tuple(g), 0.0) + weight(g)
        total = sum(unique.values())
        if not total:
            return np.zeros(len(texts))
        out = []
        for text, context in zip(texts, contexts):
            present = self._present(text, context)
            out.append(sum(w for g, w in unique.items() if not present.isdisjoint(g)) / total)
        return np.array(out)

    def _present(self, text: str, context: str) -> frozenset[str]:
        """The terms of a sentence and of the context it inherits from its passage."""
        return self._remember("present", (text, context), lambda: frozenset(tokenize(text)) | frozenset(tokenize(context)))

    def _extend(self, text: str, start: int, end: int, p_start: int, p_end: int) -> tuple[int, int]:
        """A very short answer ("Score: 1") takes in the heading above it and the line after it."""
        if end - start >= 60:
            return start, end
        spans = sentence_spans(text, p_start, p_end)
        i = next((j for j, (s, _) in enumerate(spans) if s == start), None)
        if i is None:
            return start, end
        if i > 0 and is_heading_line(text[spans[i - 1][0]:spans[i - 1][1]]):
            start = spans[i - 1][0]
        after = text[spans[i + 1][0]:spans[i + 1][1]] if i + 1 < len(spans) else ""
        if re.search(r"\w", after) and not is_heading_line(after) and spans[i + 1][1] - start <= MAX_ANSWER_CHARS:
            # (a rule, "---", is no line to take in)
            end = spans[i + 1][1]
        return start, end

    @staticmethod
    def _with_list(text: str, start: int, end: int, p_end: int) -> int:
        """A sentence that introduces a list ("Key areas for improvement include:") takes in the items that
        follow it in its passage, as many as fit the limit, while they are alike (marked as items or not,
        ending as sentences or not): "Reducing service variation" is an item, the prose after it is not."""
        if not (text[:end].rstrip().endswith(":") or ":\n" in text[start:end]):
            return end
        pos, first = end, None
        while pos < p_end:
            nl = text.find("\n", pos + 1)
            line_end = p_end if nl == -1 or nl > p_end else nl
            line = text[pos:line_end].strip()
            if line:
                form = bool(_LIST_ITEM.match(line)), bool(_SENTENCE_END.search(line))
                if is_heading_line(line) or line_end - start > MAX_ANSWER_CHARS or form != (first or form):
                    break  # a heading, the limit, or a line not like the first item: the list is over
                first = first or form
                end = pos + len(text[pos:line_end].rstrip())
            pos = line_end
        return end

    def holds(self, wants: str | None, text: str, counted: str | None = None, role: str | None = None) -> bool:
        """Whether the text holds the figure wanted (always, for what is not a figure)."""
        return wants not in FIGURES or self._has(wants, text, counted, role) or self._share_of(wants, text, counted) \
            or self._holds_broader(wants, text, counted)

    def _has(self, wants: str | None, text: str, counted: str | None = None, role: str | None = None) -> bool:
        """Whether the text holds what is wanted: the name of the role's holder (names), else HOLDS (_holds)."""
        return self.names(text, role) if wants == "name" else self._holds(wants, text, counted)

    @cached_property
    def _framework(self) -> frozenset[str]:
        """The beginnings of the framework's sentences: those of every passage under a framework heading (found
        again where a report runs one on without its heading)."""
        out = set()
        for p in self.index.passages:
            if p.section and p.section[-1] in cqc.FRAMEWORK_HEADINGS:
                text = self.index.documents[p.doc_id].text
                out.update(text[s:e].strip()[:FRAMEWORK_PREFIX] for s, e in sentence_spans(text, p.start, p.end)
                           if not is_heading_line(text[s:e]))
        return frozenset(out)

    @cached_property
    def _lower_words(self) -> frozenset[str]:
        """Every word the corpus writes in lower case somewhere: "Chief Executive" is a role, "Wendy Bowkett" a name."""
        return frozenset(w for d in self.index.documents.values() for w in re.findall(r"\b[a-z]+\b", d.text))

    def names(self, text: str, role: str | None = None) -> bool:
        """Whether the text names a person: two capitalised words, neither of which the corpus ever writes in lower
        case ("Wendy Bowkett", "James Bullion"), or a title before a capitalised word ("Cllr Brookes"); with `role`,
        one holding that role ("leader": not a "Deputy Leader")."""
        named = bool(_TITLED.search(text)) or any(
            m.group(1).lower() not in self._lower_words and m.group(2).lower() not in self._lower_words
            for m in _NAME_PAIR.finditer(text))
        if not named or not role:
            return named
        return bool(re.search(rf"(?<!deputy )(?<!assistant )(?<!vice )(?<!acting )(?<!former )(?<!interim )"
                              rf"\b{re.escape(role)}\b", text, re.I))

    @staticmethod
    def _share_of(wants: str, text: str, counted: str | None) -> bool:
        """For "how many people", a share of them ("the percentage of people receiving direct payments ... 17.70%"):
        an answer when the reports give no count."""
        if wants != "number" or not counted or not HOLDS["percent"].search(text):
            return False
        return bool({t for w in counted.split() for t in tokenize(w)} & set(tokenize(text)))

    @classmethod
    def _holds_broader(cls, wants: str, text: str, counted: str | None) -> bool:
        """For "how many adults", a count of a group they belong to ("29,700 people aged 18 and over")."""
        broader = {cqc.BROADER_COUNTED[t] for w in (counted or "").split() for t in tokenize(w) if t in cqc.BROADER_COUNTED}
        return wants == "number" and bool(broader) and cls._holds(wants, text, " ".join(broader))

    @staticmethod
    def _holds(wants: str, text: str, counted: str | None = None) -> bool:
        """Whether the text holds what is wanted (HOLDS); a count, of what is counted if that is said ("how many
        people": "2,000 people", "66 unpaid carers"; "councils": "five authorities")."""
        if wants not in HOLDS:
            return False
        if wants == "duration" and counted:  # "how many days": a span in days, weeks or months, not minutes
            scale = _CLOCK if _CLOCK.search(counted) else _CALENDAR
            return any(scale.search(m.group(0)) for m in HOLDS[wants].finditer(text))
        if wants != "number" or not counted:
            return bool(HOLDS[wants].search(text))
        asked = {t for w in counted.split() if not w.endswith(("ed", "ing")) for t in tokenize(w)}
        asked = cqc.same_counted(asked)
        if not asked:
            return bool(HOLDS[wants].search(text))
        # the thing counted is among the four words after the figure ("66 unpaid carers", "**3990** people"); people
        # are also counted as a population ("a total population of 142,708")
        # or named before it as what "the number of" counts ("the number of DoLS requests waiting ... was 281")
        # (not a rate's base: "1,465 were receiving long term support per 100,000 people"; not past the figure's clause:
        # "the England average at 855, and adults aged 65")
        return any(not _PER.search(text, max(0, m.start() - 5), m.start()) and (
                   asked & set(tokenize(" ".join(_after_figure(text, m).split()[:4])))
                   or ("peopl" in asked and _POPULATION.search(text, 0, m.start()))
                   or ((n := _NUMBER_OF.search(text, max(0, m.start() - 120), m.start())) and asked & set(tokenize(n.group(1))))
                   ) for m in HOLDS["number"].finditer(text))

    @cached_property
    def _prefixes(self) -> frozenset[str]:
        return frozenset(t[:n] for t in self.idf if t.isalpha() for n in range(4, len(t) + 1))

    def unknown_terms(self, question: str, places: tuple[str, ...] = ()) -> list[str]:
        """Words of the question (as written) that occur nowhere in the corpus, not even as another form of a
        corpus word ("callers" beside "call"). Short words (up to three letters: "big", "cc") and contractions
        ("they're") say too little about a topic to count. `places`: towns named for their council (Query.places)."""
        out, places = [], {p.lower() for place in places for p in place.split()}
        worded = cqc.worded(question)  # "rings", "back on your feet": the reports say it in their own words
        for match in re.finditer(r"[A-Za-z][A-Za-z'’-]*", question):
            word = match.group()
            if len(word) <= 3 or "'" in word or "’" in word or any(s <= match.start() < e for s, e, _ in worded) \
                    or word.lower() in places:
                continue
            stems = tokenize(word)
            if stems and all(t not in self.idf and t not in _ASKING_WORDS and not self._related(t) for t in stems) \
                    and word not in out:
                out.append(word)
        return out

    def _related(self, stem: str) -> bool:
        """Whether a corpus word shares its beginning: at least four letters, and all but its last three."""
        return any(stem[:n] in self._prefixes for n in range(max(4, len(stem) - 3), len(stem) + 1))

    def supported(self, question: str, hits: list[Hit], reworded: tuple[tuple[str, str], ...] = (),
                  places: tuple[str, ...] = (), own: str | None = None) -> tuple[bool, str]:
        """Whether the top passages support an answer, and if not, why (for the message shown). `reworded`: what
        the question says in everyday words and the reports' words for it (Query.reworded), which the search adds.
        `own`: a follow-up's own words, searched with the question it leans on: an unknown word is its share of them
        ("how much is carers allowance?" after a question on carers' breaks)."""
        if not hits:
            return False, "no passages"
        dense = hits[0].scores.get("dense")
        unknown = self.unknown_terms(question, places)
        if dense is None:  # BM25 only: all we can go on is whether the corpus knows the question's words
            return (not unknown and hits[0].score > 0), ("the reports never mention " + ", ".join(unknown)
                                                          if unknown else "no passage shares the question's words")
        if dense < MIN_DENSE and not self._names_found(question, hits[0]) and not self._terms_found(question, hits[0], dense, reworded):
            return False, "no passage is close to the question"
        # one unknown word among many ("... I'm her carer and I'm exhausted, is this normal ...") is not the topic
        if unknown and dense < MIN_DENSE_WITH_UNKNOWN_TERM \
                and UNKNOWN_SHARE * len(set(tokenize(own or question))) <= len(unknown):
            return False, "the reports never mention " + ", ".join(unknown)
        return True, ""

    def _names_found(self, question: str, hit: Hit) -> bool:
        """Whether the top passage holds the names the question asks about (two or more words the corpus uses in
        at most RARE_PASSAGES passages: "Mariam Khan"), which the embedding model reads poorly."""
        rare = {t for t in tokenize(question) if t.isalpha() and self.idf.get(t, 0.0) >= self._rare_idf}
        return len(rare) >= 2 and rare <= set(tokenize(hit.text))

    def _terms_found(self, question: str, hit: Hit, dense: float, reworded: tuple[tuple[str, str], ...] = ()) -> bool:
        """Whether the top passage (with its section path) holds most of the question's terms, weighted by rarity, but
        its councils' and its asking words: every one of three or more ("What did Suffolk bring back in-house?"), or
        TERMS_FOUND_SHARE of them with a similarity of at least MIN_DENSE_WITH_TERMS ("is it hard to set up a direct
        payment"): the model's similarity is low for short everyday questions against long passages. The reports'
        words the search adds for everyday ones are another way to find them, not more terms to find: "keep track"
        is found where the passage holds "keep", "track", "monitor" or "tool"."""
        councils = {t for c in hit.passage.councils for t in tokenize(c)}
        said = [(set(tokenize(everyday)), set(tokenize(theirs))) for everyday, theirs in reworded]
        added = {t for everyday, theirs in said for t in theirs - everyday}
        terms = {t for t in tokenize(question) if t.isalpha() and t not in _ASKING_WORDS} - councils - added
        found = set(tokenize(f"{hit.text} {' '.join(hit.passage.section)}"))
        held = (terms & found) | {t for everyday, theirs in said if theirs & found for t in everyday & terms}
        if len(terms) >= 3 and held == terms:
            return True
        weight = lambda ts: sum(self.idf.get(t, self.default_idf) for t in ts)
        return len(held) >= 2 and dense >= MIN_DENSE_WITH_TERMS and weight(held) >= TERMS_FOUND_SHARE * weight(terms)

    def distinctive(self, words: tuple[str, ...]) -> list[str]:
        """Those of these words whose terms few passages hold (DISTINCTIVE_SHARE at most): what a topic is about,
        beside the words every section uses ("people", "waiting", "assessment")."""
        return [w for w in dict.fromkeys(words) if any(self.idf.get(t, 0.0) >= self._distinctive_idf for t in tokenize(w))]

    @cached_property
    def _distinctive_idf(self) -> float:
        few = DISTINCTIVE_SHARE * len(self.index.passages)
        return math.log(1 + (len(self.index.passages) - few + 0.5) / (few + 0.5))

    @cached_property
    def _rare_idf(self) -> float:
        n = len(self.index.passages)
        return math.log(1 + (n - RARE_PASSAGES + 0.5) / (RARE_PASSAGES + 0.5))

    def attribution(self, doc_id: str, start: int, end: int) -> Answer | None:
        """Who said the quote at text[start:end]: the sentence naming the speaker ("said James Bullion, CQC's
        chief inspector"), looked for in the quote itself, then in the sentences before it in its passage."""
        passage = self.index.passage_at(doc_id, start)
        if passage is None:
            return None
        text = self.index.documents[doc_id].text
        spans = [(s, e) for s, e in sentence_spans(text, passage.start, passage.end) if s < end]
        for s, e in reversed(spans[-4:]):
            if _SAID.search(text[s:e]):
                return Answer(text[s:e], doc_id, s, e, 1.0, 0)
        return None

    def _with_items(self, hits: list[Hit], spans, texts: list[str], vectors: list) -> list:
        """The vectors of the spans, a list's introduction ("Key areas for improvement include:") read with
        its items: what it says is in them."""
        out = list(vectors)
        intros = [j for j, t in enumerate(texts) if t.rstrip().endswith(":")]
        if intros:
            whole = []
            for j in intros:
                i, s, e, _ = spans[j]
                text = self.index.documents[hits[i].passage.doc_id].text
                whole.append(text[s:self._with_list(text, s, e, hits[i].passage.end)])
            for j, v in zip(intros, self.embedder.encode(whole)):
                out[j] = v
        return out

    def _direction(self, polarity: tuple[tuple[str, ...], tuple[str, ...]]) -> np.ndarray:
        """From the mean of the opposite side's descriptions to the mean of the wanted side's (encoded once)."""
        if polarity not in self._directions:
            toward, away = (self.embedder.encode(list(texts)).mean(axis=0) for texts in polarity)
            self._directions[polarity] = toward - away
        return self._directions[polarity]

    @staticmethod
    def reading(query) -> dict:
        """What the picker reads of a parsed question (rag.query.Query), as arguments of pick() and ranked(): the
        councils it is about, what it asks for, what it counts, whose name, its topic (a follow-up's is the previous
        question's), whether it asks for the largest figure, and whether it is only keywords."""
        return dict(councils=query.councils, wants=query.wants, counted=query.counted, opinions=query.opinions,
                    role=query.role, topic=query.topic, extreme=query.extreme,
                    strict=not query.keywords)

    def pick(self, question: str, hits: list[Hit], councils: tuple[str, ...] = (), wants: str | None = None,
             counted: str | None = None, opinions: bool = False, role: str | None = None,
             topic: tuple[str, ...] = (), extreme: bool = False, strict: bool = True) -> Answer | None:
        """The best answering span. `councils`: the ones the question is about; sentences from passages
        about other councils count for less. `wants`: what the question asks for (Query.wants). `topic`: what it
        is about (Query.topic): a figure answers only in a span, or under a heading, sharing one of its words."""
        ranked = self.ranked(question, hits, councils, n=1, wants=wants, counted=counted, opinions=opinions, role=role,
                             topic=topic, extreme=extreme, strict=strict)
        return ranked[0] if ranked else None

    def features(self, question: str, hits: list[Hit], councils: tuple[str, ...] = (), wants: str | None = None,
                 polarity: tuple[tuple[str, ...], tuple[str, ...]] | None = None, counted: str | None = None,
                 opinions: bool = False, lede: bool = False, role: str | None = None, topic: tuple[str, ...] = (),
                 extreme: bool = False) -> tuple[list[tuple[int, int, int, bool]], dict[str, np.ndarray]]:
        """The candidate spans of the top passages and, for each, what it is scored on (each array one value per span).
        `counted`: what a "how many" question counts (Query.counted): a figure must be a count of it. `opinions`: the
        question asks what people thought (readers' comments count for more, else for less). `polarity`: two sets
        of descriptions (what is wanted, its opposite, cqc.FINDING_SIDES); spans closer in meaning to the first
        count for more ("doing well"), and a span leaning to the opposite side, or to neither, is not taken. `lede`
        (an overview): a paragraph's first sentence counts for more."""
        docs = [self.index.documents[h.passage.doc_id].text for h in hits]
        # a pointer to read more elsewhere answers nothing
        spans = [(i, s, e, pair) for i, s, e, pair in self._spans(hits, opinions) if not is_pointer(docs[i][s:e])]
        if polarity is not None:  # a finding is one sentence (two may join praise to a shortfall); a label is none
            spans = [(i, s, e, pair) for i, s, e, pair in spans if not pair
                     and (_FULL_STOP.search(docs[i][s:e]) or not _TITLE_LINE.match(docs[i][s:e]))]
        if not spans:
            return [], {}
        texts = [docs[i][s:e] for i, s, e, _ in spans]
        contexts = [_context(hits[i].passage) for i, *_ in spans]
        lexical = self._lexical(question, texts, contexts)
        if self.embedder is not None:  # span vectors stored at build time; only what is missing is encoded
            vectors = self.index.span_vectors([(hits[i].passage.doc_id, s, e) for i, s, e, _ in spans])
            missing = [j for j, v in enumerate(vectors) if v is None]
            q, *fresh = self.embedder.encode([question] + [texts[j] for j in missing])
            for j, v in zip(missing, fresh):
                vectors[j] = v
            dense = np.stack(vectors) @ q
            if polarity is not None:
                lean = np.stack(self._with_items(hits, spans, texts, vectors)) @ self._direction(polarity)
                dense = np.where(lean > MIN_LEAN, dense + POLARITY_WEIGHT * lean, -np.inf)
        else:
            dense = np.zeros(len(texts))
        kind = np.array([self._remember("kind", (wants, counted, role, extreme, t), lambda t=t: (
            (1.0 if not extreme or EXTREME.search(t) else EXTREME_SHORT) if self._has(wants, t, counted, role)
            else SHARE_OF_COUNTED if self._share_of(wants, t, counted) or self._holds_broader(wants, t, counted)
            else 0.0)) for t in texts])
        top = max(h.score for h in hits[:CANDIDATE_PASSAGES]) or 1.0
        rank = np.array([max(0.0, hits[i].score) / top for i, *_ in spans])
        length_ok = np.array([1.0 if len(t) <= MAX_ANSWER_CHARS else 0.5 for t in texts])
        # A title or label line (no sentence end: "Blackpool Council is working on a strategy ...") says less
        # than a sentence; it is kept only where nothing better is there.
        length_ok *= np.array([0.7 if _TITLE_LINE.match(t) and not _SENTENCE_END.search(t) else 1.0 for t in texts])
        elsewhere = np.array([0.6 if councils and hits[i].passage.councils
                              and not set(hits[i].passage.councils) & set(councils) else 1.0 for i, *_ in spans])
        # Two sentences hold more words than one: they win only by covering clearly more of the question.
        single = np.array([PAIR_FACTOR if pair else 1.0 for *_, pair in spans])
        comments = {i: any(map(is_comments_heading, hits[i].passage.section)) for i in {i for i, *_ in spans}}
        comment = [comments[i] for i, *_ in spans]
        if not opinions:  # a reader's figures (or the date of the comment) are not what the report states
            kind = np.where(comment, 0.0, kind)
        hearsay = np.array([(1 / COMMENT_FACTOR if opinions else COMMENT_FACTOR) if c else 1.0 for c in comment])
        if polarity is not None:  # a finding is the regulator's; a council spokesperson's reaction counts for less
            hearsay *= np.array([SPOKESPERSON_FACTOR if cqc.COUNCIL_SPOKESPERSON.search(t) else 1.0 for t in texts])
        if councils:  # a question about a council: the report's explanation of a term, or what the framework expects
            # of every council, is not what it found there
            hearsay *= np.array([DEFINITION_FACTOR if _DEFINITION.match(t) else 1.0 for t in texts])
            hearsay *= np.array([FRAMEWORK_FACTOR if t.strip()[:FRAMEWORK_PREFIX] in self._framework else 1.0 for t in texts])
        hearsay *= np.array([CAVEAT_FACTOR if _CAVEAT.match(t) else 1.0 for t in texts])
        if lede:  # an overview: a line's first sentence states its finding; the ones after it detail it
            hearsay *= np.array([LEDE_FACTOR if s == hits[i].passage.start or docs[i][s - 1:s] == "\n" else 1.0
                                 for i, s, _, _ in spans])
        features = {"lexical": lexical, "dense": dense, "kind": kind, "rank": rank, "length_ok": length_ok,
                    "elsewhere": elsewhere, "single": single, "hearsay": hearsay}
        words = {t for w in topic for t in tokenize(w)} - _TIME_WORDS
        words = cqc.same_counted(words)  # people: a population
        if words and wants in FIGURES:  # a figure is an answer only on the question's topic (see score)
            features["topical"] = np.array([not self._present(t, " ".join(hits[i].passage.section)).isdisjoint(words)
                                            for t, (i, *_) in zip(texts, spans)])
        return spans, features

    @staticmethod
    def score(f: dict[str, np.ndarray], wants: str | None = None, strict: bool = True) -> np.ndarray:
        """Each span's score from its features; -inf where it cannot answer (a figure asked for and not held). Not
        `strict` (keywords, not a question: "nottingham waiting times"), a figure is preferred, not required."""
        score = (W_LEXICAL * f["lexical"] + W_DENSE * f["dense"] + W_KIND * f["kind"] + W_RANK * f["rank"]) \
            * f["length_ok"] * f["elsewhere"] * f["single"] * f.get("hearsay", 1.0)
        if wants in FIGURES and strict:  # only a span holding the figure, from a passage about the council asked about
            # (the largest figure if that was asked and any span has it, else any; a count of what was asked if any
            # span has one, else a share of it: "17.70% of people")
            able = (f["kind"] > 0) & (f["elsewhere"] == 1.0) & f.get("topical", True)
            score = np.where(able & (f["kind"] >= (f["kind"][able].max() if able.any() else 0)), score, -np.inf)
        elif (wants in PREFERRED or wants in FIGURES) and (f["kind"] >= 1.0).any():
            # held in a passage about the council asked about (every passage, when none is asked about); if none
            # is, held elsewhere (another council's spokesperson) is no answer either, and the best span answers
            here = (f["kind"] >= 1.0) & (f["elsewhere"] == 1.0)
            if here.any():
                score = np.where(here, score, -np.inf)
        return score

    @staticmethod
    def _with_context(text: str, start: int, end: int, p_start: int, p_end: int) -> tuple[int, int]:
        """A sentence that leans on the one before it takes that one in, and so does the sentence after it that
        leans on it, while they fit the limit (a news article gives each sentence its own paragraph)."""
        sentences = sorted({(s, e) for s, e, pair in candidate_spans(text, p_start, p_end) if not pair})
        first = next((j for j, (s, _) in enumerate(sentences) if s == start), None)
        last = next((j for j, (_, e) in enumerate(sentences) if e == end), None)
        if first is None or last is None:
            return start, end
        if first > 0 and _LEANS_BACK.match(text[start:end]) and end - sentences[first - 1][0] <= MAX_ANSWER_CHARS:
            start = sentences[first - 1][0]
        if last + 1 < len(sentences) and _LEANS_BACK.match(text[sentences[last + 1][0]:sentences[last + 1][1]]) \
                and sentences[last + 1][1] - start <= MAX_ANSWER_CHARS:
            end = sentences[last + 1][1]
        return start, end

    def _with_cause(self, hits: list[Hit], i: int, start: int, end: int) -> tuple[int, int]:
        """A "why" answered by a sentence stating what is asked about ("23% of people stopped using direct
        payments") takes in the sentence after it, which explains it more often than not, unless it gives a cause
        itself or the two would not fit; where the next but one gives the cause and the next does not ("Some of the
        barriers found were due to ..."), the answer runs to it, or is it alone if that would not fit."""
        passage = hits[i].passage
        text = self.index.documents[passage.doc_id].text
        if _CAUSE.search(text, start, end):
            return start, end
        after = sorted((s, e) for s, e, pair in candidate_spans(text, passage.start, passage.end) if not pair and s >= end)
        if len(after) >= 2 and not _CAUSE.search(text, *after[0]) and _CAUSE.search(text, *after[1]):
            return (start, after[1][1]) if after[1][1] - start <= MAX_ANSWER_CHARS else after[1]
        if after and after[0][1] - start <= MAX_ANSWER_CHARS:
            return start, after[0][1]
        return start, end

    def finish(self, hits: list[Hit], span: tuple[int, int, int, bool], context: bool = False) -> tuple[str, int, int]:
        """(document id, start, end) of the answer a span gives: a short one with its heading and next line, an
        introduction with its list, with `context` a sentence with those it leans on or that lean on it, a very
        long sentence cut at a word (still verbatim)."""
        i, s, e, _ = span
        passage = hits[i].passage
        text = self.index.documents[passage.doc_id].text
        s, e = self._extend(text, s, e, passage.start, passage.end)
        if context:
            s, e = self._with_context(text, s, e, passage.start, passage.end)
        e = self._with_list(text, s, e, passage.end)
        if e - s > MAX_ANSWER_CHARS:
            cut = text.rfind(" ", s, s + MAX_ANSWER_CHARS)
            e = cut if cut > s else s + MAX_ANSWER_CHARS
        return passage.doc_id, s, e

    def ranked(self, question: str, hits: list[Hit], councils: tuple[str, ...] = (), n: int = 3,
               per_passage: int | None = None, wants: str | None = None, counted: str | None = None,
               opinions: bool = False, polarity: tuple[tuple[str, ...], tuple[str, ...]] | None = None,
               lede: bool = False, role: str | None = None, topic: tuple[str, ...] = (), extreme: bool = False,
               strict: bool = True) -> list[Answer]:
        """The n best answering spans, best first, none overlapping, at most `per_passage` from one passage.
        A question asking for a figure (FIGURES) is answered only by a span holding one. The other arguments:
        features()."""
        spans, f = self.features(question, hits, councils, wants, polarity, counted, opinions, lede, role, topic, extreme)
        if not spans:
            return []
        score = self.score(f, wants, strict)
        out: list[Answer] = []
        for best in np.argsort(-score, kind="stable"):
            if not np.isfinite(score[best]):
                break
            i = spans[best][0]
            doc_id, s, e = self.finish(hits, spans[best], context=polarity is None)
            if wants == "reason":
                s, e = self._with_cause(hits, i, s, e)
            if any(a.doc_id == doc_id and a.start < e and s < a.end for a in out) or (
                    per_passage is not None and sum(a.citation == i for a in out) >= per_passage):
                continue
            out.append(Answer(self.index.documents[doc_id].text[s:e], doc_id, s, e, float(score[best]), i))
            if len(out) == n:
                break
        return out
