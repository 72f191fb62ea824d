"""Adding and removing reports through the API and the "Add a report" page: refused without the admin
token, checked by content (type, size, text layer, duplicates), stored under a safe name, indexed in the
background, and served; a bad file never touches what is already indexed."""
from __future__ import annotations

import io
import time

import pytest
from fastapi.testclient import TestClient

from rag.app import create_app
from rag.config import Settings
from rag.service import Service
from tests.conftest import CORPUS

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
KENT = ("# Kent County Council: local authority assessment\n\nAssessment published: 3 March 2025\n\n"
        "## Local authority rating and score\n\n### Kent County Council\n\nGood\n\n"
        "## Quality statement scores\n\n### Safeguarding\n\nScore: 3\n\n"
        "## Theme 3: How Kent County Council ensures safety within the system\n\n# Safeguarding\n\nScore: 3\n\n"
        "## Key findings\n\nIn Kent, people waited a median of 19 days for a care act assessment at the "
        "Canterbury hub, and the zebrafish garden project supported carers every Tuesday.\n")


def _client(settings: Settings) -> TestClient:
    return TestClient(create_app(settings, Service(settings)))


@pytest.fixture
def admin(small_index) -> tuple[TestClient, Settings]:
    settings = Settings(corpus_dir=small_index.corpus_dir, index_dir=small_index.index_dir, admin_token=TOKEN,
                        watch_index=False, rate_limit=0)
    with _client(settings) as client:
        yield client, settings


def _wait(client: TestClient, job: dict, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while not job["done"] and time.monotonic() < deadline:
        time.sleep(0.2)
        job = client.get(job["status_url"]).json()
    assert job["done"], job
    return job


def _upload(client, name: str, data: bytes, headers=AUTH):
    return client.post("/api/documents", files={"file": (name, io.BytesIO(data), "application/octet-stream")},
                       headers=headers)


def _image_only_pdf() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (600, 800), "white").save(out, "PDF")
    return out.getvalue()


def test_uploads_are_off_without_a_token_on_the_server(small_index):
    settings = Settings(corpus_dir=small_index.corpus_dir, index_dir=small_index.index_dir, admin_token="",
                        watch_index=False)
    with _client(settings) as client:
        r = _upload(client, "kent.md", KENT.encode())
        assert r.status_code == 404 and "RAG_ADMIN_TOKEN" in r.json()["detail"]
        assert client.delete("/api/documents/lancashire-rated-requires-improvement-news").status_code == 404
        assert client.get("/add-report").status_code == 404
    assert sorted(p.name for p in small_index.corpus_dir.iterdir()) == [
        "blackpool-council-improvement-plan-news-2025-09-11.txt", "documents.json",
        "lancashire-rated-requires-improvement-news.txt"]


def test_uploads_need_the_token(admin):
    client, settings = admin
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        r = _upload(client, "kent.md", KENT.encode(), headers=headers)
        assert r.status_code == 403, headers
        assert "Authorization: Bearer" in r.json()["detail"]
    assert client.delete("/api/documents/lancashire-rated-requires-improvement-news").status_code == 403
    assert not (settings.corpus_dir / "kent.md").exists()
    # without the token a request is refused for that, before anything is said about what its body lacks
    r = client.post("/api/documents")
    assert r.status_code == 403 and "Authorization: Bearer" in r.json()["detail"]
    assert client.post("/api/documents", headers={"Authorization": f"Bearer {settings.admin_token}"}).status_code == 422


