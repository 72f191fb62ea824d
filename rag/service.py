"""The operations every front end offers (CLI, JSON API, HTML pages), as plain JSON-ready dicts.

The service owns the loaded index and the retriever. Input a user can get wrong is checked here,
once, so the CLI and the API refuse it with the same message.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
import threading
import time

from .answer import AnswerPicker
from .embedding import get_query_batcher
from .config import Settings
from .conversation import ConversationStore, is_follow_up
from .councils import CouncilGazetteer
from .facts import Fact, Facts
from .errors import BadRequest, NotFound, RagError
from .index import Index, current_build, load_index
from .retrieval import Retriever
from .types import SECTION_SEP, Hit

log = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000
MAX_K = 50
CITATIONS = 5


def check_query(query: str | None) -> str:
    query = (query or "").strip()
    if any("\ud800" <= ch <= "\udfff" for ch in query):
        raise BadRequest("The question contains an unpaired surrogate (e.g. \\ud800), which is not text; send valid Unicode.")
    if not query:
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
        "doc": doc.id,
        "title": doc.title,
        "section": SECTION_SEP.join(hit.passage.section),
        "section_path": list(hit.passage.section),
        "councils": list(hit.passage.councils),
        "start": hit.passage.start,
        "end": hit.passage.end,
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

    @property
    def index(self) -> Index:
        return self.retriever.index


class Service:
    def __init__(self, settings: Settings, dense: bool = True):
        self.settings = settings
        self.dense = dense
        self._lock = threading.Lock()
        self._watcher: threading.Thread | None = None
        self.conversations = ConversationStore(settings.conversation_db)
        self.loaded = self._load()

    def _load(self) -> Loaded:
        index = load_index(self.settings.index_dir)
        embedder = None
        if self.dense and index.vectors is not None:
            from .embedding import get_embedder

            try:
                embedder = get_embedder(index.manifest["model"]["name"], quantized=self.settings.query_int8)
            except RagError as exc:
                log.warning("%s Searching with BM25 only.", exc)
        queries = get_query_batcher(embedder) if embedder is not None else None
        retriever = Retriever(index, queries)
        return Loaded(retriever, AnswerPicker(index, queries), Facts(index), CouncilGazetteer(retriever.matcher))

    @property
    def retriever(self) -> Retriever:
        return self.loaded.retriever

    @property
    def index(self) -> Index:
        return self.retriever.index

    def reload_if_changed(self) -> bool:
        """Take up a newer build of the index, if one has been made. The new one is loaded beside the
        old, which keeps answering meanwhile; the swap is one assignment, so a request sees one or the
        other, never a mix. If the new build cannot be loaded, the old one stays."""
        with self._lock:
            if current_build(self.settings.index_dir) in (None, self.index.path):
                return False
            try:
                loaded = self._load()
            except RagError as exc:
                log.warning("kept index build %s: the new one could not be loaded (%s)", self.index.path.name, exc)
                return False
            self.loaded = loaded
            log.info("now serving index build %s", self.index.path.name)
            return True

    def watch(self, interval: float = 1.0) -> None:
        """Check for a new index build every `interval` seconds, in a background thread."""
        if self._watcher is not None:
            return

        def run():
            while True:
                time.sleep(interval)
                try:
                    self.reload_if_changed()
                except Exception:  # keep watching whatever happens
                    log.exception("index reload failed")

        self._watcher = threading.Thread(target=run, name="index-watcher", daemon=True)
        self._watcher.start()

    @property
    def mode(self) -> str:
        return self.retriever.mode

    def search(self, query: str, k: int = 10, council: str | None = None, doc: str | None = None,
               mode: str | None = None) -> dict:
        query, k = check_query(query), check_k(k)
        loaded = self.loaded  # one index build for the whole request, even if a reload swaps it meanwhile
        retriever = loaded.retriever
        mode = retriever.effective_mode(mode)
        fact = self._fact(loaded, query, council, doc)
        hits = self._rank(loaded, query, k, council=council or None, doc=doc or None, mode=mode, fact=fact)
        return {"query": query, "mode": mode, "results": [hit_json(h, retriever.index) for h in hits]}

    @staticmethod
    def _fact(loaded: Loaded, question: str, council=None, doc=None, about=None, before="") -> Fact | None:
        """The rating or score record the question asks for, if the filters let its passage through."""
        fact = loaded.facts.lookup(question, about or council, before=before)
        return fact if fact is not None and loaded.retriever.allows(fact.passage, council, doc) else None

    @staticmethod
    def _rank(loaded: Loaded, query: str, k: int, council=None, doc=None, mode=None, prefer=(),
              fact: Fact | None = None) -> list[Hit]:
        """Ranked passages; with a record, the passage that states it comes first."""
        retriever = loaded.retriever
        hits = retriever.search(query, k, council=council, doc=doc, mode=mode, prefer=prefer)
        if fact is None:
            return hits
        first = next((h for h in hits if h.passage == fact.passage), None)
        first = first or Hit(fact.passage, retriever.index.text(fact.passage), hits[0].score if hits else 1.0)
        first.scores["fact"] = 1.0
        return [first] + [h for h in hits if h.passage != fact.passage][:k - 1]

    def ask(self, question: str, conversation_id: str | None = None, council: str | None = None,
            doc: str | None = None) -> dict:
        """A cited answer. Within a conversation, a question that names no council keeps the council of
        the turns before it, and an elliptical follow-up ("and for safeguarding?") is searched together
        with the question it follows. Ratings and scores are answered from the parsed records."""
        question = check_query(question)
        loaded = self.loaded
        retriever, index = loaded.retriever, loaded.index
        conv = self.conversations.get_or_create(conversation_id)
        named = retriever.matcher.find(question)
        if council and retriever.matcher.resolve(council) is None:
            retriever.candidate_mask(council=council)  # raises the "councils covered" message
        about = (retriever.matcher.resolve(council) if council else None) or (named[0] if named else conv.council)
        # What a follow-up leans on: the last question that was not itself a follow-up, so a chain
        # ("and for safeguarding?", "and for equity?") keeps what the first question asked.
        previous = next((q for q in reversed(conv.questions) if not is_follow_up(q)), "")
        follow_up = bool(previous) and not named and is_follow_up(question)
        query = f"{question} {previous}" if follow_up else question
        reply = {"question": question, "answer": "", "found": False, "message": "", "answer_source": None,
                 "fact": None, "citations": [], "council": about, "conversation_id": conv.id,
                 "mode": retriever.effective_mode(None)}
        self.conversations.record(conv, question, about)

        uncovered = loaded.gazetteer.not_covered(question)
        if uncovered and not named and not council:
            reply["message"] = (f"The reports here don't cover {', '.join(uncovered)}. "
                                f"They cover: {', '.join(retriever.councils())}.")
            return reply

        fact = self._fact(loaded, question, council, doc, about=about, before=previous if follow_up else "")
        hits = self._rank(loaded, query, 10, council=council or None, doc=doc or None,
                          prefer=(about,) if about else (), fact=fact)
        reply["citations"] = [hit_json(h, index) for h in hits[:CITATIONS]]
        if fact is not None:
            fact_json = fact.json(index)
            reply.update(answer=fact_json["source"]["text"], found=True, fact=fact_json,
                         answer_source={"doc": fact.doc_id, "start": fact.start, "end": fact.end, "citation": 0})
            return reply
        found, why = loaded.answers.supported(question, hits)
        answer = loaded.answers.pick(question, hits, councils=(about,) if about else ()) if found else None
        if answer is None:
            reply["message"] = f"The reports don't answer that ({why}). The passages below may be related."
            return reply
        reply.update(answer=answer.text, found=True,
                     answer_source={"doc": answer.doc_id, "start": answer.start, "end": answer.end,
                                    "citation": answer.citation})
        return reply

    def councils(self) -> list[dict]:
        """Every council with its rating and quality statement scores, as parsed from the reports."""
        return self.loaded.facts.table()

    def council(self, slug: str) -> dict:
        facts = self.loaded.facts
        record = facts.councils.get(slug)
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
        return dict(doc.meta(), text=doc.text)

    def health(self) -> dict:
        m = self.index.manifest
        return {"status": "ok", "mode": self.mode, "documents": len(self.index.documents),
                "passages": len(self.index.passages), "model": m["model"]["name"], "built_at": m["built_at"],
                "build": self.index.path.name}
