"""Shared fixtures. One real index (real model, real FAISS) is built from corpus/ once per test session.

Tests that need the real model, that index or a server process are marked `slow` (by the fixtures they
use, below, or by hand); `pytest -m "not slow"` is the fast loop: no model, the whole corpus indexed
with FAISS and a deterministic fake embedder (hashed bag of words) standing in for MiniLM.
"""
from __future__ import annotations

import os
import shutil
import zlib
from pathlib import Path

import numpy as np
import pytest

from rag.config import PROJECT_ROOT, Settings

CORPUS = PROJECT_ROOT / "corpus"
QUESTIONS = PROJECT_ROOT / "eval" / "questions.jsonl"
BLACKPOOL_REPORT = CORPUS / "blackpool-council-local-authority-assessment-2025-08-06.md"


# Fixtures that need the real model (or build with it): a test using any of them is `slow`.
SLOW_FIXTURES = {"built_index", "service", "small_index", "small_corpus",
                 "three_formats"}  # tests/test_formats.py: the report indexed from three formats


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


FAKE_MODEL = "fake-hashed-bag-of-words"


class FakeEmbedder:
    """A deterministic stand-in for the model: each of the project tokeniser's terms adds one to a
    hashed coordinate (crc32, so the same in every process), then the vector is normalised. Texts that
    share words are close, as with the real model, at no cost."""

    name = FAKE_MODEL
    dimension = 384

    def encode(self, texts, batch_size: int = 32, progress=False, threads=None) -> np.ndarray:
        from rag.text import tokenize

        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            for term in tokenize(text) or ["\x00empty"]:
                out[i, zlib.crc32(term.encode()) % self.dimension] += 1.0
            if callable(progress):
                progress(1)
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def encode_many(self, texts, progress=False) -> np.ndarray:
        return self.encode(texts, progress=progress)


@pytest.fixture(scope="session", autouse=True)
def fake_model_available():
    """`get_embedder(FAKE_MODEL)` gives the fake; every other name the real model, as ever."""
    import rag.embedding

    real = rag.embedding.get_embedder
    fake = FakeEmbedder()

    def get_embedder(name: str = rag.embedding.DEFAULT_MODEL, quantized: bool = False):
        return fake if name == FAKE_MODEL else real(name, quantized)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(rag.embedding, "get_embedder", get_embedder)
        yield fake


@pytest.fixture(scope="session")
def fake_index(tmp_path_factory) -> Settings:
    """The whole shipped corpus indexed (real chunking, BM25, FAISS, answer spans) with the fake embedder."""
    from rag.index import build_index

    settings = Settings(corpus_dir=CORPUS, index_dir=tmp_path_factory.mktemp("fake-index"), model=FAKE_MODEL)
    build_index(settings)
    return settings


@pytest.fixture(scope="session")
def fake_service(fake_index):
    from rag.service import Service

    return Service(fake_index)


@pytest.fixture(scope="session")
def built_index(tmp_path_factory) -> Settings:
    from rag.index import build_index

    settings = Settings(corpus_dir=CORPUS, index_dir=tmp_path_factory.mktemp("index"))
    build_index(settings)
    return settings


@pytest.fixture(scope="session")
def service(built_index):
    from rag.service import Service

    return Service(built_index)


@pytest.fixture
def small_corpus(tmp_path) -> Path:
    """Two short news articles and their metadata: quick to index."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name in ("lancashire-rated-requires-improvement-news.txt", "blackpool-council-improvement-plan-news-2025-09-11.txt"):
        shutil.copy(CORPUS / name, folder / name)
    shutil.copy(CORPUS / "documents.json", folder / "documents.json")
    return folder


def rag_env(**extra) -> dict:
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    env.update({k: str(v) for k, v in extra.items()})
    return env


@pytest.fixture
def small_index(small_corpus, tmp_path) -> Settings:
    from rag.index import build_index

    settings = Settings(corpus_dir=small_corpus, index_dir=tmp_path / "index")
    build_index(settings)
    return settings
