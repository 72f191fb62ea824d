"""Build, save, load and verify the on-disk index.

Layout of an index folder:
    CURRENT               name of the build in use; replaced atomically (os.replace) when a build completes
    build-<time>-<pid>/   manifest.json, documents.json, passages.json, bm25.json, vectors.faiss,
                          spans.json + spans.npy (the answer picker's candidate sentences and their vectors)

A build writes a new build folder and only then points CURRENT at it, so an interrupted build never
touches the index in use. Documents whose text, metadata and chunking are unchanged keep their
passages and vectors; only changed documents are embedded again.
"""
from __future__ import annotations

import bisect
import hashlib
import io
import json
import logging
import os
import shutil
import time
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path

import faiss
import numpy as np

from . import chunking
from .config import Settings
from .councils import passage_councils
from .documents import load_documents
from .errors import IndexDamaged, IndexMissing
from .manifest import read_manifest
from .text import TOKENIZER_VERSION, _MARKS, tokenize
from .types import SECTION_SEP, Document, Passage
from .vectors import build_vector_index

log = logging.getLogger(__name__)

FORMAT_VERSION = 2  # 2: passages carry their pages, documents their format and page map
CHUNKER_VERSION = 2  # 2: readers' comments under an article are a section of their own
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
DATA_FILES = ("documents.json", "passages.json", "bm25.json")
VECTORS = "vectors.faiss"
EXTRACTED = "extracted"  # text read from web pages and PDFs, by the file's SHA-256 (rag/extract)
SPANS = ("spans.json", "spans.npy")  # {doc id: [[start, end], ...]} and one vector per span, in that order


def passage_context(passage: Passage, text: str) -> str:
    """What is indexed for a passage: the context it lacks on its own (the councils it is about, its
    section path), then its text. The document title is left out: repeated on every passage of a
    document it only blurs the words it shares with the questions ("assessment", "CQC")."""
    head = [", ".join(passage.councils), SECTION_SEP.join(passage.section)]
    return ". ".join(h for h in head if h) + ".\n" + _MARKS.sub(" ", text)


# BM25 counts a passage's councils and heading path this many times (its text once): the report's own headings
# ("Timeliness of assessments", "Direct payments") name its topic better than most of its words. Measured
# with rag eval --no-answers: pool factual validation hit@1 0.571 -> 0.607, eval/questions_extra.jsonl
# 0.750 -> 0.800; pool factual tuning (0.724) and eval/questions.jsonl (0.900) unchanged.
SECTION_WEIGHT = 2


def passage_terms(passage: Passage, text: str) -> list[str]:
    """The BM25 terms of a passage: its context and text (passage_context), its councils and heading path again."""
    head = ". ".join(h for h in (", ".join(passage.councils), SECTION_SEP.join(passage.section)) if h)
    return tokenize(head) * (SECTION_WEIGHT - 1) + tokenize(passage_context(passage, text))


def with_councils(doc: Document, passages: list[Passage]) -> list[Passage]:
    return [replace(p, councils=passage_councils(doc.councils, SECTION_SEP.join(p.section), doc.text[p.start:p.end]))
            for p in passages]


@dataclass
class Index:
    """An index loaded into memory."""
    path: Path
    manifest: dict
    documents: dict[str, Document]
    passages: list[Passage]
    tokens: list[list[str]]
    vectors: faiss.Index | None  # None when the vector file is missing or damaged: BM25 only
    span_rows: dict[tuple[str, int, int], int] | None = None  # (doc id, start, end) -> row of span_matrix
    span_matrix: np.ndarray | None = None  # vectors of the answer picker's candidate spans, from the build
    problems: list[str] = field(default_factory=list)  # what is wrong with the build as loaded
    signatures: dict[str, tuple | None] = field(default_factory=dict)  # file -> file_signature at load
    vectors_in_memory: bool = True  # False: memory-mapped (MappedVectors)

    def text(self, passage: Passage) -> str:
        return self.documents[passage.doc_id].text[passage.start:passage.end]

    @cached_property
    def _by_doc(self) -> dict[str, tuple[list[int], list[Passage]]]:
        by_doc: dict[str, list[Passage]] = {}
        for p in self.passages:
            by_doc.setdefault(p.doc_id, []).append(p)
        out = {}
        for doc_id, ps in by_doc.items():
            ps.sort(key=lambda p: p.start)
            out[doc_id] = ([p.start for p in ps], ps)
        return out

    def passage_at(self, doc_id: str, offset: int) -> Passage | None:
        """The passage of the document that holds the character at `offset` (a quote's start), or None."""
        starts, ps = self._by_doc.get(doc_id, ([], []))
        i = bisect.bisect_right(starts, offset) - 1
        return ps[i] if i >= 0 and offset < ps[i].end else None

    def span_vectors(self, keys: list[tuple[str, int, int]]) -> list[np.ndarray | None]:
        """The stored vector of each (doc id, start, end) span, or None where the build did not store one."""
        if self.span_rows is None or self.span_matrix is None:
            return [None] * len(keys)
        rows = [self.span_rows.get(key) for key in keys]
        return [None if row is None else self.span_matrix[row] for row in rows]


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _write_json(path: Path, data) -> None:
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False)
        f.flush()
        os.fsync(f.fileno())


