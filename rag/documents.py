"""Read report files into Documents: safe decoding, metadata from corpus/documents.json or the text itself."""
from __future__ import annotations

import hashlib
import json
import logging
import re
from datetime import datetime
from pathlib import Path

from .errors import NoDocuments, UnsupportedFile
from .extract import EXTENSIONS, Extracted, extract, sniff
from .types import Document

log = logging.getLogger(__name__)

SUPPORTED_EXTENSIONS = tuple(EXTENSIONS)  # .md .markdown .txt .html .htm .pdf
MAX_FILE_BYTES = 20 * 1024 * 1024  # a report is well under 1 MB; a bigger file is almost surely not one
METADATA_FILE = "documents.json"  # per corpus folder: {file name: {title, councils, kind, date}}

_COUNCIL = re.compile(r"\b((?:[A-Z][a-z]+ ){0,3}[A-Z][a-z]+ (?:County |City |Borough |Metropolitan Borough )?Council)\b")
_PUBLISHED = re.compile(r"Assessment published:\s*(\d{1,2} [A-Z][a-z]+ \d{4})")
_LEADING_DATE = re.compile(r"^\s*date (\d{4}-\d{2}-\d{2})\b")


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "document"


def decode(data: bytes, name: str) -> str:
    """UTF-8 (a BOM is dropped); invalid bytes become U+FFFD with a warning naming the file."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        log.warning("%s: not valid UTF-8 (first bad byte at %d); undecodable bytes replaced with \ufffd",
                    name, exc.start)
        return data.decode("utf-8-sig", errors="replace")


def infer_title(text: str) -> str:
    for line in text.splitlines():
        line = line.strip()
        if line:
            title = line.lstrip("#").strip() or line
            return title if len(title) <= 150 else title[:150].rsplit(" ", 1)[0] + "…"
    return ""


def infer_kind(title: str, text: str) -> str:
    if re.search(r"local authority assessment", title, re.I) or "Quality statement scores" in text:
        return "assessment"
    return "news"


def infer_date(text: str) -> str | None:
    if m := _PUBLISHED.search(text):
        try:
            return datetime.strptime(m.group(1), "%d %B %Y").date().isoformat()
        except ValueError:
            pass
    if m := _LEADING_DATE.match(text):
        return m.group(1)
    return None


def infer_councils(title: str, text: str) -> tuple[str, ...]:
    """Councils named in the title, else those the text names at least twice."""
    in_title = list(dict.fromkeys(_COUNCIL.findall(title)))
    if in_title:
        return tuple(in_title)
    counts: dict[str, int] = {}
    for name in _COUNCIL.findall(text):
        counts[name] = counts.get(name, 0) + 1
    return tuple(name for name, n in counts.items() if n >= 2)


def _read_metadata(folder: Path) -> dict:
    path = folder / METADATA_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as exc:
        log.warning("%s: ignored (%s); metadata will be inferred from the texts", path, exc)
        return {}
    if not isinstance(data, dict):
        log.warning("%s: ignored, it should map file names to {title, councils, kind, date}", path)
        return {}
    clean = {}
    for name, entry in data.items():
        if not isinstance(entry, dict):
            log.warning("%s: the entry for %s is not an object; ignored", path, name)
            continue
        councils = entry.get("councils")
        clean[name] = {
            "title": entry["title"] if isinstance(entry.get("title"), str) else None,
            "councils": [c for c in councils if isinstance(c, str)] if isinstance(councils, list) else None,
            "kind": entry["kind"] if entry.get("kind") in ("assessment", "news") else None,
            "date": entry["date"] if isinstance(entry.get("date"), str) else None,
        }
    return clean


def read_text(data: bytes, kind: str, name: str, cache_dir: Path | None = None) -> Extracted:
    """A file's bytes as the text to index: Markdown and plain text decoded as they are, a web page or
    a PDF extracted (rag/extract). Raises UnsupportedFile for a binary file or one that cannot be read."""
    if kind == "pdf":
        if sniff(data) != "pdf":
            raise UnsupportedFile(f"{name}: is not a PDF (it does not begin with %PDF-); skipped")
        return extract(data, "pdf", name, cache_dir)
    if b"\x00" in data[:65536]:
        raise UnsupportedFile(f"{name}: looks like a binary file (it contains NUL bytes), not text; skipped")
    if kind == "html":
        return extract(data, "html", name, cache_dir)
    return Extracted(decode(data, name), headings=-1)


def load_document(path: Path, meta: dict | None = None, max_bytes: int = MAX_FILE_BYTES,
                  cache_dir: Path | None = None) -> Document | None:
    """One file; None (with a warning) when it is empty. Raises UnsupportedFile for another extension,
    a binary file, one over the size limit, or a web page or PDF with no text to read."""
    kind = EXTENSIONS.get(path.suffix.lower())
    if kind is None:
        raise UnsupportedFile(f"{path}: unsupported file type {path.suffix or '(none)'!r}; "
                              f"supported: {', '.join(SUPPORTED_EXTENSIONS)}")
    size = path.stat().st_size
    if size > max_bytes:
        raise UnsupportedFile(f"{path}: {size / 2**20:.1f} MB is over the {max_bytes / 2**20:.0f} MB limit for "
                              f"one document (RAG_MAX_FILE_MB); skipped. Split it, or raise the limit.")
    data = path.read_bytes()
    if not data.strip():
        log.warning("%s: empty file, skipped", path)
        return None
    extracted = read_text(data, kind, str(path), cache_dir)
    text = extracted.text
    if not text.strip():
        log.warning("%s: empty file, skipped", path)
        return None
    if extracted.headings == 0:
        log.warning("%s: no headings could be recovered from the %s; indexed by paragraphs, so its passages "
                    "have no section paths", path, "PDF" if kind == "pdf" else "web page")
    meta = meta or {}
    title = meta.get("title") or infer_title(text)
    councils = tuple(meta.get("councils") or infer_councils(title, text))
    return Document(
        id=slugify(path.stem), title=title, councils=councils,
        kind=meta.get("kind") or infer_kind(title, text),
        date=meta.get("date") or infer_date(text),
        path=str(path), text=text, sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        format=kind, page_starts=extracted.page_starts,
    )


def find_files(paths: list[Path]) -> list[Path]:
    """Expand folders into their supported files (sorted); files named explicitly are kept as given."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            for child in sorted(path.iterdir()):
                if child.name.startswith(".") or child.name == METADATA_FILE or not child.is_file():
                    continue
                if child.suffix.lower() in SUPPORTED_EXTENSIONS:
                    files.append(child)
                else:
                    log.warning("%s: skipped, unsupported file type; supported: %s",
                                child, ", ".join(SUPPORTED_EXTENSIONS))
        elif path.exists():
            files.append(path)
        else:
            log.error("%s: no such file or folder", path)
    return files


