"""The ONNX encoder gives PyTorch's vectors, without PyTorch on the question path."""
import json
import subprocess
import sys

import numpy as np
import pytest

from rag.embedding import get_embedder, resolve_model
from tests.conftest import CORPUS, QUESTIONS, rag_env

pytestmark = pytest.mark.slow


def test_onnx_vectors_match_pytorch_on_the_dev_questions_and_passages():
    from sentence_transformers import SentenceTransformer

    questions = [json.loads(line)["q"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    report = (CORPUS / "blackpool-council-local-authority-assessment-2025-08-06.md").read_text(encoding="utf-8")
    passages = [report[i:i + 2500] for i in range(0, 25000, 2500)]  # past the 256-token limit: truncated alike
    texts = questions + passages
    reference = SentenceTransformer(resolve_model("all-MiniLM-L6-v2"), device="cpu").encode(
        texts, normalize_embeddings=True, convert_to_numpy=True)
    embedder = get_embedder()
    for got in (embedder.encode(texts), np.stack([embedder.encode([t])[0] for t in texts])):  # batched, alone
        assert got.shape == reference.shape and got.dtype == np.float32
        assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
        assert (got * reference).sum(axis=1).min() >= 0.9999


def test_questions_are_encoded_without_importing_pytorch():
    code = ("import sys; from rag.embedding import get_embedder, get_query_batcher; "
            "v = get_query_batcher(get_embedder()).encode(['What score did Blackpool get for safeguarding?']); "
            "assert v.shape == (1, 384), v.shape; "
            "assert 'torch' not in sys.modules and 'sentence_transformers' not in sys.modules; print('ok')")
    get_embedder()  # the export exists (it needs PyTorch, once)
    out = subprocess.run([sys.executable, "-c", code], env=rag_env(), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_repeated_texts_are_encoded_once_and_every_row_is_filled_in_order():
    embedder = get_embedder()
    texts = ["Safeguarding was rated good.", "A much longer sentence about waiting lists for care assessments in Blackpool.",
             "Safeguarding was rated good.", "Carers", "Safeguarding was rated good."]
    calls, done = [], []
    session = embedder._session(1)
    real_run = session.run

    class Counting:  # counts the texts the model is given
        def run(self, names, feed):
            calls.append(len(feed["input_ids"]))
            return real_run(names, feed)

    embedder._sessions[1] = Counting()
    try:
        many = embedder.encode_many(texts, progress=done.append)
    finally:
        embedder._sessions[1] = session
    assert sum(calls) == 3 and sum(done) == len(texts)
    alone = np.stack([embedder.encode([t])[0] for t in texts])
    assert many.shape == (5, 384) and (many * alone).sum(axis=1).min() >= 0.9999
    assert np.array_equal(many[0], many[2]) and np.array_equal(many[0], many[4])


def test_a_question_encoded_with_its_topic_in_one_call_gets_the_vectors_of_separate_calls():
    """The question parser encodes a new question's topic and the question itself in one model call
    (rag/query.py, StatementMatcher.by_meaning): both vectors are those of encoding each alone."""
    embedder = get_embedder()
    pairs = [("safeguarding (17)", "What score did Blackpool get for safeguarding? (17)"),
             ("joint working with the NHS", "How good is Blackpool at joint working with the NHS?"),
             ("waiting lists", "How long were the waiting lists for care assessments in Lancashire in 2024?")]
    for topic, question in pairs:
        together = embedder.encode([topic, question])
        alone = np.stack([embedder.encode([topic])[0], embedder.encode([question])[0]])
        assert (together * alone).sum(axis=1).min() >= 0.9999
