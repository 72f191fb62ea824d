"""The operations every front end offers (CLI, JSON API, HTML pages), as plain JSON-ready dicts.

The service owns the loaded index and the retriever. Input a user can get wrong is checked here,
once, so the CLI and the API refuse it with the same message.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .answer import FIGURES, WANTED, Answer, AnswerPicker
from .compose import Composed, Composer, plain, source_json
from .embedding import get_query_batcher
from .config import Settings
from .conversation import ConversationStore
from .councils import CouncilGazetteer, short_name
from .text import tokenize
from .facts import Fact, Facts
from .query import FINDINGS_KINDS, Query, Understander, statement_centroids
from .errors import BadRequest, NotFound, RagError
from .extract import MEDIA_TYPES
from .index import DATA_FILES, MANIFEST, SPANS, VECTORS, Index, _sha256_file, current_build, file_signature, load_index
from .retrieval import Retriever
from .cqc import KIND_WORDING, SUMMARY_HEADING
from .types import SECTION_SEP, Hit


log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000
MAX_K = 50
CITATIONS = 5


def check_query(query: str | None) -> str:
    if len(query or "") > MAX_QUESTION_CHARS:  # as sent, white space included: what the schema states
        raise BadRequest(f"The question is {len(query)} characters long; the limit is {MAX_QUESTION_CHARS}. Shorten it.")
    query = (query or "").strip()
    if any("\ud800" <= ch <= "\udfff" for ch in query):
        raise BadRequest("The question contains an unpaired surrogate (e.g. \\ud800), which is not text; send valid Unicode.")
    if not query.replace("\ufeff", "").strip():  # blank: white space (Python's or JSON Schema's) only
        raise BadRequest("The question is empty: type a question, e.g. 'What score did Blackpool get for safeguarding?'")
    if len(query) > MAX_QUESTION_CHARS:
        raise BadRequest(f"The question is {len(query)} characters long; the limit is {MAX_QUESTION_CHARS}. Shorten it.")
    return query


def check_k(k: int) -> int:
    if not 1 <= k <= MAX_K:
        raise BadRequest(f"k must be between 1 and {MAX_K} (got {k}).")
    return k


def hit_json(hit: Hit, index: Index) -> dict:
    doc = index.documents[hit.passage.doc_id]
    return {
        "text": hit.text,
        "text_plain": plain(hit.text),
        "doc": doc.id,
        "title": doc.title,
        "section": SECTION_SEP.join(hit.passage.section),
        "section_path": list(hit.passage.section),
        "councils": list(hit.passage.councils),
        "start": hit.passage.start,
        "end": hit.passage.end,
        "pages": list(hit.passage.pages),  # pages of the original PDF ("p. 12"); [] for other formats
        "score": round(hit.score, 6),
        "scores": {name: round(v, 6) for name, v in hit.scores.items()},
    }


@dataclass(frozen=True)
class Loaded:
    """Everything built from one index build. A reload swaps the whole of it in one assignment, and a
    request takes it once, so it never mixes two builds."""
    retriever: Retriever
    answers: AnswerPicker
    facts: Facts
    gazetteer: CouncilGazetteer
    understander: Understander
    composer: Composer
    problems: tuple[str, ...] = ()  # why it answers less well than it could (no model: BM25 only)

    @property
    def index(self) -> Index:
        return self.retriever.index


class Service:
    def __init__(self, settings: Settings, dense: bool = True):
        self.settings = settings
        self.dense = dense
        self._lock = threading.Lock()
        self._watcher: threading.Thread | None = None
        self._failed: tuple | None = None  # (build, file signatures) of a build that would not load
        self._reload_error: str | None = None
        self._damaged: dict[str, str] = {}  # file of the serving build -> what changed
        self._watch_failed = False
        self.conversations = ConversationStore(settings.conversation_db,
                                               max_per_client=settings.conversations_per_client)
        self.loaded = self._load()

    def _load(self) -> Loaded:
        index = load_index(self.settings.index_dir, mmap_above=int(self.settings.vectors_mmap_mb * 2**20))
        return self._assemble(index)

    def _assemble(self, index: Index) -> Loaded:
        embedder, problems = None, []
        if self.dense and index.vectors is not None:
            from .embedding import get_embedder

            try:
                embedder = get_embedder(index.manifest["model"]["name"], quantized=self.settings.query_int8)
            except RagError as exc:
                log.warning("%s Searching with BM25 only.", exc)
                problems.append(f"{exc} Searching with BM25 only.")
        queries = get_query_batcher(embedder) if embedder is not None else None
        retriever = Retriever(index, queries)
        gazetteer = CouncilGazetteer(retriever.matcher)
        understander = Understander(retriever.matcher, gazetteer, [d.text for d in index.documents.values()], queries,
                                    statement_centroids(index) if queries is not None else None)
        answers, facts = AnswerPicker(index, queries), Facts(index)
        answers.warm()  # before this build serves: its first questions need not pay for it
        return Loaded(retriever, answers, facts, gazetteer, understander, Composer(index, facts, answers),
                      tuple(problems))

    @property
    def retriever(self) -> Retriever:
        return self.loaded.retriever

    @property
    def index(self) -> Index:
        return self.retriever.index

    @property
    def reload_error(self) -> str | None:
        """Why the build CURRENT names is not the one serving, if it could not be loaded."""
        return self._reload_error

    def reload_if_changed(self) -> bool:
        """Take up a newer build of the index, if one has been made. The new one is loaded beside the
        old, which keeps answering meanwhile; the swap is one assignment, so a request sees one or the
        other, never a mix. If the new build cannot be loaded, the old one stays, the reason is logged
        once and shown by /healthz, and that build is not tried again until one of its files changes."""
        with self._lock:
            build = current_build(self.settings.index_dir)
            if build is None or build == self.index.path:
                self._failed = self._reload_error = None
                return False
            attempt = (build, tuple(file_signature(build / name) for name in (MANIFEST, *DATA_FILES, VECTORS, *SPANS)))
            if attempt == self._failed:
                return False
            try:
                loaded = self._load()
            except Exception as exc:  # RagError: a bad build; anything else: a bug of ours. Either way keep serving.
                if isinstance(exc, RagError):
                    reason = str(exc)
                else:
                    reason = f"{exc.__class__.__name__}: {exc}"
                    log.exception("loading index build %s failed", build.name)
                self._failed = attempt
                self._reload_error = (f"Index build {build.name} could not be loaded, so build "
                                      f"{self.index.path.name} is still serving: {reason}")
                log.error("%s", self._reload_error)
                return False
            self.loaded = loaded
            self._failed = self._reload_error = None
            self._damaged = {}
            log.info("now serving index build %s", self.index.path.name)
            return True

    def check_files(self) -> list[str]:
        """Compare the serving build's files with what was verified at load. A file rewritten, truncated
        or removed since is reported (logged once, and in /healthz). The service keeps answering from
        what it loaded: everything is held in memory, except memory-mapped vectors (large indexes),
        which are dropped for BM25 only, since reading a shrunk mapping would kill the process."""
        with self._lock:
            index = self.index
            for name, signature in index.signatures.items():
                if name in self._damaged or name == MANIFEST:
                    continue
                path = index.path / name
                now = file_signature(path)
                if now == signature:
                    continue
                if now is not None and now[0] == (signature or (None,))[0] \
                        and _sha256_file(path) == index.manifest["files"].get(name):
                    index.signatures[name] = now  # touched or copied back unchanged: still what was verified
                    continue
                where = f"{name} of index build {index.path.name} changed on disk after it was loaded " \
                        f"(it no longer matches the manifest)"
                rebuild = f"Rebuild the index with: rag index --index-dir {self.settings.index_dir}"
                if name == VECTORS and index.vectors is not None and not index.vectors_in_memory:
                    message = f"{where}: searching with BM25 only. {rebuild}"
                    self.loaded = self._assemble(dataclasses.replace(index, vectors=None))
                elif name == SPANS[1] and isinstance(index.span_matrix, np.memmap):
                    message = f"{where}: answers encode their candidate sentences instead. {rebuild}"
                    self.loaded = self._assemble(dataclasses.replace(index, span_rows=None, span_matrix=None))
                else:
                    message = f"{where}; still answering from the copy verified at load. {rebuild}"
                self._damaged[name] = message
                log.error("%s", message)
            return list(self._damaged.values())

    def watch_once(self) -> bool:
        """One look at the index folder: take up a new build, check the serving one's files. False while
        something is wrong (a build that would not load), so the watcher can look less often."""
        try:
            self.reload_if_changed()
            self.check_files()
        except Exception:  # keep watching whatever happens, but say it once
            if not self._watch_failed:
                log.exception("checking the index failed")
            self._watch_failed = True
            return False
        self._watch_failed = False
        return self._reload_error is None

    def watch(self, interval: float = 1.0, max_interval: float = 60.0, sleep=time.sleep) -> None:
        """Look at the index every `interval` seconds in a background thread; while a build cannot be
        loaded, back off, doubling the wait up to `max_interval`. `sleep` is for tests."""
        if self._watcher is not None:
            return

        def run():
            delay = interval
            while True:
                sleep(delay)
                delay = interval if self.watch_once() else min(max_interval, delay * 2)

        self._watcher = threading.Thread(target=run, name="index-watcher", daemon=True)
        self._watcher.start()

    @property
    def mode(self) -> str:
        return self.retriever.mode

    def search(self, query: str, k: int = 10, council: str | None = None, doc: str | None = None,
               mode: str | None = None) -> dict:
        question, k = check_query(query), check_k(k)
        loaded = self.loaded  # one index build for the whole request, even if a reload swaps it meanwhile
        retriever = loaded.retriever
        mode = retriever.effective_mode(mode)
        retriever.candidate_mask(council, doc)  # an unknown council or document is refused before anything else
        parsed = loaded.understander.understand(question, council=council, for_search=True)
        fact = self._fact(loaded, parsed, council, doc)
        composed = None if fact else self._compose(loaded, parsed, council, doc, quotes=False)
        hits = self._rank(loaded, parsed, k, council=council or None, doc=doc or None, mode=mode, fact=fact,
                          records=composed.records if composed else ())
        # the passage the answer quotes comes first (the findings kinds are composed from findings,
        # which search does not gather)
        if fact is None and composed is None and parsed.kind not in FINDINGS_KINDS:
            hits = self._quoted_first(hits, self._quoted(loaded, parsed, hits)[0], loaded.index)
        elif composed is not None and composed.quotes:  # what a composed answer quotes comes first, as in its citations
            quoted = self._hits_for(loaded, composed.quotes)
            hits = (quoted + [h for h in hits if all(h.passage != q.passage for q in quoted)])[:k]
        return {"query": question, "searched_for": parsed.searched_for, "mode": mode,
                "results": [hit_json(h, retriever.index) for h in hits]}

    @staticmethod
    def _fact(loaded: Loaded, query: Query, council=None, doc=None) -> Fact | None:
        """The rating or score record the question asks for, if the filters let its passage through."""
        fact = loaded.facts.lookup(query)
        return fact if fact is not None and loaded.retriever.allows(fact.passage, council, doc) else None

    @staticmethod
    def _rank(loaded: Loaded, query: Query, k: int, council=None, doc=None, mode=None,
              fact: Fact | None = None, records: list[Fact] = ()) -> list[Hit]:
        """Ranked passages; the passages that state the record (or records) the answer uses come first."""
        retriever = loaded.retriever
        hits = retriever.search(query, k, council=council, doc=doc, mode=mode)
        stated = [f for f in ([fact] if fact else list(records)) if retriever.allows(f.passage, council, doc)]
        first: list[Hit] = []
        for f in stated:
            if any(h.passage == f.passage for h in first):
                continue
            hit = next((h for h in hits if h.passage == f.passage), None)
            hit = hit or Hit(f.passage, retriever.index.text(f.passage), hits[0].score if hits else 1.0)
            hit.scores["fact"] = 1.0
            first.append(hit)
        return (first + [h for h in hits if h not in first])[:k]

    def ask(self, question: str, conversation_id: str | None = None, council: str | None = None,
            doc: str | None = None, clear_scope: bool = False, client: str | None = None) -> dict:
        """A cited answer. The question and the conversation's previous turn are understood once into a
        Query; then passages are retrieved for it, the answer is quoted or composed from the records, and
        only then is the turn written to the conversation."""
        question = check_query(question)
        loaded = self.loaded
        retriever = loaded.retriever
        retriever.candidate_mask(council, doc)  # an unknown council or document is refused before anything else
        conv = self.conversations.get_or_create(conversation_id, client=client)
        previous = None if clear_scope or conv.last_query is None else Query.from_json(conv.last_query)
        # a document about one council filters to that council too ("What rating?" in Lancashire's report)
        doc_councils = loaded.index.documents[doc].councils if doc and doc in loaded.index.documents else ()
        council = council or (doc_councils[0] if len(doc_councils) == 1 else None)
        query = loaded.understander.understand(question, previous, council=council, previous_answer=conv.last_answer)
        reply = {"question": question, "query": query.json(), "searched_for": query.searched_for,
                 "answer": "", "answer_plain": "", "answer_kind": "none", "answer_label": None, "found": False,
                 "message": "", "answer_source": None, "fact": None, "records": [], "table": None, "quotes": [],
                 "citations": [], "council": query.councils[0] if query.councils else None,
                 "scope": {"councils": list(query.councils)}, "conversation_id": conv.id,
                 "mode": retriever.effective_mode(None),
                 # an id the store no longer has (ended, or never given): said, not passed over
                 "notice": f"That conversation has ended (conversations are kept for {self.conversations.max_age / 60:g} "
                           "minutes after their last question); this question starts a new one."
                           if conversation_id and conv.id != conversation_id else None}
        about: tuple[str, ...] = ()
        try:
            about = self._answer(loaded, query, reply, council, doc) or ()
        finally:
            source = reply["answer_source"]
            if about and not query.councils:  # "Which council did worst?" then "why?": why that one did
                query = dataclasses.replace(query, councils=about, mentioned=tuple(dict.fromkeys((*query.mentioned, *about))))
            if query.kind != "social":  # "thanks": the next question follows on from the one before it
                self.conversations.record(conv, query, (source["doc"], source["start"], source["end"]) if source else None)
        return reply

    def _answer(self, loaded: Loaded, query: Query, reply: dict, council, doc) -> tuple[str, ...]:
        """Fills in the reply; returns the councils a composed answer turned out to be about (Composed.about), if any."""
        retriever, index = loaded.retriever, loaded.index
        if query.kind == "social":
            reply["message"] = ("Ask another question about the councils' adult social care assessments, "
                                "for example how a council is doing or what it needs to improve.")
            return
        if query.uncovered and not query.named and not council:
            reply["message"] = (f"The reports here don't cover {', '.join(query.uncovered)}. "
                                f"They cover: {', '.join(retriever.councils())}.")
            return
        if council and query.named and query.councils and query.councils[0] not in query.named:
            # "What rating did Nottingham get?" with the filter on Blackpool: say so, not Blackpool's rating
            reply["message"] = (f"The question is about {', '.join(query.named)}, but the answers are filtered to "
                                f"{query.councils[0]}: clear the filter, or ask about {query.councils[0]}.")
            return
        if query.rated_by:  # "What is Blackpool's Ofsted rating?"
            reply["message"] = (f"The reports here are the CQC's assessments of councils' adult social care; they give "
                                f"no {query.rated_by} rating or score.")
            return
        if query.another_time and (message := loaded.composer.another_time(query)):
            reply["message"] = message  # "Will Blackpool be rated good next time?", "its rating in 2019?"
            return
        fact = self._fact(loaded, query, council, doc)
        composed = None if fact else self._compose(loaded, query, council, doc)
        hits = self._rank(loaded, query, 10, council=council or None, doc=doc or None, fact=fact,
                          records=composed.records if composed else ())
        reply["citations"] = [hit_json(h, index) for h in hits[:CITATIONS]]
        if composed is not None:
            reply.update(answer=composed.text, answer_plain=plain(composed.text), answer_kind="records", found=True,
                         records=[f.json(index) for f in composed.records], table=composed.table,
                         quotes=[source_json(q, index) for q in composed.quotes])
            if composed.quotes:  # the citations start with what the answer quotes
                quoted = [hit_json(h, index) for h in self._hits_for(loaded, composed.quotes)]
                keys = {(c["doc"], c["start"]) for c in quoted}
                reply["citations"] = (quoted + [c for c in reply["citations"] if (c["doc"], c["start"]) not in keys])[:CITATIONS]
            return composed.about
        if fact is not None:
            fact_json = fact.json(index)
            reply.update(answer=fact_json["source"]["text"], answer_plain=plain(fact_json["source"]["text"]),
                         answer_kind="quote", found=True, fact=fact_json, records=[fact_json],
                         answer_label=" — ".join(filter(None, [fact.council, fact.statement])) or None,
                         answer_source={"doc": fact.doc_id, "start": fact.start, "end": fact.end, "citation": 0})
            return
        if query.wants == "score" and query.statement and len(query.councils) == 1:
            rec = loaded.facts.get(query.councils[0])
            if rec is not None and not rec.statements and rec.score_facts():
                summary = rec.score_facts()[0].summary()
                reply["message"] = (f"The reports here give no {query.statement} score for {rec.name}; "
                                    f"they say only: {summary}")
                reply["records"] = [f.json(index) for f in rec.score_facts()]
                return
        answer, why = self._quoted(loaded, query, hits)
        if answer is None:
            reply["message"] = f"The reports don't answer that ({why or 'nothing close enough'}). The passages below may be related."
            return
        hits = self._quoted_first(hits, answer, index)
        reply["citations"] = [hit_json(h, index) for h in hits[:CITATIONS]]
        answer.citation, hit = 0, hits[0]
        label = None
        if hit is not None and hit.passage.councils and not any(
                n.lower() in answer.text.lower() for c in hit.passage.councils for n in (c, c.split()[0])):
            label = " — ".join([", ".join(hit.passage.councils), hit.passage.section[-1]] if hit.passage.section
                               else [", ".join(hit.passage.councils)])
        reply.update(answer=answer.text, answer_plain=plain(answer.text), answer_kind="quote", found=True,
                     answer_label=label,
                     answer_source={"doc": answer.doc_id, "start": answer.start, "end": answer.end,
                                    "citation": answer.citation})

    def _compose(self, loaded: Loaded, query: Query, council, doc, quotes: bool = True) -> Composed | None:
        """A composed answer for the kinds that have one; `quotes=False` (search): the records only."""
        composer = loaded.composer
        if query.wants == "reason" and query.judged and query.statement and len(query.councils) == 1 \
                and quotes:
            # "why so low?": that statement's findings for that council, not its score again
            hits = [h for h in loaded.retriever.search(f"{query.statement} key findings {query.search}", 30,
                                                       council=query.councils[0], doc=doc or None)
                    if not loaded.facts.states_score(h.passage)]
            # the report's summary where it names the statement first, then the findings under the statement
            index = loaded.index
            summary = [Hit(p, index.text(p), 1.0, {"summary": 1.0}) for p in index.passages
                       if query.councils[0] in p.councils and any(SUMMARY_HEADING.search(s) for s in p.section)
                       and query.statement.lower() in index.text(p).lower()]
            under = [h for h in hits if query.statement in h.passage.section]
            # a council whose reports give no score by statement (a news article): what they say of it by name
            named = [h for h in hits if query.statement.lower() in h.text.lower()]
            return composer.reasons(query, summary + (under or named))
        # findings: a council's own sentences on one side ("what does Blackpool do well?"), or every council's on a
        # topic ("Which councils had no waiting lists?": Query.across_findings)
        findings = query.kind in FINDINGS_KINDS or query.across_findings
        if query.kind in ("overview", "compare") or findings:
            if not quotes and findings:
                return None
            names = query.councils
            if not names and query.across and findings:
                names = tuple(r.name for r in composer.all_records(query))  # "Which councils were praised for ...?"
            per_council = self._per_council(loaded, query, names if quotes else (), doc, KIND_WORDING.get(query.kind, ""))
            if query.kind == "overview":
                return composer.overview(query, per_council)
            if query.kind == "compare":
                return composer.compare(query, per_council)
            return composer.findings(query, per_council)
        if query.kind == "rank":  # (searched: the report's own sentence saying who came first, if one does)
            return composer.rank(query, loaded.retriever.search(query, 10, doc=doc or None) if quotes else ())
        if query.kind == "list":
            # (searched for a search too: the sentence naming or counting them is the passage to show first)
            said = loaded.retriever.search(query, 10, doc=doc or None) if query.rating else ()
            listed = composer.list(query, said)
            if listed is None and query.councils and quotes:  # "List the long waits the CQC found in Lancashire"
                return composer.findings(query, self._per_council(loaded, query, query.councils, doc))
            return listed
        if query.kind == "meaning":
            return composer.meaning(query)
        if query.kind == "when":
            return composer.published(query)
        return None

    def _quoted(self, loaded: Loaded, query: Query, hits: list[Hit]) -> tuple[Answer | None, str]:
        """The quote that answers, or None and why not: the passages are too far from the question, or hold no
        figure of the kind asked for."""
        found, why = loaded.answers.supported(query.search, hits, query.reworded, query.places,
                                             query.corrected if query.follow_up else None)
        answer = self._quote(loaded, query, hits) if found else None
        if answer is not None and not query.keywords \
                and not loaded.answers.holds(query.wants, answer.text, query.counted, query.role):
            answer = None
        if found and answer is None and query.attribution and query.previous_answer:
            title = loaded.index.documents[query.previous_answer[0]].title
            why = f"its passage names no one as saying it: it is the text of “{title}” itself, as far as that shows"
        elif found and answer is None and query.swapped:
            why = (f"the passages about {', '.join(short_name(c) for c in query.named)} do not mention "
                   + " or ".join(loaded.answers.distinctive(query.topic)))
        elif found and answer is None and query.wants in FIGURES and not query.keywords:  # no passage holds the figure
            why = f"the closest passages give no {WANTED.get(query.wants, query.wants)}" + (
                f" of the {query.role}" if query.role else "")
        return answer, why

    @staticmethod
    def _quoted_first(hits: list[Hit], answer: Answer | None, index) -> list[Hit]:
        """The hits with the passage the answer quotes first (added if a follow-up's reasons or attribution came from
        passages searched apart): the answer picker reads every sentence of the top passages, so the passage
        holding the best answering sentence is the best passage (measured: README, "The answer's passage first")."""
        passage = index.passage_at(answer.doc_id, answer.start) if answer is not None else None
        if passage is None:
            return hits
        hit = next((h for h in hits if h.passage == passage), None) or Hit(passage, index.text(passage), 1.0, {"quoted": 1.0})
        return [hit] + [h for h in hits if h.passage != passage]

    def _quote(self, loaded: Loaded, query: Query, hits: list[Hit]) -> Answer | None:
        """The verbatim span that answers: for a follow-up asking who said it, the attribution of the previous
        quote; for "tell me more", the best sentence but the one already given; else the best sentence."""
        if query.attribution and query.previous_answer:  # the speaker its passage names, or no one (see _quoted)
            return loaded.answers.attribution(*query.previous_answer)
        reading = loaded.answers.reading(query)
        if (query.more or query.wants == "reason" or query.shifted) and query.previous_answer:
            # "tell me more", "why?" after a figure, or a new topic: the best answer that is not the one given
            doc, start, end = query.previous_answer
            ranked = loaded.answers.ranked(query.search, hits, n=3, **reading)
            return next((a for a in ranked if not (a.doc_id == doc and a.start < end and start < a.end)), None)
        if query.swapped and (terms := loaded.answers.distinctive(query.topic)):
            # "what about Lancashire?": a sentence on the same thing (or under a heading on it), not its general lines
            wanted = set(tokenize(" ".join(terms)))
            for a in loaded.answers.ranked(query.search, hits, n=10, **reading):
                passage = loaded.index.passage_at(a.doc_id, a.start)
                if passage is not None and set(passage.councils) & set(query.named) \
                        and wanted & set(tokenize(f"{a.text} {' '.join(passage.section)}")):
                    return a
            return None
        return loaded.answers.pick(query.search, hits, **reading)

    @staticmethod
    def _per_council(loaded: Loaded, query: Query, names, doc, extra: str = "") -> dict[str, list[Hit]]:
        """Each named council's top passages for the question (those the filters leave any), `extra` words searched too."""
        return {name: loaded.retriever.search(query, 10, council=name, doc=doc or None, extra=extra)
                for name in names if loaded.retriever.allows_council(name, doc)}

    @staticmethod
    def _hits_for(loaded: Loaded, answers: list[Answer]) -> list[Hit]:
        index = loaded.index
        out = []
        for a in answers:
            p = index.passage_at(a.doc_id, a.start)
            if p is not None and all(h.passage != p for h in out):
                out.append(Hit(p, index.text(p), 1.0, {"quoted": 1.0}))
        return out

    def councils(self) -> list[dict]:
        """Every council with its rating and quality statement scores, as parsed from the reports."""
        return self.loaded.facts.table()

    def council(self, slug: str) -> dict:
        facts = self.loaded.facts
        record = facts.councils.get(slug) or facts.get(slug)  # "Blackpool" as well as "blackpool"
        if record is None:
            raise NotFound(f"No council {slug!r}. Councils: {', '.join(sorted(facts.councils))}")
        return record.json(self.index)

    def documents(self) -> list[dict]:
        return [dict(d.meta(), passages=sum(1 for p in self.index.passages if p.doc_id == d.id))
                for d in self.index.documents.values()]

    def document(self, doc_id: str) -> dict:
        doc = self.index.documents.get(doc_id)
        if doc is None:
            raise NotFound(f"No document {doc_id!r}. See /api/documents for the documents there are.")
        return dict(doc.meta(), text=doc.text, page_starts=list(doc.page_starts), original=f"/documents/{doc.id}/original")

    def original(self, doc_id: str) -> tuple[Path, str, str]:
        """(path, media type, file name) of the file a document was read from, by its id in the loaded index."""
        doc = self.index.documents.get(doc_id)
        if doc is None:
            raise NotFound(f"No document {doc_id!r}. See /api/documents for the documents there are.")
        path = Path(doc.path)
        if not path.is_file():
            raise NotFound(f"The original file of {doc_id!r} is no longer on the server; its text is at /documents/{doc_id}.")
        return path, MEDIA_TYPES.get(doc.format, "application/octet-stream"), path.name

    def health(self) -> dict:
        """"ok", or "degraded" with the problems: a damaged or changed vector file, BM25 only, a newer
        build that would not load."""
        loaded = self.loaded
        index = loaded.index
        problems = [*index.problems, *loaded.problems, *self._damaged.values()]
        if self._reload_error:
            problems.append(self._reload_error)
        m = index.manifest
        return {"status": "degraded" if problems else "ok", "problems": problems, "mode": loaded.retriever.mode,
                "documents": len(index.documents), "passages": len(index.passages), "model": m["model"]["name"],
                "built_at": m["built_at"], "build": index.path.name,
                "worker": os.getpid()}  # which server process answered (rag serve --workers N runs N)