def load_documents(paths: list[Path], max_bytes: int = MAX_FILE_BYTES, cache_dir: Path | None = None) -> list[Document]:
    """Every readable document under the paths. A file that fails is reported and skipped; the rest load.

    Raises NoDocuments when nothing at all could be loaded.
    """
    documents: list[Document] = []
    seen: set[str] = set()
    metadata_by_folder: dict[Path, dict] = {}
    for path in find_files(paths):
        folder = path.parent
        if folder not in metadata_by_folder:
            metadata_by_folder[folder] = _read_metadata(folder)
        try:
            doc = load_document(path, metadata_by_folder[folder].get(path.name), max_bytes, cache_dir)
        except UnsupportedFile as exc:
            log.error("%s", exc)
            continue
        except OSError as exc:
            log.error("%s: could not be read (%s), skipped", path, exc.strerror or exc)
            continue
        if doc is None:
            continue
        if doc.id in seen:
            log.warning("%s: another file already has the id %r; this one is skipped, rename it", path, doc.id)
            continue
        seen.add(doc.id)
        documents.append(doc)
    if not documents:
        where = ", ".join(str(p) for p in paths)
        raise NoDocuments(f"No documents could be loaded from {where}. "
                          f"Add {', '.join(SUPPORTED_EXTENSIONS)} files (see the warnings above) and run `rag index` again.")
    return documents
