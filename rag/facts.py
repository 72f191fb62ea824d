"""Ratings and scores as records, each with the passage of the source that states it.

- From a CQC local authority assessment: the council's overall rating and, for each of the nine
  quality statements, its theme and score (1-4) with the score's meaning.
- From news articles: ratings a sentence states for a council ("rated ... as 'requires improvement'",
  "Lincolnshire (indicative rating: good)") and counts of scores ("Nottingham (three 3s and six 2s)").

A question about a rating or score is answered from these records, quoting the stating passage.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from . import cqc
from .chunking import sentence_spans
from .councils import CouncilMatcher, short_name
from .documents import slugify
from .index import Index
from .text import NUMBER_WORDS
from .types import SECTION_SEP, Passage

_RATING_WORD = re.compile(r"\b(inadequate|requires improvement|good|outstanding)\b", re.I)
_RATING_CUE = re.compile(r"\b(rated|rating|ratings|grade|grades)\b", re.I)
_SCORE_LINE = re.compile(r"^\s*(?:#{1,6}\s*)?Score\s*:\s*([1-4])\b", re.I | re.M)
_COUNTS = re.compile(r"\(((?:(?:one|two|three|four|five|six|seven|eight|nine)\s+[1-4]s?(?:,\s*|\s+and\s+)?)+)\)", re.I)
_COUNT_PART = re.compile(r"(one|two|three|four|five|six|seven|eight|nine)\s+([1-4])", re.I)
_ACROSS_THE_BOARD = re.compile(r"\b([1-4])s across the board\b", re.I)
# "rated ... as “requires improvement” across all nine areas": each of the nine statements given that rating's score
_ACROSS_ALL = re.compile(r"\b(inadequate|requires improvement|good|outstanding)\W{0,3} (?:in |across )all (?:nine|9) "
                         r"(?:areas|quality statements|categories)\b", re.I)
# "None of the categories ... had a score above two": an article's bound on a council's nine scores.
_SCORE_ABOVE = re.compile(r"\b(?:none|no one|not one)\b[^.]{0,120}?\bscore (?:above|higher than|of more than) "
                          r"(one|two|three|[1-3])\b", re.I)
# The line after a score that spells out its meaning: "1 - Inadequate: Evidence shows significant shortfalls".
_MEANING_LINE = re.compile(r"\s*\n(?:\s*\n)*\s*(?:#{1,6}\s*)?[1-4]\s*-\s*[^\n]*evidence shows[^\n]*", re.I)
_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+\S.*$", re.M)


@dataclass
class Fact:
    council: str
    kind: str  # "rating" | "score" | "score_counts" | "score_max" | "meaning"
    value: object  # "Inadequate", 2, {"3": 8, "2": 1}
    doc_id: str
    start: int  # the verbatim text that states it: document text[start:end]
    end: int
    passage: Passage  # the passage it is in (cited first)
    statement: str | None = None
    indicative: bool = False
    explicitness: int = 0  # for a rating read from an article: 3 = the sentence names this council alone
    in_theme: bool = False  # a score quoted from the statement's own section (with its meaning), not the summary
    of_all: bool = False  # a statement's score read from a source giving all nine statements that score

    def json(self, index: Index) -> dict:
        out = {"kind": self.kind, "value": self.value, "council": self.council}
        if self.statement:
            number = cqc.theme_of(self.statement)
            out.update(statement=self.statement, theme=number, theme_name=cqc.THEMES[number][0] if number else None)
        if self.kind == "score":
            out["meaning"] = cqc.SCORE_MEANINGS[self.value]
        if self.kind == "rating":
            out["indicative"] = self.indicative
        out["summary"] = self.summary()
        doc = index.documents[self.doc_id]
        out["source"] = {"doc": self.doc_id, "title": doc.title, "section": SECTION_SEP.join(self.passage.section),
                         "start": self.start, "end": self.end, "text": doc.text[self.start:self.end]}
        return out


    def summary(self) -> str:
        """The record in a plain sentence (ours, not a quote: the page shows it apart from the quote)."""
        if self.kind == "score" and self.of_all:
            return (f"{self.council}, {self.statement}: score {self.value} of 4 ({cqc.SCORE_MEANINGS[self.value]}), as "
                    f"all nine quality statements scored {self.value}" + (" (indicative, from the pilot)." if self.indicative else "."))
        if self.kind == "score":
            return f"{self.council}, {self.statement}: score {self.value} of 4 ({cqc.SCORE_MEANINGS[self.value]})."
        if self.kind == "rating":
            return f"{self.council}: rated {self.value}" + (" (indicative, from the pilot)." if self.indicative else ".")
        if self.kind == "score_counts":
            return f"{self.council}, the nine quality statements: {counts_phrase(self.value)}" + (
                " (indicative, from the pilot)." if self.indicative else ".")
        if self.kind == "score_max":
            return f"{self.council}: no quality statement scored above {self.value} of 4."
        score = next(n for n, meaning in cqc.SCORE_MEANINGS.items() if meaning == self.value)
        return f"A score of {score} of 4 means {self.value}."


@dataclass
class CouncilRecord:
    name: str
    slug: str
    rating: Fact | None = None
    published: str | None = None
    statements: dict[str, Fact] = field(default_factory=dict)
    score_counts: Fact | None = None
    score_max: Fact | None = None
    ratings_stated: list[Fact] = field(default_factory=list)

    def counts(self) -> dict[str, int] | None:
        """How many statements got each score: from the nine scores, or the article's counts."""
        if self.statements:
            counts: dict[str, int] = {}
            for f in self.statements.values():
                counts[str(f.value)] = counts.get(str(f.value), 0) + 1
            return counts
        return self.score_counts.value if self.score_counts else None

    def standing(self) -> tuple[float, float] | None:
        """What ranks councils: the rating (Outstanding highest), then the mean score; None with no rating."""
        if self.rating is None:
            return None
        counts = self.counts()
        mean = sum(int(s) * n for s, n in counts.items()) / sum(counts.values()) if counts else 0.0
        return (len(cqc.RATINGS) - cqc.RATINGS.index(self.rating.value), mean)

    def score_for(self, statement: str) -> Fact | None:
        """Its score for a quality statement: the report's, or, where a source gives all nine the same score ("3s
        across the board"), that score, quoting that source."""
        if statement in self.statements:
            return self.statements[statement]
        counts = self.score_counts.value if self.score_counts else {}
        if len(counts) == 1 and sum(counts.values()) == len(cqc.QUALITY_STATEMENTS):
            c = self.score_counts
            return Fact(self.name, "score", int(next(iter(counts))), c.doc_id, c.start, c.end, c.passage,
                        statement=statement, indicative=c.indicative, of_all=True)
        return None

    def score_facts(self) -> list[Fact]:
        """The facts behind its scores: the nine statements, or the counts, or the bound."""
        if self.statements:
            return [self.statements[s] for s in cqc.QUALITY_STATEMENTS if s in self.statements]
        return [f for f in (self.score_counts, self.score_max) if f is not None]

    def scores_phrase(self) -> str | None:
        counts = self.counts()
        if counts:
            return counts_phrase(counts)
        if self.score_max:
            return f"none scored above {self.score_max.value}"
        return None

    def json(self, index: Index, full: bool = True) -> dict:
        out = {"council": self.name, "slug": self.slug,
               "rating": self.rating.value if self.rating else None,
               "indicative": self.rating.indicative if self.rating else None,
               "published": self.published,
               "scores": {f.statement: f.value for f in self.statements.values()},
               "score_counts": self.score_counts.value if self.score_counts else None,
               "score_counts_text": self._counts_text()}
        if full:
            out["rating_source"] = self.rating.json(index)["source"] if self.rating else None
            out["statements"] = [self.statements[s].json(index) for s in cqc.QUALITY_STATEMENTS if s in self.statements]
            out["score_counts_source"] = self.score_counts.json(index)["source"] if self.score_counts else None
            out["ratings_stated"] = [f.json(index) for f in self.ratings_stated]
        return out


    def _counts_text(self) -> str | None:
        """"3 scored 3, 6 scored 2": from the article's counts, or counted from the statement scores."""
        counts = self.counts()
        return counts_phrase(counts) if counts else None


