"""Adding and removing reports while the service runs (POST /api/documents, DELETE /api/documents/{id}).

A file is checked before anything is written: its type is sniffed from its content (not its name),
its size is within RAG_MAX_FILE_MB, it is not empty, a PDF has a text layer (one without is refused:
it may be a scanned image), and the same bytes are not already in the corpus (SHA-256). It is then
stored in the corpus folder under a name made here (a slug of its file name, never a path from the
request) and the index is rebuilt in the background with the usual atomic build (rag/index.py
build_index), which the running service then takes up. A job records how far that has got, for the
page to poll. A build that fails leaves the index in use as it was, and the file is taken back out.

Jobs live in the memory of the process that took the upload: with `rag serve --workers N` a status
request may reach another worker (which answers 404); uploads are meant for a single-worker server.
"""
from __future__ import annotations

import hashlib
import logging
import os
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

from .documents import read_text, slugify
from .errors import RagError, UnsupportedFile
from .extract import EXTENSIONS, sniff

log = logging.getLogger(__name__)

MAX_NAME = 80  # characters of the slug a stored file is named by
_SUFFIX = {"markdown": ".md", "text": ".txt", "html": ".html", "pdf": ".pdf"}
_KEEP_JOBS = 200


class UploadRefused(RagError):
    """A file that cannot be added, with the reason; status_code set per case."""

    def __init__(self, message: str, status_code: int = 422):
        super().__init__(message)
        self.status_code = status_code


@dataclass
class Job:
    id: str
    action: str  # "add" | "delete"
    doc: str  # the document id it adds or removes
    file: str  # the stored file's name
    state: str = "queued"  # queued | indexing | serving | failed
    message: str = ""
    started: float = field(default_factory=time.time)
    finished: float | None = None

    @property
    def done(self) -> bool:
        return self.state in ("serving", "failed")

    def json(self) -> dict:
        out = asdict(self)
        out["done"] = self.done
        out["status_url"] = f"/api/uploads/{self.id}"
        out["page_url"] = f"/add-report/{self.id}"
        out["document_url"] = f"/documents/{self.doc}" if self.action == "add" and self.state == "serving" else None
        return out


def safe_stem(filename: str) -> str:
    """A slug of the last part of a client's file name ("../../etc/passwd" -> "passwd")."""
    name = PureWindowsPath(PurePosixPath(filename or "").name).name
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    slug = slugify(stem)[:MAX_NAME].strip("-")
    return slug or "report"


_PDFIUM = threading.Lock()  # pdfium must not be called from two threads at once


def _pdf_has_text(data: bytes, name: str) -> None:
    """Quick check with pdfium (the full extraction runs in the background build)."""
    with _PDFIUM:
        _pdf_text_check(data, name)


def _pdf_text_check(data: bytes, name: str) -> None:
    import pypdfium2

    try:
        pdf = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as exc:
        raise UploadRefused(f"{name}: could not be read as a PDF ({exc}); it may be damaged or password-protected")
    pages = len(pdf)
    try:
        for i in range(pages):
            if pdf[i].get_textpage().get_text_range().strip():
                return
    finally:
        pdf.close()
    raise UploadRefused(f"{name}: no text could be read from the PDF ({pages} pages); it may be a scanned image. "
                        f"Add a PDF with a text layer (run it through OCR first) or the report's web page.")


