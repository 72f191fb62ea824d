"""The Blackpool report as a saved web page and as a PDF printed from that page (tests/report_fixtures.py)
reads as the Markdown report does: no site boilerplate, the same headings and section paths, the same
records, the same top passage for the same questions; a PDF's passages know their pages.

The PDF is printed by Debian's chromium; without it the PDF tests are skipped, unless REQUIRE_BROWSER=1
(as in CI), when they fail.
"""
from __future__ import annotations

import io
import logging
import os
import re
import shutil
from pathlib import Path

import pytest

from rag.chunking import chunk_document, chunk_text, markdown_headings
from rag.config import Settings
from rag.documents import load_document, load_documents
from rag.errors import UnsupportedFile
from rag.extract import extract, page_span, sniff
from rag.extract.pdf import _join
from rag.facts import Facts
from rag.index import Index, with_councils
from tests.conftest import BLACKPOOL_REPORT
from tests.report_fixtures import BOILERPLATE, CHROMIUM, STEM, print_pdf, report_html, write_html

MARKDOWN = BLACKPOOL_REPORT.read_text(encoding="utf-8")
REQUIRED = os.environ.get("REQUIRE_BROWSER") == "1"


def words(text: str) -> list[str]:
    """The words of a text, Markdown marks aside: what any format of the report must say alike."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # [link](#) -> link
    return re.findall(r"[A-Za-z0-9£%]+(?:[.,'’][A-Za-z0-9]+)*", text)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("formats")


@pytest.fixture(scope="module")
def html_path(folder) -> Path:
    return write_html(folder)


@pytest.fixture(scope="module")
def pdf_path(folder, html_path) -> Path:
    if not CHROMIUM.exists():
        if REQUIRED:
            pytest.fail(f"Printing the report to PDF needs Chromium at {CHROMIUM} (REQUIRE_BROWSER=1)")
        pytest.skip(f"Printing the report to PDF needs Chromium at {CHROMIUM} (apt-get install chromium)")
    return print_pdf(html_path, folder / f"{STEM}.pdf")


@pytest.fixture(scope="module")
def docs(html_path, pdf_path):
    return {"markdown": load_document(BLACKPOOL_REPORT), "html": load_document(html_path),
            "pdf": load_document(pdf_path)}


# ---- extraction, format by format ----

def test_web_page_keeps_the_report_and_drops_the_site_around_it(html_path):
    text = extract(html_path.read_bytes(), "html").text
    for phrase in BOILERPLATE:
        assert phrase not in text, phrase
    assert "dataLayer" not in text and "<" not in text
    assert words(text) == words(MARKDOWN)  # every word of the report, in order, and nothing else
    assert text.startswith("# Blackpool Council: local authority assessment\n")


def test_web_page_headings_are_the_reports_headings_at_their_levels(html_path):
    text = extract(html_path.read_bytes(), "html").text
    assert [(h.level, h.title) for h in markdown_headings(text)] == [(h.level, h.title) for h in markdown_headings(MARKDOWN)]


def test_web_page_lists_and_tables_keep_their_text():
    page = report_html("# Report\n\nIntro:\n\n- first item\n- second *item*\n  - nested item\n\n1. one\n2. two\n")
    page = page.replace("</article>", "<table><caption>Waits</caption><tr><th>Team</th><th>Days</th></tr>"
                                      "<tr><td>Reviews</td><td>335</td></tr></table></article>")
    text = extract(page.encode(), "html").text
    assert "Intro:\n\n- first item\n- second item\n  - nested item\n\n1. one\n2. two" in text
    assert "Waits\nTeam | Days\nReviews | 335" in text


def test_pdf_keeps_the_report_without_running_headers_footers_or_page_numbers(docs):
    text = docs["pdf"].text
    for phrase in BOILERPLATE:
        assert phrase not in text, phrase
    assert "file://" not in text and not re.search(r"\b\d{1,2}/\d{1,2}/\d{2}, \d{1,2}:\d{2}", text)
    assert not re.search(r"^\s*\d+/\d+\s*$", text, re.M)
    assert words(text) == words(MARKDOWN)  # lines re-joined, nothing dropped, nothing added


def test_pdf_headings_come_from_the_layout(docs):
    assert [h.title for h in markdown_headings(docs["pdf"].text)] == [h.title for h in markdown_headings(MARKDOWN)]
    # the levels as the page set them (h1 > h2 > h3 > h4)
    assert [h.level for h in markdown_headings(docs["pdf"].text)] == [h.level for h in markdown_headings(MARKDOWN)]


def test_pdf_lists_are_items_and_paragraphs_are_whole(docs):
    text = docs["pdf"].text
    assert ("- The local authority estimated that in 2023/24, its total budget would be £262,764,000.00. Its actual "
            "spend for that year was £288,053,000.00, which was £25,289,000.00 more than estimated.\n"
            "- The local authority estimated that it would spend") in text
    assert "day services (2023-2026)" in text  # a line broken after a hyphen is joined without a space
    md_paragraphs = [p for p in MARKDOWN.split("\n\n") if len(p) > 200 and not p.startswith(("#", "-"))]
    whole = sum(p.replace("**", "").replace("  \n", " ").strip() in text for p in md_paragraphs)
    assert whole >= 0.97 * len(md_paragraphs), (whole, len(md_paragraphs))


def test_pdf_passages_are_on_the_pages_they_say(docs, pdf_path):
    import pypdfium2

    pdf = pypdfium2.PdfDocument(str(pdf_path))  # a second, independent reader of the same file
    # (pdfium marks a hyphen it takes for a line-end hyphenation as U+FFFE)
    pages = [" ".join(pdf[i].get_textpage().get_text_range().replace("\ufffe", "-").split()) for i in range(len(pdf))]
    doc = docs["pdf"]
    assert len(doc.page_starts) == len(pages)
    passages = chunk_document(doc)
    checked = 0
    for p in passages:
        assert p.pages and list(p.pages) == sorted(p.pages) and 1 <= p.pages[0] <= p.pages[-1] <= len(pages)
        text = doc.text[p.start:p.end]
        lines = [re.sub(r"^(#+|-) ", "", line) for line in text.split("\n") if line.strip()]
        head, tail = " ".join(lines[0].split()[:6]), " ".join(lines[-1].split()[-6:])
        assert head in pages[p.pages[0] - 1], (p.pages, head)
        assert tail in pages[p.pages[-1] - 1], (p.pages, tail)
        checked += 1
    assert checked == len(passages) > 300
    assert any(len(p.pages) > 1 for p in passages)  # some passages run over a page break


def test_page_span():
    starts = (0, 100, 100, 250)  # page 3 has no text of its own
    assert page_span(starts, 0, 50) == (1,)
    assert page_span(starts, 90, 120) == (1, 2, 3)
    assert page_span(starts, 120, 130) == (3,)
    assert page_span(starts, 240, 260) == (3, 4)
    assert page_span((), 0, 10) == ()


def test_hyphens_at_line_ends():
    vocab = {"assessment": 2, "long-term": 3}
    from collections import Counter

    vocab = Counter(vocab)
    assert _join("the assess-", "ment was late", vocab) == "the assessment was late"
    assert _join("a long-", "term plan", vocab) == "a long-term plan"
    assert _join("a well-", "led team", vocab) == "a well-led team"  # unknown either way: the hyphen stays
    assert _join("re\u00ad", "view", vocab) == "review"
    assert _join("the local", "authority", vocab) == "the local authority"


# ---- the same answers from any format ----

def _index_of(doc) -> Index:
    passages = with_councils(doc, chunk_document(doc))
    return Index(Path("."), {}, {doc.id: doc}, passages, [[] for _ in passages], None)


def test_sections_are_the_same_in_every_format(docs):
    paths = {fmt: [p.section for p in chunk_document(d)] for fmt, d in docs.items()}
    assert set(paths["html"]) == set(paths["markdown"]) == set(paths["pdf"])
    assert ("Theme 3", "Safeguarding", "Responding to concerns and undertaking Section 42 enquiries") in paths["pdf"]
    assert paths["html"] == paths["markdown"]  # the web page even cuts the same passages


def test_records_are_the_same_in_every_format(docs):
    records = {}
    for fmt, doc in docs.items():
        index = _index_of(doc)
        record = Facts(index).councils["blackpool"].json(index)
        records[fmt] = record
    md = records["markdown"]
    assert md["rating"] == "Inadequate" and md["published"] == "2025-08-06" and len(md["statements"]) == 9
    for fmt in ("html", "pdf"):
        r = records[fmt]
        assert (r["rating"], r["published"], r["scores"]) == (md["rating"], md["published"], md["scores"]), fmt
        assert [(s["statement"], s["value"], s["theme"]) for s in r["statements"]] == \
               [(s["statement"], s["value"], s["theme"]) for s in md["statements"]], fmt
        assert [s["source"]["section"] for s in r["statements"]] == [s["source"]["section"] for s in md["statements"]]
        assert r["rating_source"]["text"].split() == md["rating_source"]["text"].split()


def test_a_pdf_reports_its_pages_in_the_document_metadata(docs):
    meta = docs["pdf"].meta()
    assert meta["format"] == "pdf" and meta["pages"] == len(docs["pdf"].page_starts) > 50
    assert docs["html"].meta()["format"] == "html" and docs["html"].meta()["pages"] is None


QUESTIONS = [  # not rating or score questions: those are answered from the records (compared above)
    "How long did people wait for an assessment?",
    "What was the maximum wait for a review?",
    "How many people were waiting for an assessment for equipment?",
    "What was Blackpool's total budget in 2023/24?",
    "What percentage of the budget was spent on adult social care?",
    "How were section 42 enquiries handled?",
    "What is the population of Blackpool?",
    "How did the local authority support unpaid carers?",
    "Was there a carers strategy?",
    "What did people say about direct payments?",
    "How did the council work with the integrated care board?",
    "What advocacy was available?",
    "Were there delays in hospital discharge?",
    "How many safeguarding concerns were received?",
]


@pytest.fixture(scope="module")
def three_formats(tmp_path_factory, html_path, pdf_path):
    """One real index (real model) holding the report three times: as Markdown, web page and PDF."""
    from rag.index import build_index
    from rag.service import Service

    corpus = tmp_path_factory.mktemp("three")
    shutil.copy(BLACKPOOL_REPORT, corpus / "report-markdown.md")
    shutil.copy(html_path, corpus / "report-web-page.html")
    shutil.copy(pdf_path, corpus / "report-pdf.pdf")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path_factory.mktemp("three-index"))
    build_index(settings)
    return Service(settings)


def _key(result: dict) -> tuple:
    """A passage across formats: its section path and its first eight words."""
    return tuple(result["section_path"]), tuple(words(result["text"])[:8])


def test_the_same_top_passage_from_every_format(three_formats):
    service = three_formats
    same, near = {"web-page": [], "pdf": []}, []
    for q in QUESTIONS:
        top = {fmt: service.search(q, k=3, doc=f"report-{fmt}")["results"] for fmt in ("markdown", "web-page", "pdf")}
        md = top["markdown"]
        assert top["pdf"][0]["pages"] and not md[0]["pages"] and not top["web-page"][0]["pages"]
        for fmt in same:
            if _key(top[fmt][0]) == _key(md[0]):
                same[fmt].append(q)
            # a near tie may swap two passages (a Markdown "---" moves a vector a little), never more
            elif not (_key(top[fmt][0]) in map(_key, md) and _key(md[0]) in map(_key, top[fmt])):
                near.append((fmt, q, md[0]["section"], top[fmt][0]["section"]))
    assert not near, near
    for fmt, agreed in same.items():
        assert len(agreed) >= len(QUESTIONS) - 1, (fmt, sorted(set(QUESTIONS) - set(agreed)))


def test_the_same_answers_from_every_format(three_formats):
    for q in QUESTIONS:
        answers = {fmt: three_formats.ask(q, doc=f"report-{fmt}") for fmt in ("markdown", "web-page", "pdf")}
        md = answers["markdown"]
        for fmt in ("web-page", "pdf"):
            a = answers[fmt]
            assert (a["found"], words(a["answer"])) == (md["found"], words(md["answer"])), (q, fmt)
            if a["found"]:
                doc = three_formats.document(a["answer_source"]["doc"])
                assert doc["text"][a["answer_source"]["start"]:a["answer_source"]["end"]] == a["answer"]


# ---- bad input: one clear reason, the rest of the folder still indexed ----

def _image_only_pdf() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (850, 1100), "white")
    ImageDraw.Draw(image).rectangle((100, 100, 750, 140), fill="black")  # a "scanned" line of print
    out = io.BytesIO()
    image.save(out, "PDF", resolution=100)
    return out.getvalue()


def test_a_scanned_pdf_is_refused_and_the_rest_load(tmp_path, caplog):
    (tmp_path / "scan.pdf").write_bytes(_image_only_pdf())
    (tmp_path / "fake.pdf").write_text("# not a pdf\n", encoding="utf-8")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\n% truncated")
    (tmp_path / "ok.md").write_text("# A\n\nSome text about Blackpool.\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        assert [d.id for d in load_documents([tmp_path])] == ["ok"]
    assert "scan.pdf: no text could be read from the PDF (1 pages); it may be a scanned image" in caplog.text
    assert "fake.pdf: is not a PDF" in caplog.text
    assert "broken.pdf: could not be read as a PDF" in caplog.text or "broken.pdf: no text" in caplog.text


def test_a_page_without_headings_is_indexed_by_paragraphs_with_a_warning(tmp_path, caplog):
    path = tmp_path / "flat.html"
    path.write_text("<html><body><main><p>Blackpool Council was rated inadequate.</p>"
                    "<p>People waited too long for assessments.</p></main></body></html>", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        doc = load_document(path)
    assert "flat.html: no headings could be recovered from the web page; indexed by paragraphs" in caplog.text
    assert [doc.text[p.start:p.end] for p in chunk_text(doc.text, doc.id)] == [doc.text.strip()]


def test_an_empty_web_page_is_refused(tmp_path):
    path = tmp_path / "empty.html"
    path.write_text("<html><body><nav><a href='/'>Home</a></nav><main>  </main></body></html>", encoding="utf-8")
    with pytest.raises(UnsupportedFile, match="no text in its main content"):
        load_document(path)


def test_sniff_tells_formats_from_content():
    assert sniff(b"%PDF-1.7\n...") == "pdf"
    assert sniff(b"\xef\xbb\xbf<!DOCTYPE html><html>") == "html"
    assert sniff(b"  <html lang='en'><body>x</body></html>") == "html"
    assert sniff(b"# Report\n\nText") == "text"
    assert sniff(b"\x89PNG\r\n\x1a\n\x00\x00") is None
    assert sniff(b"PK\x03\x04\x00\x00") is None


def test_what_a_file_yields_is_read_once(tmp_path, html_path, monkeypatch):
    from rag.extract import html as html_extractor

    cache = tmp_path / "extracted"
    first = load_document(html_path, cache_dir=cache)
    assert len(list(cache.glob("*.json"))) == 1

    def must_not_run(*args):
        raise AssertionError("extracted again")

    monkeypatch.setattr(html_extractor, "extract_html", must_not_run)
    again = load_document(html_path, cache_dir=cache)
    assert again.text == first.text and again.page_starts == first.page_starts


def test_rag_index_says_what_it_read_from_each_file(tmp_path, capsys, caplog):
    from rag.cli import main

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "kent.md").write_text("# Kent County Council: local authority assessment\n\n## Local authority rating "
                                    "and score\n\n### Kent County Council\n\nGood\n\n## Key findings\n\nWaits were "
                                    "short in Kent.\n", encoding="utf-8")
    (corpus / "flat.html").write_text("<html><body><main><p>Blackpool Council was rated inadequate by the CQC."
                                      "</p></main></body></html>", encoding="utf-8")
    assert main(["index", str(corpus), "--index-dir", str(tmp_path / "index"), "-q"]) == 0
    out = capsys.readouterr()
    lines = {line.split(":")[0].strip(): line for line in out.out.splitlines() if line.startswith("  ")}
    assert lines["kent.md"] == "  kent.md: markdown; 2 passages, 2 sections, 1 record (1 rating)"
    assert lines["flat.html"] == "  flat.html: html; 1 passage, no headings found: indexed by paragraphs, 1 record (1 rating)"
    assert "flat.html: no headings could be recovered from the web page; indexed by paragraphs" in caplog.text
