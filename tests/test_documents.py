import logging

import pytest

from rag.documents import SUPPORTED_EXTENSIONS, load_document, load_documents
from rag.errors import NoDocuments, UnsupportedFile
from tests.conftest import CORPUS


def test_shipped_corpus_loads_with_its_metadata():
    docs = {d.id: d for d in load_documents([CORPUS])}
    assert len(docs) == 5
    report = docs["blackpool-council-local-authority-assessment-2025-08-06"]
    assert report.kind == "assessment" and report.date == "2025-08-06"
    assert report.councils == ("Blackpool Council",)
    pilot = docs["cqc-pilot-assessments-five-councils-news-2023"]
    assert "Nottingham City Council" in pilot.councils and len(pilot.councils) == 5
    assert all(d.kind == "news" for i, d in docs.items() if i != report.id)


def test_text_is_unchanged_from_the_file():
    doc = load_document(CORPUS / "lancashire-rated-requires-improvement-news.txt")
    assert doc.text == (CORPUS / "lancashire-rated-requires-improvement-news.txt").read_text(encoding="utf-8")


def test_metadata_is_inferred_without_a_catalogue(tmp_path):
    path = tmp_path / "x-council.md"
    path.write_text("# Kent County Council: local authority assessment\n\nAssessment published: 3 March 2025\n\n"
                    "Kent County Council was rated good.\n", encoding="utf-8")
    doc = load_document(path)
    assert doc.id == "x-council"
    assert doc.kind == "assessment" and doc.date == "2025-03-03"
    assert doc.councils == ("Kent County Council",)


def test_invalid_utf8_is_replaced_with_a_warning(tmp_path, caplog):
    path = tmp_path / "bad.txt"
    path.write_bytes(b"Blackpool \xff\xfe waits were long.\n")
    with caplog.at_level(logging.WARNING):
        doc = load_document(path)
    assert "\ufffd" in doc.text and "waits were long" in doc.text
    assert "bad.txt" in caplog.text and "UTF-8" in caplog.text


def test_empty_files_are_skipped_with_a_warning(tmp_path, caplog):
    (tmp_path / "empty.md").write_text("  \n\n", encoding="utf-8")
    (tmp_path / "ok.md").write_text("# A\n\nSome text.\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        docs = load_documents([tmp_path])
    assert [d.id for d in docs] == ["ok"]
    assert "empty.md: empty file" in caplog.text


def test_unsupported_extension_names_the_supported_ones(tmp_path, caplog):
    path = tmp_path / "report.pdf"
    path.write_bytes(b"%PDF-1.4")
    with pytest.raises(UnsupportedFile) as err:
        load_document(path)
    assert all(ext in str(err.value) for ext in SUPPORTED_EXTENSIONS)
    (tmp_path / "ok.txt").write_text("Some text about Blackpool.\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        assert [d.id for d in load_documents([tmp_path])] == ["ok"]  # the folder's other files still load
    assert "report.pdf" in caplog.text


def test_nothing_loadable_is_an_error_that_says_what_to_do(tmp_path):
    with pytest.raises(NoDocuments, match="rag index"):
        load_documents([tmp_path])
