"""The `rag` command, run as a user would: in a subprocess."""
import json
import subprocess
import sys

from tests.conftest import QUESTIONS, rag_env


def rag(*args, **env):
    return subprocess.run([sys.executable, "-m", "rag.cli", *map(str, args)], capture_output=True, text=True,
                          env=rag_env(**env), timeout=300)


def test_search_json(built_index):
    out = rag("search", "How satisfied were carers with social services in Blackpool?", "-k", 3, "--json",
              "--index-dir", built_index.index_dir)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["query"].startswith("How satisfied") and result["mode"] == "hybrid"
    assert len(result["results"]) == 3
    first = result["results"][0]
    assert set(first) >= {"text", "doc", "title", "section", "start", "end", "score"}
    assert "44.68% of carers were satisfied" in first["text"]


def test_search_text_output_numbers_passages(built_index):
    out = rag("search", "Blackpool safeguarding score", "-k", 2, "--council", "Blackpool", "--index-dir",
              built_index.index_dir)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("mode: hybrid")
    assert "\n1. " in out.stdout and "\n2. " in out.stdout and "Safeguarding" in out.stdout


def test_eval_json_has_metrics_and_ranked_passages(built_index):
    out = rag("eval", QUESTIONS, "--json", "--mode", "bm25", "--index-dir", built_index.index_dir)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert set(report["metrics"]) >= {"n", "hit1", "hit5", "mrr10", "p50_ms", "p95_ms"}
    assert report["metrics"]["n"] == 30 and report["metrics"]["mode"] == "bm25"
    q = report["questions"][0]
    assert set(q) >= {"id", "q", "rank", "passages", "answer", "found", "answer_hit"} and len(q["passages"]) == 10


def test_eval_text_lists_the_misses(built_index):
    out = rag("eval", QUESTIONS, "--mode", "bm25", "--index-dir", built_index.index_dir)
    assert out.returncode == 0, out.stderr
    assert "hit@1" in out.stdout and "MRR@10" in out.stdout and "not at rank 1:" in out.stdout


def test_index_reports_up_to_date(built_index):
    out = rag("index", "--index-dir", built_index.index_dir, "-q")
    assert out.returncode == 0, out.stderr
    assert "up to date" in out.stdout


def test_errors_are_one_line_without_traceback(tmp_path):
    out = rag("search", "anything", "--index-dir", tmp_path / "none")
    assert out.returncode == 1
    assert out.stderr.startswith("error: No index found") and "rag index" in out.stderr
    assert "Traceback" not in out.stderr
    out = rag("eval", tmp_path / "missing.jsonl", "--index-dir", tmp_path / "none")
    assert out.returncode == 1 and "Traceback" not in out.stderr and "missing.jsonl" in out.stderr
    out = rag("index", tmp_path / "report.pdf", "--index-dir", tmp_path / "i")
    assert out.returncode == 1 and "Traceback" not in out.stderr


def test_bad_arguments_are_refused(built_index):
    out = rag("search", "   ", "--index-dir", built_index.index_dir)
    assert out.returncode == 1 and "empty" in out.stderr
    out = rag("search", "x", "-k", 0, "--index-dir", built_index.index_dir)
    assert out.returncode == 1 and "between 1 and 50" in out.stderr


def test_ask_prints_a_cited_answer_and_follows_up(built_index):
    out = rag("ask", "What score did Blackpool get for safeguarding?", "and for assessing needs?",
              "--index-dir", built_index.index_dir)
    assert out.returncode == 0, out.stderr
    first, second = out.stdout.split("> and for assessing needs?")
    assert "Score: 1" in first and "Sources:" in first and "(quoted)" in first
    assert "Assessing needs" in second
    bad = rag("ask", "", "--index-dir", built_index.index_dir)
    assert bad.returncode == 1 and bad.stderr.startswith("error: The question is empty") and "Traceback" not in bad.stderr
