import json

import numpy as np

import pytest

from rag import index as index_module
from rag.config import Settings
from rag.errors import IndexDamaged, IndexMissing
from rag.index import FORMAT_VERSION, build_index, current_build, load_index
from rag.service import Service


def test_manifest_records_what_the_index_was_built_from(built_index):
    idx = load_index(built_index.index_dir)
    m = idx.manifest
    assert m["format_version"] == FORMAT_VERSION
    assert m["model"] == {"name": "all-MiniLM-L6-v2", "dimension": 384}
    assert m["passage_count"] == len(idx.passages) == idx.vectors.ntotal
    assert {d["id"] for d in m["documents"]} == set(idx.documents)
    assert all(len(d["sha256"]) == 64 for d in m["documents"])
    assert set(m["files"]) == {"documents.json", "passages.json", "bm25.json", "vectors.faiss", "spans.json", "spans.npy"}
    assert m["built_at"]


def test_passage_text_is_a_slice_of_the_document(built_index):
    idx = load_index(built_index.index_dir)
    for p in idx.passages:
        assert idx.text(p) == idx.documents[p.doc_id].text[p.start:p.end]


def test_passage_at_finds_the_passage_holding_an_offset(built_index):
    index = load_index(built_index.index_dir)
    for p in index.passages:
        assert index.passage_at(p.doc_id, p.start) == p
        assert index.passage_at(p.doc_id, p.end - 1) == p
    assert index.passage_at("no-such-document", 0) is None
    assert index.passage_at(index.passages[0].doc_id, -1) is None


def test_rebuild_embeds_only_what_changed(small_corpus, tmp_path):
    settings = Settings(corpus_dir=small_corpus, index_dir=tmp_path / "index")
    first = build_index(settings)
    assert first.embedded == first.passages > 0
    again = build_index(settings)
    assert again.up_to_date and again.embedded == 0
    changed = small_corpus / "lancashire-rated-requires-improvement-news.txt"
    changed.write_text(changed.read_text(encoding="utf-8") + "\n\nA new closing paragraph about waiting lists.\n",
                       encoding="utf-8")
    third = build_index(settings)
    assert not third.up_to_date
    assert 0 < third.embedded < third.passages  # the Blackpool article was reused
    assert any("closing paragraph" in load_index(settings.index_dir).text(p)
               for p in load_index(settings.index_dir).passages)


def test_a_missing_index_says_what_to_run(tmp_path):
    with pytest.raises(IndexMissing, match="rag index"):
        load_index(tmp_path / "nowhere")


def test_a_truncated_file_is_caught_by_its_checksum(small_index):
    passages = current_build(small_index.index_dir) / "passages.json"
    passages.write_bytes(passages.read_bytes()[:-20])
    with pytest.raises(IndexDamaged, match="passages.json.*rag index"):
        load_index(small_index.index_dir)


def test_an_unreadable_manifest_is_reported(small_index):
    (current_build(small_index.index_dir) / "manifest.json").write_text("{", encoding="utf-8")
    with pytest.raises(IndexDamaged, match="manifest"):
        load_index(small_index.index_dir)


def test_an_index_of_another_format_is_refused(small_index):
    path = current_build(small_index.index_dir) / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["format_version"] = 999
    path.write_text(json.dumps(manifest))
    with pytest.raises(IndexDamaged, match="format 999"):
        load_index(small_index.index_dir)


def test_without_the_vector_file_search_falls_back_to_bm25(small_index):
    (current_build(small_index.index_dir) / "vectors.faiss").unlink()
    service = Service(small_index)
    result = service.search("Who will oversee Blackpool's improvement?")
    assert result["mode"] == "bm25"
    assert result["results"]


def test_an_interrupted_build_leaves_the_last_good_index(small_index, monkeypatch, small_corpus):
    before = current_build(small_index.index_dir)
    (small_corpus / "extra.md").write_text("# Extra\n\nMore text about Blackpool.\n", encoding="utf-8")

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(index_module.faiss, "write_index", crash)
    with pytest.raises(KeyboardInterrupt):
        build_index(small_index)
    assert current_build(small_index.index_dir) == before
    assert len(load_index(small_index.index_dir).documents) == 2
    assert not [p for p in small_index.index_dir.iterdir() if p.name.endswith(".partial")]


def test_small_vector_files_are_read_into_memory_large_ones_mapped(built_index):
    import os

    copied = load_index(built_index.index_dir)
    assert copied.vectors_in_memory and copied.vectors.ntotal == len(copied.passages)
    assert str(copied.path / "vectors.faiss") not in open(f"/proc/{os.getpid()}/maps").read()
    mapped = load_index(built_index.index_dir, mmap_above=0)  # every file counts as large
    assert not mapped.vectors_in_memory and mapped.vectors.ntotal == len(mapped.passages)
    assert str(mapped.path / "vectors.faiss") in open(f"/proc/{os.getpid()}/maps").read()


def test_answer_spans_are_embedded_at_build_so_answering_encodes_only_the_question(built_index):
    from rag.answer import AnswerPicker, candidate_spans
    from rag.embedding import get_embedder

    idx = load_index(built_index.index_dir)
    p = idx.passages[5]
    keys = [(p.doc_id, s, e) for s, e, _ in candidate_spans(idx.documents[p.doc_id].text, p.start, p.end)]
    stored = idx.span_vectors(keys)
    assert keys and all(v is not None for v in stored)
    fresh = get_embedder().encode([idx.documents[d].text[s:e] for d, s, e in keys])
    assert (np.stack(stored) * fresh).sum(axis=1).min() > 0.9999

    class Counting:
        dimension = 384
        calls: list[list[str]] = []

        def encode(self, texts):
            self.calls.append(list(texts))
            return get_embedder().encode(texts)

    counting = Counting()
    service = Service(built_index)
    hits = service.retriever.search("How long did people wait for an assessment in Blackpool?", 10)
    answer = AnswerPicker(idx, counting).pick("How long did people wait for an assessment in Blackpool?", hits)
    assert answer is not None and counting.calls == [["How long did people wait for an assessment in Blackpool?"]]
