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
    path = tmp_path / "report.docx"
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(UnsupportedFile) as err:
        load_document(path)
    assert all(ext in str(err.value) for ext in SUPPORTED_EXTENSIONS)
    (tmp_path / "ok.txt").write_text("Some text about Blackpool.\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        assert [d.id for d in load_documents([tmp_path])] == ["ok"]  # the folder's other files still load
    assert "report.docx" in caplog.text


def test_nothing_loadable_is_an_error_that_says_what_to_do(tmp_path):
    with pytest.raises(NoDocuments, match="rag index"):
        load_documents([tmp_path])


def test_binary_and_oversized_files_are_refused_and_the_rest_load(tmp_path, caplog):
    (tmp_path / "image.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (tmp_path / "huge.txt").write_bytes(b"word " * (3 * 2**20 // 5 + 1))
    (tmp_path / "ok.md").write_text("# A\n\nSome text about Blackpool.\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        docs = load_documents([tmp_path], max_bytes=2 * 2**20)
    assert [d.id for d in docs] == ["ok"]
    assert "image.md: looks like a binary file" in caplog.text
    assert "huge.txt: 3.0 MB is over the 2 MB limit" in caplog.text


def test_a_malformed_catalogue_entry_is_ignored(tmp_path, caplog):
    (tmp_path / "documents.json").write_text('{"a.md": "oops", "b.md": {"councils": "Blackpool", "kind": 3}}')
    (tmp_path / "a.md").write_text("# Blackpool Council: local authority assessment\n\nText.\n", encoding="utf-8")
    (tmp_path / "b.md").write_text("# B\n\nText.\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        docs = {d.id: d for d in load_documents([tmp_path])}
    assert docs["a"].kind == "assessment" and docs["b"].kind == "news" and docs["b"].councils == ()
    assert "not an object" in caplog.text


def test_a_file_removed_while_indexing_is_reported_and_skipped(tmp_path, caplog, monkeypatch):
    (tmp_path / "gone.md").write_text("# Gone\n\nText.\n", encoding="utf-8")
    (tmp_path / "ok.md").write_text("# OK\n\nText.\n", encoding="utf-8")
    from rag import documents

    real = documents.find_files

    def listed_then_removed(paths):
        files = real(paths)
        (tmp_path / "gone.md").unlink()
        return files

    monkeypatch.setattr(documents, "find_files", listed_then_removed)
    with caplog.at_level(logging.WARNING):
        assert [d.id for d in load_documents([tmp_path])] == ["ok"]
    assert "gone.md: could not be read" in caplog.text
