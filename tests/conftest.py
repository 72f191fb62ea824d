"""Shared fixtures. One real index (real model, real FAISS) is built from corpus/ once per test session."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from rag.config import PROJECT_ROOT, Settings

CORPUS = PROJECT_ROOT / "corpus"
QUESTIONS = PROJECT_ROOT / "eval" / "questions.jsonl"
BLACKPOOL_REPORT = CORPUS / "blackpool-council-local-authority-assessment-2025-08-06.md"


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