class Uploads:
    def __init__(self, settings, service):
        self.settings = settings
        self.service = service
        self.jobs: dict[str, Job] = {}
        self._lock = threading.Lock()  # jobs and corpus files
        self._build_lock = threading.Lock()  # one build at a time

    # --- checks ---

    def check(self, filename: str, data: bytes) -> tuple[str, str]:
        """(kind, sha256) of an acceptable upload; UploadRefused with the reason otherwise."""
        name = PurePosixPath(filename or "file").name or "file"
        limit = int(self.settings.max_file_mb * 2**20)
        if not data.strip():
            raise UploadRefused(f"{name}: the file is empty. Choose a report: Markdown, text, a saved web page or a PDF.")
        if len(data) > limit:
            raise UploadRefused(f"{name}: {len(data) / 2**20:.1f} MB is over the {self.settings.max_file_mb:g} MB limit "
                                f"for one report (RAG_MAX_FILE_MB).", 413)
        kind = sniff(data)
        if kind is None:
            raise UploadRefused(f"{name}: this is not a report file this service reads (it looks like an image, an "
                                f"archive or a word-processor file). Send Markdown, plain text, a saved web page "
                                f"(.html) or a PDF.", 415)
        if kind == "text" and EXTENSIONS.get(Path(name).suffix.lower()) == "markdown":
            kind = "markdown"
        if kind == "pdf":
            _pdf_has_text(data, name)  # quick; the full reading (seconds for a long report) is the build's
        else:
            try:
                extracted = read_text(data, kind, name)
            except UnsupportedFile as exc:
                raise UploadRefused(str(exc))
            if not extracted.text.strip():
                raise UploadRefused(f"{name}: there is no text in it to index.")
        return kind, hashlib.sha256(data).hexdigest()

    def _existing(self) -> dict[str, str]:
        """sha256 -> document id (or file name) of what the corpus and the index hold."""
        found = {}
        for doc in self.service.index.documents.values():
            found[doc.sha256] = doc.id
        corpus = self.settings.corpus_dir
        if corpus.is_dir():
            for path in corpus.iterdir():
                if path.is_file() and path.suffix.lower() in EXTENSIONS and not path.name.startswith("."):
                    try:
                        found[hashlib.sha256(path.read_bytes()).hexdigest()] = slugify(path.stem)
                    except OSError:
                        continue
        return found

    # --- jobs ---

    def add(self, filename: str, data: bytes) -> Job:
        kind, sha = self.check(filename, data)
        corpus = self.settings.corpus_dir
        with self._lock:
            existing = self._existing()
            if sha in existing:
                raise UploadRefused(f"This file is already here, as the document {existing[sha]!r} "
                                    f"(/documents/{existing[sha]}); it was not added again.", 409)
            taken = {slugify(p.stem) for p in corpus.iterdir()} if corpus.is_dir() else set()
            taken |= set(self.service.index.documents)
            stem, n = safe_stem(filename), 2
            base = stem
            while stem in taken:
                stem, n = f"{base}-{n}", n + 1
            corpus.mkdir(parents=True, exist_ok=True)
            target = corpus / f"{stem}{_SUFFIX[kind]}"
            if target.resolve().parent != corpus.resolve():  # cannot happen with a slug; checked all the same
                raise UploadRefused("That file name cannot be used.")
            tmp = corpus / f".upload-{secrets.token_hex(8)}.partial"
            tmp.write_bytes(data)
            os.replace(tmp, target)
            job = self._new_job("add", stem, target.name)
        log.info("upload: %s stored as %s; indexing", filename, target)
        self._start(job, undo=lambda: target.unlink(missing_ok=True))
        return job

    def delete(self, doc_id: str) -> Job:
        from .errors import NotFound

        doc = self.service.index.documents.get(doc_id)
        if doc is None:
            raise NotFound(f"No document {doc_id!r}. See /api/documents for the documents there are.")
        path = Path(doc.path)
        corpus = self.settings.corpus_dir.resolve()
        if path.resolve().parent != corpus or not path.is_file():
            raise UploadRefused(f"The document {doc_id!r} was not indexed from the corpus folder, so it cannot be "
                                f"removed from here; remove its file and run `rag index`.", 409)
        if len(self.service.index.documents) == 1:
            raise UploadRefused("This is the only document; add another before removing it.", 409)
        with self._lock:
            aside = path.with_name(f".deleted-{secrets.token_hex(6)}-{path.name}")
            os.replace(path, aside)
            job = self._new_job("delete", doc_id, path.name)
        self._start(job, undo=lambda: os.replace(aside, path), done=lambda: aside.unlink(missing_ok=True))
        return job

    def get(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)

    def _new_job(self, action: str, doc: str, file: str) -> Job:
        job = Job(secrets.token_urlsafe(12), action, doc, file)
        self.jobs[job.id] = job
        for old in sorted(self.jobs.values(), key=lambda j: j.started)[:-_KEEP_JOBS]:
            self.jobs.pop(old.id, None)
        return job

    def _start(self, job: Job, undo, done=None) -> None:
        threading.Thread(target=self._run, args=(job, undo, done), name=f"upload-{job.id}", daemon=True).start()

    def _run(self, job: Job, undo, done) -> None:
        from .index import build_index

        try:
            with self._build_lock:
                job.state = "indexing"
                build_index(self.settings, [self.settings.corpus_dir])
                self.service.reload_if_changed()
            present = job.doc in self.service.index.documents
            if present != (job.action == "add"):
                reason = "the file could not be read when indexing" if job.action == "add" else "it is still indexed"
                raise UploadRefused(f"{job.file}: {reason}; the index in use is unchanged.")
        except Exception as exc:  # the job must end, whatever happened; the index in use is untouched
            if not isinstance(exc, RagError):
                log.exception("upload job %s failed", job.id)
            try:
                undo()
            except OSError:
                log.exception("upload job %s: could not undo", job.id)
            job.state, job.message = "failed", (str(exc) if isinstance(exc, RagError)
                                                 else "Indexing failed on our side; the index in use is unchanged.")
        else:
            if done:
                done()
            job.state = "serving"
            job.message = ("Added and now answering questions." if job.action == "add"
                           else "Removed; answers no longer come from it.")
        job.finished = time.time()

    def wait(self, job: Job, timeout: float = 300) -> Job:
        """For tests and the CLI: block until the job is done (or the timeout passes)."""
        deadline = time.monotonic() + timeout
        while not job.done and time.monotonic() < deadline:
            time.sleep(0.1)
        return job
