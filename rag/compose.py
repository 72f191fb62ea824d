"""Composed answers: what the records say (overview, compare, rank, list, meaning, when), with the
report's own sentences quoted beside them.

A composed answer is ours, never shown as a quote: it is built from parsed records (rag/facts.py), each
figure linked to the passage that states it, and from verbatim sentences of the council's passages, which
are quoted as quotes with their source.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache

from . import cqc
from .answer import Answer, AnswerPicker
from .councils import short_name
from .facts import CouncilRecord, Fact, Facts
from .index import Index
from .query import Query
from .text import tokenize
from .types import SECTION_SEP, Hit

QUOTES_PER_COUNCIL = 2
# An article about several councils gives each one passage; its findings about one are several sentences there.
QUOTES_PER_PASSAGE = 3
# Across councils ("Which councils were praised for direct payments?"), a council is named when its best finding
# on the topic scores at least this share of the best council's.
ACROSS_MIN_SHARE = 0.6
REASONS = 3  # findings quoted for "why so low?"
FINDINGS_PER_COUNCIL = 4
QUOTE_MIN_SHARE = 0.6  # a further quote scores at least this share of the best one
_MARKDOWN = re.compile(r"^\s*(?:#{1,6}\s+|[-*+]\s+|\d+[.)]\s+)|\*\*|__|`", re.M)


@lru_cache(maxsize=8192)  # a search's ten passages, most of them seen before
def plain(text: str) -> str:
    """Text without Markdown marks (headings, bullets, bold), for clients that do not render Markdown."""
    return re.sub(r"[ \t]*\n[ \t]*\n\s*", "\n", _MARKDOWN.sub("", text)).strip()


# A report's sentence saying who came first at either end ("Lincolnshire performed best", "the worst-rated council").
_CAME = {end: re.compile(rf"\b(?:(?:performed|performing|did|came(?: out)?|comes(?: out)?|scored|scoring|rated|ranked)"
                         rf"(?: the)? (?:{words})|(?:{words})[- ](?:performing|performer|rated|scoring|scored))\b", re.I)
         for end, words in (("high", "best|highest|top|strongest"), ("low", "worst|lowest|bottom|weakest"))}


@dataclass
class Composed:
    lines: list[str]  # the statements shown, ours; quotes are written “…” with their source
    records: list[Fact] = field(default_factory=list)
    quotes: list[Answer] = field(default_factory=list)
    table: dict | None = None
    found: bool = True
    message: str = ""
    # the councils the answer turned out to be about when the question named none (a ranking's first): what the next
    # turn's "they" and "why?" mean
    about: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


def spelled_date(iso: str | None) -> str | None:
    if not iso:
        return None
    import datetime

    try:
        d = datetime.date.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{d.day} {d.strftime('%B %Y')}"


class Composer:
    def __init__(self, index: Index, facts: Facts, picker: AnswerPicker):
        self.index = index
        self.facts = facts
        self.picker = picker

    # --- pieces ---

    def _source(self, fact: Fact) -> dict:
        return {"doc": fact.doc_id, "start": fact.start, "end": fact.end}

    def _cell(self, text: str, fact: Fact | None = None) -> dict:
        return {"text": text, "source": self._source(fact) if fact else None}

    def _rating_line(self, rec: CouncilRecord) -> tuple[str, list[Fact]]:
        facts = []
        if rec.rating:
            line = f"{rec.name}: rated {rec.rating.value}"
            line += " (indicative, from the 2023 pilot)" if rec.rating.indicative else ""
            if rec.published and not rec.rating.indicative:
                line += f" (assessment published {spelled_date(rec.published)})"
            facts.append(rec.rating)
        else:
            line = f"{rec.name}: the reports here give no overall rating"
        scores = rec.scores_phrase()
        if scores:
            line += f"; of the nine quality statements, {scores}"
            facts.extend(rec.score_facts())
        return line + ".", facts

    def _quote_line(self, answer: Answer) -> str:
        doc = self.index.documents[answer.doc_id]
        text = plain(answer.text)
        quoted = text[:1] in "“\"" and text[-1:] in "”\""  # a quotation already: not marked twice
        return f"{text if quoted else f'“{text}”'} ({doc.title})"

    def _quotes(self, query: Query, hits: list[Hit], councils: tuple[str, ...], n: int,
                side: str | None = None, lede: bool = False) -> list[Answer]:
        """The council's own sentences that best answer the question, preferring the report's summary
        sections; at most QUOTES_PER_PASSAGE from one passage, none a pointer to read more elsewhere."""
        hits = [h for h in hits if self._about(h, councils)]
        summary = [h for h in hits if any(cqc.SUMMARY_HEADING.search(s) for s in h.passage.section)]
        ordered = summary[:3] + [h for h in hits if h not in summary[:3]]
        question = f"{query.search} {cqc.KIND_WORDING.get(query.kind, '')}".strip()
        quotes = self.picker.ranked(question, ordered, councils, n=n, per_passage=QUOTES_PER_PASSAGE, wants=query.wants,
                                    polarity=cqc.FINDING_SIDES.get(side or query.kind), lede=lede)
        return [q for q in quotes if q.score >= QUOTE_MIN_SHARE * quotes[0].score]

    def _about(self, hit: Hit, councils: tuple[str, ...]) -> bool:
        """Whether a passage is about one of these councils: in a document about it alone, or, in an article
        about several, under a heading that names it (not a passage naming all five pilot councils)."""
        if not set(councils) & set(hit.passage.councils):
            return False
        doc = self.index.documents[hit.passage.doc_id]
        if len(doc.councils) <= 1:
            return True
        return bool(set(councils) & set(self.facts.matcher.find(" ".join(hit.passage.section)))) \
            or set(hit.passage.councils) <= set(councils)

    def _records(self, councils) -> list[CouncilRecord]:
        return [rec for rec in (self.facts.get(c) for c in councils) if rec is not None]

    def all_records(self, query: Query) -> list[CouncilRecord]:
        recs = sorted(self.facts.councils.values(), key=lambda r: r.name)
        if query.pilot:
            recs = [r for r in recs if r.rating and r.rating.indicative]
        return recs

    # --- by kind ---

    def overview(self, query: Query, hits_by_council: dict[str, list[Hit]]) -> Composed | None:
        out = Composed([])
        for rec in self._records(query.councils):
            line, facts = self._rating_line(rec)
            out.lines.append(line)
            out.records.extend(facts)
            # the report's sentences behind the rating: its shortfalls for a poor one, its strengths for a good one
            side = "strengths" if rec.rating and rec.rating.value in ("Outstanding", "Good") else "improve"
            quotes = self._quotes(query, hits_by_council.get(rec.name, []), (rec.name,), QUOTES_PER_COUNCIL, side, lede=True)
            out.quotes.extend(quotes)
            out.lines.extend(self._quote_line(q) for q in quotes)
        return out if out.lines else None

    def findings(self, query: Query, hits_by_council: dict[str, list[Hit]]) -> Composed | None:
        """What the reports say a council does well (strengths) or must improve: its own sentences, quoted."""
        if not query.councils:
            return self._findings_across(query, hits_by_council)
        out = Composed([])
        headings = {"strengths": "does well", "improve": "needs to improve", "action": "is doing"}
        for name, hits in hits_by_council.items():
            side = query.kind
            if query.by_rating and (rec := self.facts.get(name)) and rec.rating:  # "why?" after their ratings
                side = "strengths" if rec.rating.value in ("Outstanding", "Good") else "improve"
            quotes = self._quotes(query, hits, (name,), FINDINGS_PER_COUNCIL, side)
            if quotes and query.judged and (rec := self.facts.get(name)) is not None:  # "Why was X rated ...?": what it was
                line, facts = self._rating_line(rec)
                out.lines.append(line if line.endswith(".") else line + ".")
                out.records.extend(facts)
            if quotes:
                out.lines.append(f"What the reports say {short_name(name)} {headings.get(side, 'says')}:"
                                 if query.kind != "list" else f"What the reports say about {short_name(name)}:")
                out.lines.extend("- " + self._quote_line(q) for q in quotes)
                out.quotes.extend(quotes)
        return out if out.quotes else None

    def reasons(self, query: Query, hits: list[Hit]) -> Composed | None:
        """Why a council scored what it did for a statement ("why so low?"): the report's findings under that
        statement and in its summary, drawn toward the shortfalls for a low score, the strengths for a high one."""
        rec = self.facts.get(query.councils[0])
        fact = rec.statements.get(query.statement) if rec else None
        side = "strengths" if fact and fact.value >= 3 else "improve"
        # with no score to explain, what the reports say of the statement by name, on either side
        quotes = [q for q in self.picker.ranked(f"{query.statement} {query.search}", hits, query.councils, n=REASONS + 2,
                                                per_passage=2, polarity=cqc.FINDING_SIDES[side] if fact else None)
                  if fact or query.statement.lower() in q.text.lower()][:REASONS]
        if not quotes:
            return None
        name = short_name(query.councils[0])
        head = (f"Why {name} scored {fact.value} for {query.statement}, in the report's words:" if fact
                else f"The reports here give no {query.statement} score for {name}; what they say about it:")
        return Composed([head, *("- " + self._quote_line(q) for q in quotes)], records=[fact] if fact else [],
                        quotes=quotes)

    def _findings_across(self, query: Query, hits_by_council: dict[str, list[Hit]]) -> Composed | None:
        """Which councils the reports praise (or fault) for something: each council's best sentence on it, kept
        for the councils whose sentence comes close to the best one's. Shown as what each report says, not
        sorted into praise and fault: the embedding model's lean is not reliable on one topic."""
        best = {}
        for name, hits in hits_by_council.items():
            # by the topic and the question's own words ("praised"): the embedding model's lean to a side is not
            # reliable for a sentence about one topic ("much higher rates of direct payments" leans to neither)
            hits = [h for h in hits if self._about(h, (name,))]
            quotes = [q for q in self.picker.ranked(query.search, hits, (name,), n=5, per_passage=QUOTES_PER_PASSAGE)
                      if _on_topic(query, q.text)]
            if quotes:
                best[name] = quotes[0]
        if not best:
            return None
        top = max(q.score for q in best.values())
        kept = [(name, q) for name, q in best.items() if q.score >= ACROSS_MIN_SHARE * top]
        kept.sort(key=lambda nq: -nq[1].score)
        out = Composed(["What the reports say on this, council by council:"])
        out.lines.extend(f"- {short_name(name)}: " + self._quote_line(q) for name, q in kept)
        out.quotes.extend(q for _, q in kept)
        return out

    def compare(self, query: Query, hits_by_council: dict[str, list[Hit]]) -> Composed | None:
        councils = list(query.councils)
        if len(councils) == 1:  # "is that worse than the others?": against every council with a rating
            councils += [r.name for r in self.all_records(query) if r.name not in councils and r.rating]
        recs = self._records(councils)
        if len(recs) < 2:
            return None
        topical = query.wants not in ("rating", "score") and _has_topic(query) and (
            len(query.named) >= 2 or (query.follow_up and len(query.councils) >= 2))  # "is that worse than X?"
        out = Composed([])
        rows = []
        # a statement's scores first where it is asked about ("is that worse than the others?" after its score), not
        # where the conversation's topic is a figure a statement was guessed from ("how does that compare to Lancashire?"
        # after carers' waits: the waits, side by side)
        statement = query.statement if query.statement_by == "name" or query.wants in ("rating", "score") \
            or not topical else None
        if statement:  # "is that worse than the others?" after a statement's score: that statement first
            scored = [(rec, f) for rec in recs if (f := rec.score_for(statement))]
            out.lines.extend(f"{rec.name}: {statement} {_scored(f)}." for rec, f in scored)
            ahead = sorted(scored, key=lambda rf: rf[1].value, reverse=True)
            if len(ahead) >= 2 and ahead[0][1].value != ahead[1][1].value:  # who comes out ahead on that statement
                low = query.order == "low"  # "which is worse?", "is that worse than the others?": the one behind
                rec, f = ahead[-1] if low else ahead[0]
                out.lines.insert(0, f"{rec.name} comes out {'behind' if low else 'ahead'} on {statement}: {f.value} of 4 "
                                    "against " + ", ".join(f"{short_name(r.name)}'s {g.value}" for r, g in scored if r is not rec) + ".")
            out.records.extend(f for _, f in scored)
            missing = [short_name(rec.name) for rec in recs if not rec.score_for(statement)]
            if missing:
                out.lines.append(f"The reports here give no {statement} score for {', '.join(missing)}.")
            out.lines.append("Overall:")
        for rec in recs:
            line, facts = self._rating_line(rec)
            out.lines.append(line)
            out.records.extend(f for f in facts if f not in out.records)
            cells = [self._cell(rec.rating.value if rec.rating else "not stated", rec.rating),
                     self._cell(rec.scores_phrase() or "not stated", (rec.score_facts() or [None])[0])]
            if statement:
                fact = rec.score_for(statement)
                cells.insert(0, self._cell(f"{fact.value} of 4" if fact else "not stated", fact))
            if topical:
                quotes = self._quotes(query, hits_by_council.get(rec.name, []), (rec.name,), QUOTES_PER_COUNCIL)
                out.quotes.extend(quotes)
                out.lines.extend(f"{short_name(rec.name)}: " + self._quote_line(q) for q in quotes)
                cells.append({"text": " ".join(plain(q.text) for q in quotes) or "the reports here don't say",
                              "source": {"doc": quotes[0].doc_id, "start": quotes[0].start, "end": quotes[0].end}
                              if quotes else None})
            rows.append({"header": rec.name, "cells": cells})
        if not statement and not topical and all(r.standing() is not None for r in recs):
            ahead = sorted(recs, key=lambda r: r.standing(), reverse=True)
            if ahead[0].standing() != ahead[1].standing():  # who comes out ahead, as the rank of councils orders them
                by = "its overall rating" if ahead[0].rating.value != ahead[1].rating.value else \
                    f"its quality statement scores (both rated {ahead[0].rating.value})" if len(recs) == 2 else \
                    "its overall rating, then its quality statement scores"
                if query.order == "low" and len(recs) == 2:  # "which is worse?": the one behind, named first
                    out.lines.insert(0, f"{ahead[-1].name} comes out behind on {by}.")
                else:
                    out.lines.insert(0, f"{ahead[0].name} comes out ahead on {by}.")
        columns = ["Council", *([statement] if statement else []), "Overall rating", "Quality statement scores"] \
            + (["What the reports say"] if topical else [])
        out.table = {"caption": "Comparison: " + ", ".join(short_name(r.name) for r in recs), "columns": columns,
                     "rows": rows}
        return out

    def rank(self, query: Query, hits: list[Hit] = ()) -> Composed | None:
        """Councils ranked by their records; across councils, with the report's own sentence naming the first as best
        (or worst) when its records' passages or `hits` hold one ("Lincolnshire performed best in this regard, gaining 3s across the
        board")."""
        if len(query.councils) == 1 and not query.across:
            return self._rank_statements(query, self.facts.get(query.councils[0]))
        if query.statement:
            return self._rank_by_statement(query)
        if query.score_value:
            return self._rank_by_count(query)
        recs = [r for r in self.all_records(query) if r.standing() is not None]
        if not recs:
            return None
        recs.sort(key=lambda r: r.standing(), reverse=query.order != "low")
        best = recs[0].standing()
        top = [r for r in recs if r.standing() == best]
        word = "lowest" if query.order == "low" else "highest"
        out = Composed([f"Ranked by overall rating, then by quality statement scores ({word} first):"])
        rows = []
        for n, rec in enumerate(recs, 1):
            line, facts = self._rating_line(rec)
            out.lines.append(f"{n}. {line}")
            out.records.extend(facts)
            rows.append({"header": str(n), "cells": [self._cell(rec.name),
                                                     self._cell(rec.rating.value, rec.rating),
                                                     self._cell(rec.scores_phrase() or "not stated",
                                                                (rec.score_facts() or [None])[0])]})
        lead = " and ".join(r.name for r in top)
        among = f"the {len(self.all_records(query))} {'pilot ' if query.pilot else ''}councils the reports here cover"
        out.lines.insert(0, f"{lead} {'come' if len(top) > 1 else 'comes'} {'last' if query.order == 'low' else 'first'} "
                            f"of {among}.")
        unrated = [r.name for r in self.all_records(query) if r.standing() is None]
        if unrated:
            out.lines.append("No rating stated for: " + ", ".join(unrated) + ".")
        out.about = tuple(r.name for r in top)
        if len(top) == 1 and (said := self._said_first(query, [*self._record_hits(top[0]), *hits], top[0].name)):
            out.lines.insert(1, "The reports say: " + self._quote_line(said))
            out.quotes.append(said)
        out.table = {"caption": f"Councils ranked ({word} first)",
                     "columns": ["Rank", "Council", "Overall rating", "Quality statement scores"], "rows": rows}
        return out

    def _record_hits(self, rec: CouncilRecord) -> list[Hit]:
        """The passages stating a council's records, as hits: where the report says how it did."""
        facts = [f for f in (rec.rating, *rec.score_facts()) if f is not None]
        passages = list(dict.fromkeys(f.passage for f in facts))
        return [Hit(p, self.index.text(p), 1.0) for p in passages]

    def _said_first(self, query: Query, hits: list[Hit], council: str) -> Answer | None:
        """Of the best answering sentences in `hits`, the first naming the council as coming first at the question's
        end of the order ("performed best", "came top"; "scored lowest")."""
        end, name = _CAME["low" if query.order == "low" else "high"], short_name(council).lower()
        return next((a for a in self.picker.ranked(query.search, list(hits), n=10)
                     if name in a.text.lower() and end.search(a.text)), None)

    def _rank_statements(self, query: Query, rec: CouncilRecord | None) -> Composed | None:
        """Within one council: its quality statements, highest (or lowest) score first (or, where the reports give
        only counts or a bound, that they give no score by statement, and what they do give)."""
        if rec is None:
            return None
        if not rec.statements and not rec.score_for(cqc.QUALITY_STATEMENTS[0]):  # nor all nine scored the same
            given = rec.score_facts()
            return Composed([f"The reports here give no score by quality statement for {rec.name}; they say only: "
                             + " ".join(f.summary() for f in given)], records=given) if given else None
        within = cqc.THEMES[query.theme][1] if query.theme and not query.statement else cqc.QUALITY_STATEMENTS
        facts = [f for s in within if (f := rec.score_for(s))]
        facts.sort(key=lambda f: f.value, reverse=query.order != "low")
        edge = facts[0].value
        chosen = [f for f in facts if f.value == edge] if query.order else facts
        head = (f"{rec.name}'s {'lowest' if query.order == 'low' else 'highest'} score was {edge} of 4 "
                f"({cqc.SCORE_MEANINGS[edge]}), in: " + "; ".join(f.statement for f in chosen) + "."
                if query.order else f"{rec.name}'s quality statement scores"
                + (f" in theme {query.theme}, {cqc.THEMES[query.theme][0]}:" if within is not cqc.QUALITY_STATEMENTS else ":"))
        if facts[0].of_all:  # read from a source giving all nine the same score: say so
            title = self.index.documents[facts[0].doc_id].title
            head = f"{head[:-1]} (all nine quality statements scored {edge}, as “{title}” says){head[-1]}"
        out = Composed([head], records=chosen)
        out.lines.extend(f"- {f.statement}: {f.value}" for f in (facts if not query.order else []))
        out.table = {"caption": f"{rec.name}: quality statement scores",
                     "columns": ["Quality statement", "Theme", "Score"],
                     "rows": [{"header": f.statement, "cells": [self._cell(str(cqc.theme_of(f.statement))),
                                                                self._cell(f"{f.value} of 4", f)]} for f in chosen]}
        return out

    def _rank_by_count(self, query: Query) -> Composed | None:
        """Councils by how many of their nine statements got a score ("which council had the most scores of 1?",
        "... the fewest 3s"), from the records that count them."""
        value, fewest = str(query.score_value), query.order == "low"
        counted = [(r, r.counts().get(value, 0)) for r in self.all_records(query) if r.counts()]
        if not counted:
            return None
        counted.sort(key=lambda rc: rc[1], reverse=not fewest)
        edge = counted[0][1]
        top = [r for r, n in counted if n == edge]
        word = "fewest" if fewest else "most"
        out = Composed([f"{' and '.join(r.name for r in top)} had the {word} quality statements scored {value}: "
                        f"{edge} of 9."], records=[f for r in top for f in r.score_facts()])
        out.lines.extend(f"{n}. {r.name}: {r.scores_phrase()}." for n, (r, _) in enumerate(counted, 1))
        unknown = [r.name for r in self.all_records(query) if not r.counts()]
        if unknown:
            out.lines.append("The reports here give no scores for: " + ", ".join(unknown) + ".")
        out.about = tuple(r.name for r in top)
        return out

    def _rank_by_statement(self, query: Query) -> Composed | None:
        recs = self.all_records(query)
        scored = [(r, f) for r in recs if (f := r.score_for(query.statement))]
        if not scored:
            return None
        scored.sort(key=lambda rf: rf[1].value, reverse=query.order != "low")
        rec, fact = scored[0]
        out = Composed([f"{rec.name}: {query.statement} {_scored(fact)}."], records=[f for _, f in scored])
        out.lines.extend(f"{r.name}: {f.value} of 4" + (" (all nine scored so)." if f.of_all else ".") for r, f in scored[1:])
        missing = [r.name for r in recs if not r.score_for(query.statement)]
        if missing:
            out.lines.append(f"The reports here give no {query.statement} score for: " + ", ".join(missing) + ".")
        return out

    def list(self, query: Query, hits: list[Hit] = ()) -> Composed | None:
        """The councils' records the question lists: one council's scores, the councils rated as it names (counted, for
        "how many", with the report's own sentence saying so from `hits`), or every council's rating."""
        if len(query.councils) == 1 and not query.across:  # its scores, if that is what is asked for
            rec = self.facts.get(query.councils[0])
            if query.wants not in ("score", "rating") or rec is None:
                return None
            if rec.statements:
                listed = self._rank_statements(query, rec)
                other = [w for w in query.topic if not set(tokenize(w)) & _SCORE_WORDS]
                if listed and other and not query.theme:  # "What score did Blackpool get for housing?": no statement is that
                    listed.lines.insert(0, f"None of the nine quality statements is about {' '.join(other)}.")
                return listed
            line, _ = self._rating_line(rec)  # only counts or a bound: say so, with the rating
            return Composed([line], records=rec.score_facts() + ([rec.rating] if rec.rating else [])) \
                if rec.score_facts() else None
        recs = self.all_records(query)
        if query.score_value and (query.statement or query.all_scored):
            return self._list_by_score(query, recs)
        if query.rating:
            chosen = [r for r in recs if r.rating and r.rating.value == query.rating]
            out = Composed([f"Rated {query.rating}: " + (", ".join(r.name for r in chosen) or "none") + "."],
                           records=[r.rating for r in chosen])
            counted = query.counted == "councils"
            if counted:  # "How many councils were rated good?"
                scope = "pilot councils" if query.pilot else "councils the reports here cover"
                out.lines[0] = f"{len(chosen)} of the {len(recs)} {scope} {'was' if len(chosen) == 1 else 'were'} " \
                               f"rated {query.rating}" + (": " + ", ".join(r.name for r in chosen) + "." if chosen else ".")
            # the report's own sentence giving that rating, counting them or naming one of them
            names = [short_name(r.name).lower() for r in chosen]
            said = next((a for a in self.picker.ranked(query.search, list(hits), n=5, wants="number" if counted else None,
                                                       counted="councils" if counted else None)
                         if query.rating.lower() in a.text.lower()
                         and (counted or any(n in a.text.lower() for n in names))), None)
            if said is not None:
                out.lines.append(self._quote_line(said))
                out.quotes.append(said)
            others = [f"{r.name} ({r.rating.value})" for r in recs if r.rating and r not in chosen]
            if others:
                out.lines.append("Not rated " + query.rating + ": " + ", ".join(others) + ".")
            return out
        out = Composed([f"The pilot councils in the reports here ({len(recs)}):" if query.pilot
                        else f"The reports here cover {len(recs)} councils:"])
        for rec in recs:
            line, facts = self._rating_line(rec)
            out.lines.append("- " + line)
            out.records.extend(facts)
        return out

    def _list_by_score(self, query: Query, recs: list[CouncilRecord]) -> Composed:
        """The councils that got a score for a statement ("Which councils scored 1 for safeguarding?"), or for all
        nine ("what councils got all 3s"), from their records; those whose records do not say, named as such."""
        value, statement = query.score_value, query.statement
        if statement:
            scored = [(r, f) for r in recs if (f := r.score_for(statement))]
            chosen = [(r, f) for r, f in scored if f.value == value]
            out = Composed([f"Scored {value} for {statement}: " + (", ".join(r.name for r, _ in chosen) or "none") + "."],
                           records=[f for _, f in chosen])
            others = [f"{short_name(r.name)} ({f.value})" for r, f in scored if f.value != value]
            if others:
                out.lines.append(f"Other {statement} scores: " + ", ".join(others) + ".")
                out.records.extend(f for r, f in scored if f.value != value)
            unknown = [r.name for r in recs if not r.score_for(statement)]
        else:
            every = {str(value): len(cqc.QUALITY_STATEMENTS)}
            counted = [r for r in recs if r.counts()]
            chosen = [r for r in counted if r.counts() == every]
            out = Composed([f"All nine quality statements scored {value}: " + (", ".join(r.name for r in chosen)
                                                                                 or "none") + "."],
                           records=[f for r in chosen for f in r.score_facts()])
            out.lines.extend(f"- {r.name}: {r.scores_phrase()}." for r in counted if r not in chosen)
            unknown = [r.name for r in recs if not r.counts()]
        if unknown:
            out.lines.append("The reports here give no such score for: " + ", ".join(unknown) + ".")
        return out

    def meaning(self, query: Query) -> Composed | None:
        text = query.corrected.lower()
        if re.search(r"\bquality statements\b", text):
            lines = ["The CQC assesses councils on nine quality statements in four themes:"]
            lines += [f"- Theme {n}, {name}: " + "; ".join(statements) for n, (name, statements) in cqc.THEMES.items()]
            return Composed(lines)
        if re.search(r"\b(grades|ratings)\b", text):
            return Composed(["The CQC rates a council's adult social care as one of: " + ", ".join(cqc.RATINGS)
                             + ". Each of the nine quality statements is scored 1 to 4: "
                             + "; ".join(f"{n} = {m}" for n, m in cqc.SCORE_MEANINGS.items()) + "."])
        return None

    def another_time(self, query: Query) -> str | None:
        """What the reports hold, when a rating or score is asked of a later or earlier time than theirs (or of a year
        no assessment of the council is from); None when the year asked is the assessment's."""
        records = self._records(query.councils)
        held = [f"{r.name}'s 2023 pilot assessment" if r.rating and r.rating.indicative else
                f"{r.name}'s assessment published {spelled_date(r.published)}" if r.published else f"{r.name}'s assessment"
                for r in records]
        years = {"2023" if r.rating and r.rating.indicative else (r.published or "")[:4] for r in records}
        if query.another_time.isdigit() and (not records or query.another_time in years):
            return None
        have = f"The reports here hold {' and '.join(held)}" if held else "The reports here are the CQC's assessments as published"
        if query.another_time == "later":
            return f"{have}; they cannot say what a later assessment will find, or when the CQC will assess again."
        if query.another_time == "earlier":
            return f"{have}, and no earlier rating or score."
        return f"{have}: none from {query.another_time}."

    def published(self, query: Query) -> Composed | None:
        recs = [r for r in self._records(query.councils) if r.published]
        if not recs or not re.search(r"\bpublish", query.corrected.lower()):
            return None
        return Composed([f"{r.name}: assessment published {spelled_date(r.published)}." for r in recs],
                        records=[r.rating for r in recs if r.rating])