def counts_phrase(counts: dict[str, int]) -> str:
    """{"3": 3, "2": 6} -> "3 scored 3, 6 scored 2" (highest score first)."""
    return ", ".join(f"{n} scored {score}" for score, n in sorted(counts.items(), key=lambda kv: -int(kv[0])))


class Facts:
    def __init__(self, index: Index):
        self.index = index
        self.councils: dict[str, CouncilRecord] = {}
        names = [c for d in index.documents.values() for c in d.councils]
        self.matcher = CouncilMatcher(names)
        for name in names:
            self.record(name)
        by_doc: dict[str, list[Passage]] = {}
        for p in index.passages:
            by_doc.setdefault(p.doc_id, []).append(p)
        for doc_id, passages in by_doc.items():
            doc = index.documents[doc_id]
            if doc.kind == "assessment" and len(doc.councils) == 1:
                self._read_assessment(self.record(doc.councils[0]), doc_id, passages)
            else:
                self._read_article(doc_id, passages)
        for rec in self.councils.values():
            rec.ratings_stated.sort(key=lambda f: -f.explicitness)  # sentences naming the council, alone, first
            if rec.rating is None and rec.ratings_stated:
                rec.rating = rec.ratings_stated[0]
        self.meanings = self._read_meanings()

    def record(self, name: str) -> CouncilRecord:
        slug = slugify(short_name(name))
        if slug not in self.councils:
            self.councils[slug] = CouncilRecord(name, slug)
        return self.councils[slug]

    def _read_assessment(self, rec: CouncilRecord, doc_id: str, passages: list[Passage]) -> None:
        doc = self.index.documents[doc_id]
        rec.published = rec.published or doc.date
        for p in passages:
            text = doc.text[p.start:p.end]
            if p.section and p.section[0].lower().startswith("local authority rating") and rec.rating is None:
                if m := _RATING_WORD.search(text):
                    rec.rating = Fact(rec.name, "rating", m.group(1).capitalize(), doc_id, p.start, p.end, p)
            statement = cqc.quality_statement(p.section[-1]) if p.section else None
            m = _SCORE_LINE.search(text)
            in_theme = bool(p.section) and cqc.theme_number(p.section[0]) is not None
            known = rec.statements.get(statement)
            if statement and m and (known is None or (in_theme and not known.in_theme)):
                # The summary ("Quality statement scores") states it first; the statement's own section in its
                # theme repeats it with its meaning, which is the fuller quote, so that one is kept where there is
                # one. Quote from the statement's own heading to the end of the score line (and its meaning line).
                headings = [h for h in _HEADING.finditer(text, 0, m.start()) if cqc.quality_statement(h.group().lstrip("# "))]
                start = p.start + (headings[-1].start() if headings else 0)
                end = m.end()
                if meaning := _MEANING_LINE.match(text, end):
                    end = meaning.end()
                rec.statements[statement] = Fact(rec.name, "score", int(m.group(1)), doc_id, start,
                                                 p.start + end, p, statement=statement, in_theme=in_theme)

    def _read_article(self, doc_id: str, passages: list[Passage]) -> None:
        doc = self.index.documents[doc_id]
        indicative = bool(re.search(r"\b(pilot|indicative)\b", doc.text, re.I))
        for p in passages:
            for s, e in sentence_spans(doc.text, p.start, p.end):
                sentence = doc.text[s:e]
                named = [c for c in self.matcher.find(sentence) if c in doc.councils]
                if not named and len(p.councils) == 1 and len(doc.councils) == 1:
                    named = list(p.councils)  # "rated us as ...", "the provision"
                if not named:
                    continue
                self._rating_from(sentence, named, doc_id, s, e, p, indicative)
                self._counts_from(sentence, doc_id, s, e, p, doc.councils, indicative)

    def _rating_from(self, sentence, named, doc_id, s, e, p, indicative) -> None:
        cues = [m.start() for m in _RATING_CUE.finditer(sentence)]
        words = list(_RATING_WORD.finditer(sentence))
        if not cues or not words:
            return
        word = min(words, key=lambda m: min(abs(m.start() - c) for c in cues))
        value = word.group(1).capitalize()
        for council in named:
            rec = self.record(council)
            fact = Fact(council, "rating", value, doc_id, s, e, p, indicative=indicative)
            fact.explicitness = (council in self.matcher.find(sentence)) * 2 + (len(named) == 1)
            same_doc = [f for f in rec.ratings_stated if f.doc_id == doc_id]
            if not same_doc:
                rec.ratings_stated.append(fact)
            elif fact.explicitness > same_doc[0].explicitness:
                rec.ratings_stated[rec.ratings_stated.index(same_doc[0])] = fact

    def _counts_from(self, sentence, doc_id, s, e, p, doc_councils, indicative) -> None:
        for m in _COUNTS.finditer(sentence):
            before = [c for c in self.matcher.find(sentence[:m.start()]) if c in doc_councils]
            if before:
                counts = {str(int(score)): NUMBER_WORDS[n.lower()] for n, score in _COUNT_PART.findall(m.group(1))}
                self._set_counts(before[-1], counts, doc_id, s, e, p, indicative)
        if (m := _SCORE_ABOVE.search(sentence)) and len(doc_councils) == 1:
            rec = self.record(doc_councils[0])
            if rec.score_max is None:
                value = NUMBER_WORDS.get(m.group(1).lower()) or int(m.group(1))
                rec.score_max = Fact(doc_councils[0], "score_max", value, doc_id, s, e, p)
        if m := _ACROSS_THE_BOARD.search(sentence):
            named = [c for c in self.matcher.find(sentence[:m.start()]) if c in doc_councils]
            if named:
                self._set_counts(named[-1], {m.group(1): len(cqc.QUALITY_STATEMENTS)}, doc_id, s, e, p, indicative)
        if m := _ACROSS_ALL.search(sentence):
            named = [c for c in self.matcher.find(sentence[:m.start()]) if c in doc_councils] \
                or (list(doc_councils) if len(doc_councils) == 1 else [])
            if named:
                score = cqc.RATING_SCORES[m.group(1).capitalize()]
                self._set_counts(named[-1], {str(score): len(cqc.QUALITY_STATEMENTS)}, doc_id, s, e, p, indicative)

    def _set_counts(self, council, counts, doc_id, s, e, p, indicative) -> None:
        rec = self.record(council)
        if rec.score_counts is None:
            rec.score_counts = Fact(council, "score_counts", counts, doc_id, s, e, p, indicative=indicative)

    def _read_meanings(self) -> dict[int, Fact]:
        """Where a report spells out a score: "1 - Inadequate: Evidence shows significant shortfalls"."""
        found: dict[int, Fact] = {}
        line = re.compile(r"^\s*(?:#{1,6}\s*)?([1-4])\s*-\s*(?:inadequate|requires improvement|good|outstanding)?\s*:?\s*evidence shows[^\n]*",
                          re.I | re.M)
        for p in self.index.passages:
            text = self.index.documents[p.doc_id].text
            for m in line.finditer(text, p.start, p.end):
                score = int(m.group(1))
                if score not in found or ("inadequate" in m.group(0).lower() and "inadequate" not in
                                          text[found[score].start:found[score].end].lower()):
                    end = min(m.end(), p.end)
                    found[score] = Fact("", "meaning", cqc.SCORE_MEANINGS[score], p.doc_id, p.start + (m.start() - p.start)
                                        + (len(m.group(0)) - len(m.group(0).lstrip())), end, p)
        return found

    def states_score(self, passage: Passage) -> bool:
        """Whether the passage states a statement's score ("Score: 1"), so is not a reason for it."""
        return bool(_SCORE_LINE.search(self.index.text(passage)))

    def get(self, council: str | None) -> CouncilRecord | None:
        return self.councils.get(slugify(short_name(council))) if council else None

    def lookup(self, query) -> Fact | None:
        """The record a rating or score question asks for (read from its Query), if there is one: a score's
        meaning; or, for one council, a statement's score, its scores in brief, or its rating."""
        if query.kind == "meaning" and query.score_value:
            return self.meanings.get(query.score_value)
        if query.kind == "meaning" and query.rating and not query.statement:  # "What does requires improvement mean?"
            return self.meanings.get(cqc.RATING_SCORES.get(query.rating))
        if query.kind == "meaning" and query.follow_up and query.statement and len(query.councils) == 1:
            # "What score did Blackpool get for safeguarding?" then "what does that mean?": that score's meaning
            fact = (rec := self.get(query.councils[0])) and rec.statements.get(query.statement)
            return self.meanings.get(fact.value) if fact else None
        if query.kind == "meaning" and query.follow_up and query.wants == "rating" and len(query.councils) == 1:
            # "Blackpool's rating?" then "what does that mean?": the meaning of the score its rating's word names
            rating = (rec := self.get(query.councils[0])) and rec.rating
            return self.meanings.get(cqc.RATING_SCORES.get(rating.value)) if rating else None
        if query.wants not in ("score", "rating") or len(query.councils) != 1 or query.kind not in ("factual", "list") \
                or query.opinions:  # "Did everyone think Birmingham deserved a good rating?" is not asking for it
            return None
        rec = self.get(query.councils[0])
        if rec is None or (query.kind == "list" and rec.statements):  # its nine scores are listed (compose.py)
            return None
        if query.statement:
            return rec.score_for(query.statement)
        if query.wants == "score":  # a bound an article states before counts read from its words ("across all nine")
            return rec.score_max or rec.score_counts
        return rec.rating

    def table(self) -> list[dict]:
        return [rec.json(self.index, full=False) for rec in sorted(self.councils.values(), key=lambda r: r.name)]