def _document_key(doc: Document, settings: Settings) -> str:
    """Changes whenever the document's passages or their vectors would change."""
    parts = [doc.sha256, doc.title, "|".join(doc.councils), str(CHUNKER_VERSION), ",".join(map(str, doc.page_starts)),
             str(settings.target_passage_chars), str(settings.max_passage_chars), settings.model]
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


def current_build(index_dir: Path) -> Path | None:
    pointer = index_dir / CURRENT
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    if not name or "/" in name or name.startswith("."):
        return None
    return index_dir / name


def _previous_vectors(index_dir: Path) -> dict[str, tuple[list[Passage], np.ndarray, list | None, np.ndarray | None]]:
    """Passages, their vectors, spans and span vectors (None if that build has none) of the current index
    by document key, to reuse; empty if there is none usable."""
    try:
        old = load_index(index_dir)
    except (IndexMissing, IndexDamaged):
        return {}
    if old.vectors is None:
        return {}
    all_vectors = old.vectors.reconstruct_n(0, old.vectors.ntotal)
    by_doc: dict[str, list[int]] = {}
    for i, p in enumerate(old.passages):
        by_doc.setdefault(p.doc_id, []).append(i)
    spans_of: dict[str, list[tuple[int, int]]] = {}
    for doc_id, s, e in old.span_rows or ():
        spans_of.setdefault(doc_id, []).append((s, e))
    reuse = {}
    for entry in old.manifest["documents"]:
        rows = by_doc.get(entry["id"], [])
        spans = spans_of.get(entry["id"], []) if old.span_matrix is not None else None
        span_vectors = (old.span_matrix[[old.span_rows[(entry["id"], s, e)] for s, e in spans]]
                        if spans is not None else None)
        reuse[entry["key"]] = ([old.passages[i] for i in rows], all_vectors[rows], spans, span_vectors)
    return reuse


def is_up_to_date(index_dir: Path, documents: list[Document], settings: Settings) -> bool:
    build = current_build(index_dir)
    if build is None:
        return False
    try:
        manifest, _ = read_manifest(build / MANIFEST, "", FORMAT_VERSION)
    except IndexDamaged:
        return False
    return (manifest.get("model", {}).get("name") == settings.model
            and manifest.get("vectors", False)
            and manifest.get("spans", False)
            and manifest.get("tokenizer") == TOKENIZER_VERSION
            and [d.get("key") for d in manifest.get("documents", [])]
            == [_document_key(d, settings) for d in documents])


@dataclass
class BuildResult:
    path: Path
    documents: int
    passages: int
    embedded: int  # passages embedded in this build (the rest were reused)
    up_to_date: bool = False