# Words that name the scores themselves, not what a score is for.
_SCORE_WORDS = frozenset(tokenize("score scores scored quality statement statements theme themes rating ratings cqc "
                                  "overall its their nine all each every"))


def _scored(fact: Fact) -> str:
    """"scored 3 of 4 (Good: ...)", saying so where the score is read from all nine statements scoring it."""
    return f"scored {fact.value} of 4 ({cqc.SCORE_MEANINGS[fact.value]})" + (
        f", as all nine quality statements scored {fact.value}" if fact.of_all else "")


def _on_topic(query: Query, text: str) -> bool:
    """Whether a sentence is about the question's topic: it holds its words (all of one or two, else two in three)."""
    if not query.topic:
        return True
    topic = set(tokenize(" ".join(query.topic)))
    held = set(tokenize(text)) & topic
    return len(held) >= (len(topic) if len(topic) <= 2 else math.ceil(2 * len(topic) / 3))


def _has_topic(query: Query) -> bool:
    """Whether the question asks about something beyond ratings and scores ("shorter waiting lists")."""
    words = set(re.findall(r"[\w']+", query.corrected.lower()))
    return bool(words - {"compare", "and", "or", "vs", "versus", "the", "cqc", "ratings", "rating", "scores",
                         "score", "how", "do", "does", "did", "is", "better", "worse", "than", "which", "had",
                         "in", "pilot", "stack", "up", "against", "quality", "statement"}
                - {w.lower() for c in query.named for w in short_name(c).split()}
                - {f"{w.lower()}'s" for c in query.named for w in short_name(c).split()})


def source_json(answer: Answer, index: Index) -> dict:
    doc = index.documents[answer.doc_id]
    passage = index.passage_at(answer.doc_id, answer.start)
    return {"text": answer.text, "text_plain": plain(answer.text), "doc": doc.id, "title": doc.title,
            "section": SECTION_SEP.join(passage.section) if passage else "", "start": answer.start, "end": answer.end,
            "council": ", ".join(passage.councils) if passage else ""}