@pytest.mark.parametrize("name, data, status, words", [
    ("photo.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", 415, "not a report file"),
    ("report.pdf", b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00", 415, "not a report file"),
    ("empty.md", b"", 422, "empty"),
    ("blank.txt", b"  \n\n ", 422, "empty"),
    ("page.html", b"<html><body><nav>Home</nav><main></main></body></html>", 422, "no text"),
    ("fake.pdf", b"%PDF-1.7\n1 0 obj <<>> endobj\n", 422, "could not be read as a PDF"),
])
def test_bad_files_are_refused_with_a_reason(admin, name, data, status, words):
    client, settings = admin
    before = sorted(p.name for p in settings.corpus_dir.iterdir())
    r = _upload(client, name, data)
    assert r.status_code == status, r.text
    assert words in r.json()["detail"]
    assert sorted(p.name for p in settings.corpus_dir.iterdir()) == before


def test_a_scanned_pdf_is_refused(admin):
    client, _ = admin
    r = _upload(client, "scan.pdf", _image_only_pdf())
    assert r.status_code == 422
    assert "it may be a scanned image" in r.json()["detail"]


def test_an_oversized_file_is_refused(small_index):
    settings = Settings(corpus_dir=small_index.corpus_dir, index_dir=small_index.index_dir, admin_token=TOKEN,
                        watch_index=False, max_file_mb=0.05)
    with _client(settings) as client:
        r = _upload(client, "big.txt", b"Blackpool waits. " * 4000)  # 68 KB: over the file limit
        assert r.status_code == 413 and "MB limit" in r.json()["detail"]
        r = _upload(client, "huge.txt", b"Blackpool waits. " * 20000)  # 340 KB: over the body limit
        assert r.status_code == 413
    assert not any(p.name.startswith(("big", "huge")) for p in small_index.corpus_dir.iterdir())


def test_a_duplicate_is_reported_not_added(admin):
    client, settings = admin
    data = (CORPUS / "lancashire-rated-requires-improvement-news.txt").read_bytes()
    r = _upload(client, "another-name.txt", data)
    assert r.status_code == 409
    assert "lancashire-rated-requires-improvement-news" in r.json()["detail"]
    assert not (settings.corpus_dir / "another-name.txt").exists()


def test_a_report_is_added_indexed_answered_and_removed(admin, tmp_path):
    client, settings = admin
    outside = settings.corpus_dir.parent
    before_outside = sorted(p.name for p in outside.iterdir())
    r = _upload(client, "../../Kent report (final).MD", KENT.encode())
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["doc"] == "kent-report-final" and job["file"] == "kent-report-final.md"
    assert (settings.corpus_dir / "kent-report-final.md").read_bytes() == KENT.encode()
    assert sorted(p.name for p in outside.iterdir()) == before_outside  # nothing written beside the corpus
    job = _wait(client, job)
    assert job["state"] == "serving", job
    assert job["document_url"] == "/documents/kent-report-final"

    docs = {d["id"]: d for d in client.get("/api/documents").json()["documents"]}
    assert "kent-report-final" in docs and docs["kent-report-final"]["councils"] == ["Kent County Council"]
    hit = client.get("/api/search", params={"q": "zebrafish garden project", "k": 1}).json()["results"][0]
    assert hit["doc"] == "kent-report-final" and "zebrafish" in hit["text"]
    council = client.get("/api/councils/kent").json()
    assert council["rating"] == "Good"
    assert [(s["statement"], s["value"]) for s in council["statements"]] == [("Safeguarding", 3)]
    # the same bytes again: a duplicate
    assert _upload(client, "kent-again.md", KENT.encode()).status_code == 409

    r = client.delete("/api/documents/kent-report-final", headers=AUTH)
    assert r.status_code == 202
    assert _wait(client, r.json())["state"] == "serving"
    assert "kent-report-final" not in {d["id"] for d in client.get("/api/documents").json()["documents"]}
    assert not (settings.corpus_dir / "kent-report-final.md").exists()
    assert client.get("/api/councils/kent").status_code == 404
    assert client.delete("/api/documents/kent-report-final", headers=AUTH).status_code == 404


def test_the_add_a_report_page_uploads_and_shows_progress(admin):
    client, settings = admin
    page = client.get("/add-report")
    assert page.status_code == 200 and 'type="file"' in page.text and 'name="token"' in page.text
    wrong = client.post("/add-report", data={"token": "nope"}, files={"file": ("kent.md", KENT.encode(), "text/markdown")})
    assert wrong.status_code == 403 and "admin token" in wrong.text
    r = client.post("/add-report", data={"token": TOKEN}, files={"file": ("kent.md", KENT.encode(), "text/markdown")},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/add-report/")
    progress = client.get(r.headers["location"])
    assert progress.status_code == 200 and "kent.md" in progress.text
    job_id = r.headers["location"].rsplit("/", 1)[1]
    _wait(client, client.get(f"/api/uploads/{job_id}").json())
    done = client.get(r.headers["location"]).text
    assert "Added and now answering questions." in done and 'http-equiv="refresh"' not in done
    assert client.get("/api/uploads/no-such-job").status_code == 404


def test_a_failed_build_keeps_the_index_in_use(admin, monkeypatch):
    client, settings = admin
    from rag import index

    served = client.get("/healthz").json()["build"]

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(index, "build_index", broken)
    r = _upload(client, "kent.md", KENT.encode())
    job = _wait(client, r.json())
    assert job["state"] == "failed" and "unchanged" in job["message"]
    assert client.get("/healthz").json()["build"] == served
    assert not (settings.corpus_dir / "kent.md").exists()  # taken back out


def test_the_original_file_is_served_by_id_with_its_type(admin):
    client, settings = admin
    r = client.get("/documents/lancashire-rated-requires-improvement-news/original")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    assert r.headers["content-disposition"].startswith("inline")
    assert r.content == (CORPUS / "lancashire-rated-requires-improvement-news.txt").read_bytes()
    assert client.get("/documents/..%2F..%2Fetc%2Fpasswd/original").status_code == 404
    assert client.get("/documents/no-such-doc/original").status_code == 404


def test_a_pdf_upload_is_cited_by_page_and_served_as_pdf(admin, tmp_path):
    from tests.report_fixtures import CHROMIUM, print_pdf, write_html
    import os

    if not CHROMIUM.exists():
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"needs Chromium at {CHROMIUM}")
        pytest.skip(f"needs Chromium at {CHROMIUM}")
    client, settings = admin
    pdf = print_pdf(write_html(tmp_path, KENT, name="kent", title="Kent County Council: local authority assessment"),
                    tmp_path / "kent.pdf").read_bytes()
    r = _upload(client, "kent.pdf", pdf)
    assert r.status_code == 202, r.text
    assert _wait(client, r.json())["state"] == "serving"
    hit = client.get("/api/search", params={"q": "zebrafish garden project", "k": 1}).json()["results"][0]
    assert hit["doc"] == "kent" and hit["pages"] == [1]
    doc = client.get("/api/documents/kent").json()
    # one page: Chromium's running header (date, page title) and footer (file address, "1/1") are gone
    assert doc["title"] == "Kent County Council: local authority assessment" and doc["pages"] == 1
    assert "file://" not in doc["text"] and "1/1" not in doc["text"]
    original = client.get("/documents/kent/original")
    assert original.headers["content-type"] == "application/pdf" and original.content == pdf
    assert original.headers["content-disposition"] == 'inline; filename="kent.pdf"'
    page = client.get(f"/documents/kent?start={hit['start']}&end={hit['end']}").text
    assert 'href="/documents/kent/original#page=1"' in page


def test_a_saved_web_page_upload_keeps_the_report_and_is_handed_back_as_a_download(admin):
    from tests.report_fixtures import BOILERPLATE, report_html

    client, settings = admin
    page = report_html(KENT, title="Kent County Council: local authority assessment").encode()
    r = _upload(client, "Kent - Care Quality Commission.htm", page)
    assert r.status_code == 202 and r.json()["file"] == "kent-care-quality-commission.html"
    assert _wait(client, r.json())["state"] == "serving"
    doc = client.get("/api/documents/kent-care-quality-commission").json()
    assert doc["format"] == "html" and doc["title"] == "Kent County Council: local authority assessment"
    assert not [b for b in BOILERPLATE if b in doc["text"]]
    assert client.get("/api/councils/kent").json()["rating"] == "Good"
    original = client.get("/documents/kent-care-quality-commission/original")
    assert original.headers["content-type"].startswith("text/html") and original.content == page
    assert original.headers["content-disposition"].startswith("attachment")  # never rendered on this site
