"""The question batcher (rag/embedding.py QueryBatcher): a caller that finds the model idle encodes its own texts in
its own thread; texts that arrive while the model is busy wait and go together in the next call; either way each
caller gets the vectors the model gives, or its failure."""
import threading

import numpy as np
import pytest

from rag.embedding import QueryBatcher


class Model:
    """Records each call (its texts and thread); `hold` keeps a call waiting until released."""
    dimension = 4

    def __init__(self):
        self.calls: list[tuple[list[str], str]] = []
        self.hold: threading.Event | None = None
        self.entered = threading.Event()
        self.fail = False

    def encode(self, texts, batch_size=64):
        self.calls.append((list(texts), threading.current_thread().name))
        self.entered.set()
        if self.hold is not None:
            self.hold.wait(10)
        if self.fail:
            raise RuntimeError("model broke")
        out = np.array([[len(t), t.count("a"), 1.0, 0.0] for t in texts], dtype=np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def _expected(texts):
    out = np.array([[len(t), t.count("a"), 1.0, 0.0] for t in texts], dtype=np.float32)
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_a_lone_caller_encodes_in_its_own_thread_in_one_call():
    model = Model()
    batcher = QueryBatcher(model)
    vectors = batcher.encode(["a question", "its topic", "a question"])
    assert model.calls == [(["a question", "its topic"], threading.current_thread().name)]
    assert np.array_equal(vectors, _expected(["a question", "its topic", "a question"]))
    assert np.array_equal(batcher.encode(["its topic"]), _expected(["its topic"]))  # remembered: no second call
    assert len(model.calls) == 1


def test_texts_arriving_while_the_model_is_busy_go_together_in_the_next_call():
    model = Model()
    batcher = QueryBatcher(model)
    model.hold = threading.Event()
    results: dict[str, np.ndarray] = {}
    first = threading.Thread(target=lambda: results.update(first=batcher.encode(["first question"])), name="first")
    first.start()
    assert model.entered.wait(10)  # the first caller is in the model, in its own thread
    others = [threading.Thread(target=lambda t=t: results.update({t: batcher.encode([t])})) for t in ("b", "cc", "ddd")]
    for t in others:
        t.start()
    for _ in range(1000):  # until all three wait for the model (the encoding thread may have taken one already)
        if batcher._queue.unfinished_tasks >= 3:
            break
        threading.Event().wait(0.01)
    model.hold.set()
    for t in (first, *others):
        t.join(10)
    assert model.calls[0] == (["first question"], "first")
    assert [(sorted(texts), thread) for texts, thread in model.calls[1:]] == [(["b", "cc", "ddd"], "query-encoder")]
    for text in ("b", "cc", "ddd"):
        assert np.array_equal(results[text], _expected([text]))
    assert np.array_equal(results["first"], _expected(["first question"]))


def test_a_failing_model_fails_the_caller_and_the_next_caller_still_gets_through():
    model = Model()
    batcher = QueryBatcher(model)
    model.fail = True
    with pytest.raises(RuntimeError, match="model broke"):
        batcher.encode(["a question"])
    model.fail = False
    assert np.array_equal(batcher.encode(["a question"]), _expected(["a question"]))