def build_index(settings: Settings, sources: list[Path] | None = None, progress: bool = False,
                force: bool = False) -> BuildResult:
    """Load, chunk, embed and write a new index; point CURRENT at it once every file is on disk.

    Embedded: each new or changed document's passages (with their context) and the answer picker's
    candidate spans (rag/answer.py, candidate_spans), so that answering encodes only the question.
    `progress`: a bar per file and per batch on a terminal, plain lines otherwise."""
    from .answer import candidate_spans
    from .embedding import get_embedder
    from .progress import Progress

    index_dir = settings.index_dir
    documents = load_documents(sources or [settings.corpus_dir], int(settings.max_file_mb * 2**20),
                               cache_dir=index_dir / EXTRACTED)
    if not force and is_up_to_date(index_dir, documents, settings):
        manifest = json.loads((current_build(index_dir) / MANIFEST).read_text(encoding="utf-8"))
        return BuildResult(current_build(index_dir), len(documents), manifest["passage_count"], 0, True)

    reuse = {} if force else _previous_vectors(index_dir)
    embedder = get_embedder(settings.model)
    passages: list[Passage] = []
    vectors: list[np.ndarray] = []
    to_embed: list[tuple[int, str]] = []  # (row, text)
    spans: dict[str, list[tuple[int, int]]] = {}
    span_vectors: list[np.ndarray] = []
    spans_to_embed: list[tuple[int, str]] = []  # (row, text)
    entries = []
    files = Progress(len(documents), "chunking", "files", progress)
    for doc in documents:
        key = _document_key(doc, settings)
        doc_spans = doc_span_vectors = None
        if key in reuse:
            doc_passages, doc_vectors, doc_spans, doc_span_vectors = reuse[key]
            doc_passages = [replace(p, doc_id=doc.id) for p in doc_passages]
        else:
            doc_passages = with_councils(doc, chunking.chunk_document(doc, settings.target_passage_chars,
                                                                      settings.max_passage_chars))
            doc_vectors = None
        first = len(passages)
        passages.extend(doc_passages)
        if doc_vectors is not None:
            vectors.append(doc_vectors)
        else:
            vectors.append(np.zeros((len(doc_passages), embedder.dimension), dtype=np.float32))
            to_embed.extend((first + i, passage_context(p, doc.text[p.start:p.end]))
                            for i, p in enumerate(doc_passages))
        first_span = sum(len(v) for v in span_vectors)
        if doc_spans is None or doc_span_vectors is None:
            doc_spans = list(dict.fromkeys((s, e) for p in doc_passages
                                           for s, e, _ in candidate_spans(doc.text, p.start, p.end)))
            doc_span_vectors = np.zeros((len(doc_spans), embedder.dimension), dtype=np.float32)
            spans_to_embed.extend((first_span + i, doc.text[s:e]) for i, (s, e) in enumerate(doc_spans))
        spans[doc.id] = doc_spans
        span_vectors.append(doc_span_vectors)
        entries.append({"id": doc.id, "path": doc.path, "sha256": doc.sha256, "key": key,
                        "passages": len(doc_passages)})
        files.update()
    files.close()

    empty = np.zeros((0, embedder.dimension), dtype=np.float32)
    matrix = np.concatenate(vectors) if vectors else empty
    span_matrix = np.concatenate(span_vectors) if span_vectors else empty
    if to_embed or spans_to_embed:
        log.info("embedding %d passages (%d reused) and %d answer spans", len(to_embed),
                 len(passages) - len(to_embed), len(spans_to_embed))
        bar = Progress(len(to_embed) + len(spans_to_embed), "embedding", "texts", progress)
        try:
            embedded = embedder.encode_many([t for _, t in to_embed] + [t for _, t in spans_to_embed], progress=bar)
        finally:
            bar.close()
        matrix[[row for row, _ in to_embed]] = embedded[:len(to_embed)]
        span_matrix[[row for row, _ in spans_to_embed]] = embedded[len(to_embed):]
    by_id = {d.id: d for d in documents}
    tokens = [passage_terms(p, by_id[p.doc_id].text[p.start:p.end]) for p in passages]

    index_dir.mkdir(parents=True, exist_ok=True)
    build = index_dir / f"build-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**6}"
    staging = index_dir / f".{build.name}.partial"
    staging.mkdir()
    try:
        _write_json(staging / "documents.json", [dict(d.meta(), path=d.path, text=d.text, page_starts=list(d.page_starts))
                                                  for d in documents])
        _write_json(staging / "passages.json", [[p.doc_id, list(p.section), p.start, p.end, list(p.councils), list(p.pages)]
                                                 for p in passages])
        _write_json(staging / "bm25.json", tokens)
        vector_index, vector_kind = build_vector_index(matrix)  # flat (exact) at today's sizes
        faiss.write_index(vector_index, str(staging / VECTORS))
        _write_json(staging / SPANS[0], spans)
        with open(staging / SPANS[1], "wb") as f:
            np.save(f, span_matrix)
            f.flush()
            os.fsync(f.fileno())
        manifest = {
            "format_version": FORMAT_VERSION,
            "model": {"name": settings.model, "dimension": embedder.dimension},
            "chunking": {"version": CHUNKER_VERSION, "target_chars": settings.target_passage_chars,
                         "max_chars": settings.max_passage_chars},
            "documents": entries,
            "tokenizer": TOKENIZER_VERSION,
            "passage_count": len(passages),
            "vectors": True,
            "vector_index": vector_kind,
            "spans": True,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "files": {name: _sha256_file(staging / name) for name in (*DATA_FILES, VECTORS, *SPANS)},
        }
        _write_json(staging / MANIFEST, manifest)
        _seal(staging)
        os.rename(staging, build)
        _point_current(index_dir, build.name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _remove_old_builds(index_dir, keep={build.name})
    return BuildResult(build, len(documents), len(passages), len(to_embed))


def _seal(build: Path) -> None:
    """A build is written once: its files are made read-only (0444) before it is published, so a later
    tool or user writing into the build in use is refused (root excepted, which the checks catch)."""
    for path in build.iterdir():
        path.chmod(0o444)


def _point_current(index_dir: Path, name: str) -> None:
    tmp = index_dir / f".{CURRENT}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(name + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, index_dir / CURRENT)
    fd = os.open(index_dir, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _builder_alive(name: str) -> bool:
    """Whether the process that named this build folder ("build-<time>-<pid>-<n>") is still running."""
    try:
        pid = int(name.lstrip(".").split("-")[2])
        os.kill(pid, 0)
    except (IndexError, ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return pid != os.getpid()


def _remove_old_builds(index_dir: Path, keep: set[str]) -> None:
    """All builds but the newest two (a server still loading the one before keeps its files), and
    partial builds whose builder died (an interrupted or killed `rag index`)."""
    builds = sorted((c for c in index_dir.iterdir() if c.is_dir() and c.name.startswith("build-")),
                    key=lambda c: c.stat().st_mtime, reverse=True)
    for old in builds[2:]:
        if old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)
    for child in index_dir.iterdir():
        if child.name.startswith(".build-") and child.name.endswith(".partial") and not _builder_alive(child.name):
            shutil.rmtree(child, ignore_errors=True)


class MappedVectors:
    """A memory-mapped vector index that checks its file before each search. Pages of a mapped file that
    shrinks in place (an in-place copy of a backup, an rsync, a full disk) cannot be read any more: the
    process dies with SIGBUS. So before each use the file's size, inode and modification time are
    compared with those verified at load, and a change raises IndexDamaged (a 503 for that request)
    instead; the index watcher then switches the service to BM25 (Service.check_files)."""

    def __init__(self, index: faiss.Index, path: Path, signature: tuple):
        self._index, self.path, self.signature = index, path, signature

    def _check(self) -> None:
        if file_signature(self.path) != self.signature:
            raise IndexDamaged(f"The vector file {self.path} changed while it was in use; searching with BM25 "
                               f"only from the next request. Rebuild the index with: rag index")

    GUARDED = ("search", "reconstruct", "reconstruct_n", "reconstruct_batch")

    def __getattr__(self, name):
        if name in ("get_xb", "storage"):  # no raw view of the mapping: every read goes through _check
            raise AttributeError(name)
        attr = getattr(self._index, name)  # ntotal, d, ...: held in memory, safe to read
        if name not in self.GUARDED:
            return attr

        def checked(*args, **kwargs):
            self._check()
            return attr(*args, **kwargs)

        return checked


def file_signature(path: Path) -> tuple | None:
    """What changes when a file is rewritten, truncated or replaced: size, inode, modification time."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_ino, st.st_mtime_ns


def _read_vectors(path: Path, expected_sha256: str | None, mmap_above: int) -> tuple[faiss.Index | None, bool]:
    """The vectors, verified against the manifest's checksum; (None, _) if missing or damaged. Files up to
    `mmap_above` bytes are read into memory and the copy that was checksummed is the one used, so nothing
    done to the file afterwards can reach it (True: in memory). Larger ones are memory-mapped read-only
    (the worker processes share one copy in the page cache) and guarded by MappedVectors (False)."""
    signature = file_signature(path)
    if signature is None or expected_sha256 is None:
        return None, True
    if signature[0] <= mmap_above:
        try:
            data = path.read_bytes()
        except OSError:
            return None, True
        if hashlib.sha256(data).hexdigest() != expected_sha256:
            return None, True
        return faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8)), True
    if _sha256_file(path) != expected_sha256:
        return None, False
    for flags in (getattr(faiss, "IO_FLAG_MMAP_IFC", None), faiss.IO_FLAG_MMAP, 0):
        if flags is not None:
            try:
                mapped = faiss.read_index(str(path), flags | faiss.IO_FLAG_READ_ONLY if flags else 0)
                break
            except RuntimeError:
                continue
    if file_signature(path) != signature:  # changed while being checked or mapped
        return None, False
    return MappedVectors(mapped, path, signature), False


DEFAULT_MMAP_ABOVE = 256 * 2**20


def load_index(index_dir: Path, mmap_above: int = DEFAULT_MMAP_ABOVE) -> Index:
    """Load and verify the current build. One clear message, saying what to run, if it cannot be used.
    A missing or damaged vector file leaves BM25 only, said in Index.problems (shown by /healthz)."""
    rebuild = f"Rebuild it with: rag index --index-dir {index_dir}"
    build = current_build(index_dir)
    if build is None:
        raise IndexMissing(f"No index found in {index_dir}. Build it with: rag index --index-dir {index_dir}")
    manifest, checked = read_manifest(build / MANIFEST, rebuild, FORMAT_VERSION)
    files = checked.files
    signatures = {MANIFEST: file_signature(build / MANIFEST)}
    contents = {}
    for name in DATA_FILES:
        path = build / name
        signatures[name] = file_signature(path)
        try:
            data = path.read_bytes()
        except OSError:
            data = None
        if data is None or hashlib.sha256(data).hexdigest() != files.get(name):
            raise IndexDamaged(f"The index in {index_dir} is damaged: {name} is missing, truncated or altered. {rebuild}")
        contents[name] = data  # the bytes checked are the bytes parsed
    try:
        documents = {}
        for d in json.loads(contents["documents.json"]):
            documents[d["id"]] = Document(d["id"], d["title"], tuple(d["councils"]), d["kind"], d["date"],
                                          d["path"], d["text"], d["sha256"], d["format"], tuple(d["page_starts"]))
        passages = [Passage(doc_id, tuple(section), start, end, tuple(councils), tuple(pages))
                    for doc_id, section, start, end, councils, pages in json.loads(contents["passages.json"])]
        tokens = json.loads(contents["bm25.json"])
    except (ValueError, KeyError, TypeError) as exc:
        raise IndexDamaged(f"The index in {index_dir} could not be read ({exc.__class__.__name__}). {rebuild}")
    if len(passages) != checked.passage_count or len(tokens) != len(passages):
        raise IndexDamaged(f"The index in {index_dir} is inconsistent (passage counts differ). {rebuild}")

    problems = []
    vector_path = build / VECTORS
    signatures[VECTORS] = file_signature(vector_path)
    vectors, in_memory = _read_vectors(vector_path, files.get(VECTORS), mmap_above)
    if vectors is None:
        problems.append(f"The vector file of build {build.name} is missing or does not match its manifest: "
                        f"searching with BM25 only. {rebuild}")
    elif vectors.ntotal != len(passages):
        problems.append(f"The vector file of build {build.name} does not match its passages: searching with "
                        f"BM25 only. {rebuild}")
        vectors = None
    for name in SPANS:
        signatures[name] = file_signature(build / name)
    span_rows, span_matrix = _read_spans(build, files, vectors is not None, mmap_above)
    for problem in problems:
        log.warning("%s", problem)
    return Index(build, manifest, documents, passages, tokens, vectors, span_rows, span_matrix, problems=problems,
                 signatures=signatures, vectors_in_memory=in_memory)


def _read_spans(build: Path, files: dict, wanted: bool, mmap_above: int = 0):
    """The answer spans' keys and vectors, or (None, None) if the build has none usable: the answer
    picker then encodes the spans it needs. Like the vectors, a file up to `mmap_above` bytes is read
    into memory and the bytes checked are the bytes used; a larger one is memory-mapped."""
    if not wanted or not all(name in files for name in SPANS):
        return None, None
    try:
        data = (build / SPANS[0]).read_bytes()
        if hashlib.sha256(data).hexdigest() != files[SPANS[0]]:
            raise ValueError(f"{SPANS[0]} is altered")
        keys = json.loads(data)
        path = build / SPANS[1]
        if path.stat().st_size <= mmap_above:
            raw = path.read_bytes()
            if hashlib.sha256(raw).hexdigest() != files[SPANS[1]]:
                raise ValueError(f"{SPANS[1]} is altered")
            matrix = np.load(io.BytesIO(raw))
        else:
            if _sha256_file(path) != files[SPANS[1]]:
                raise ValueError(f"{SPANS[1]} is altered")
            matrix = np.load(path, mmap_mode="r")
        rows = {(doc_id, s, e): i for i, (doc_id, s, e)
                in enumerate((doc_id, s, e) for doc_id, pairs in keys.items() for s, e in pairs)}
        if len(rows) != len(matrix):
            raise ValueError("spans and their vectors differ in number")
    except (OSError, ValueError, TypeError) as exc:
        log.warning("The answer spans of the index in %s are unusable (%s): answers will encode them.", build, exc)
        return None, None
    return rows, matrix
