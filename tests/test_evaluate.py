"""rag eval on the pool's kinds of sets, the tune/validation split, and the HTML report."""
import json

import pytest

from rag import report
from rag.evaluate import evaluate_file, load_questions, mentions_all, set_kind, split_of
from rag.errors import RagError
from tests.conftest import PROJECT_ROOT

POOL = PROJECT_ROOT / "eval" / "pool"


def test_the_split_is_stable_and_about_forty_percent():
    ids = [q["id"] for q in load_questions(POOL / "factual.jsonl")]
    validation = [i for i in ids if split_of(i) == "validation"]
    assert 0.3 < len(validation) / len(ids) < 0.5
    assert [split_of(i) for i in ids] == [split_of(i) for i in ids]
    tune = load_questions(POOL / "factual.jsonl", "tune")
    assert not {q["id"] for q in tune} & set(validation)


def test_each_pool_file_is_read_as_its_kind():
    kinds = {f.stem: set_kind(load_questions(f)) for f in POOL.glob("*.jsonl")}
    assert kinds == {"dialogs": "dialogs", "factual": "retrieval", "messy": "retrieval",
                     "performance": "mentions", "unanswerable": "unanswerable"}


def test_must_mention_needs_every_group():
    assert mentions_all("Rated Requires improvement; waits of 226 days", [["requires improvement"], ["wait"]])
    assert not mentions_all("Rated Requires improvement", [["requires improvement"], ["wait"]])
    assert mentions_all("seven 3s", [["seven", "7"]])


def test_a_malformed_question_file_says_what_it_needs(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "turns": [{"no": "q"}]}\n')
    with pytest.raises(RagError, match="turns"):
        load_questions(bad)


def test_report_is_self_contained_with_every_miss(service, tmp_path):
    reports = [evaluate_file(service, POOL / "performance.jsonl", "validation"),
               evaluate_file(service, POOL / "factual.jsonl", "validation")]
    peers = tmp_path / "peers.json"
    peers.write_text(json.dumps({"results": [{"system": "haystack", "config": "bm25 200 words",
                                              "set": "eval/pool/factual.jsonl", "split": "validation",
                                              "hit1": 0.5, "hit5": 0.8, "mrr10": 0.6}]}))
    out = tmp_path / "report.html"
    report.write(out, reports, report.load_peers(peers))
    html = out.read_text()
    assert "<script" not in html and "http://" not in html and "https://" not in html  # nothing from elsewhere
    assert html.count("<svg") == 2 and "haystack (bm25 200 words)" in html
    for r in reports:
        for miss in report.misses(r):
            assert miss["id"] in html
