"""Service code run on the event loop (rag/waiting.py): where it waits for the question encoder, the loop runs
other requests; the call's result or failure comes back to the caller; outside `run` the same code blocks as
before. And the question batcher on the loop hands its texts to the encoding thread unless the request is alone."""
import asyncio
import threading
from concurrent.futures import Future

import numpy as np
import pytest

from rag import waiting
from rag.embedding import QueryBatcher
from tests.test_batcher import Model, _expected


def test_a_call_waiting_for_a_future_lets_the_loop_run_other_calls_on_the_same_thread():
    futures = [Future(), Future()]
    trace = []

    def service_call(i):
        trace.append((f"start {i}", threading.get_ident()))
        value = waiting.result(futures[i])
        trace.append((f"end {i}", threading.get_ident()))
        return value * 10

    async def main():
        calls = [asyncio.create_task(waiting.run(service_call, i)) for i in (0, 1)]
        await asyncio.sleep(0.01)  # both calls started and are waiting: neither holds the loop
        assert [name for name, _ in trace] == ["start 0", "start 1"]
        threading.Thread(target=lambda: (futures[1].set_result(2), futures[0].set_result(1))).start()
        return await asyncio.gather(*calls), threading.get_ident()

    results, loop_thread = asyncio.run(main())
    assert results == [10, 20]
    assert {thread for _, thread in trace} == {loop_thread}  # everything ran on the loop's thread
    assert [name for name, _ in trace][2:] in (["end 1", "end 0"], ["end 0", "end 1"])


def test_a_failure_is_raised_where_the_call_waited_and_out_of_run():
    future = Future()

    def service_call():
        try:
            waiting.result(future)
        except RuntimeError as exc:
            raise ValueError(f"caught {exc}") from exc

    async def main():
        task = asyncio.create_task(waiting.run(service_call))
        await asyncio.sleep(0.01)
        future.set_exception(RuntimeError("model broke"))
        return await task

    with pytest.raises(ValueError, match="caught model broke"):
        asyncio.run(main())


def test_a_call_that_does_not_wait_returns_at_once_and_outside_run_result_blocks_as_before():
    assert asyncio.run(waiting.run(lambda a, b=0: a + b, 1, b=2)) == 3
    future = Future()
    threading.Timer(0.01, future.set_result, ("done",)).start()
    assert waiting.result(future) == "done"
    assert not waiting.on_loop()


def test_the_batcher_on_the_loop_encodes_a_lone_request_itself_and_hands_the_rest_to_its_thread():
    model = Model()
    batcher = QueryBatcher(model)

    async def lone():
        return await waiting.run(batcher.encode, ["a lone question"]), threading.current_thread().name

    vectors, loop_thread = asyncio.run(lone())
    assert model.calls == [(["a lone question"], loop_thread)]
    assert np.array_equal(vectors, _expected(["a lone question"]))

    async def together():
        # another request in flight (here waiting on its own future): the model must not run on the loop,
        # which would hold that request up
        other = Future()
        waiting_call = asyncio.create_task(waiting.run(waiting.result, other))
        await asyncio.sleep(0.01)
        encoded = await asyncio.gather(waiting.run(batcher.encode, ["b"]), waiting.run(batcher.encode, ["cc"]))
        other.set_result(None)
        await waiting_call
        return encoded

    b, cc = asyncio.run(together())
    assert np.array_equal(b, _expected(["b"])) and np.array_equal(cc, _expected(["cc"]))
    assert all(thread == "query-encoder" for _, thread in model.calls[1:])
    assert sorted(t for texts, _ in model.calls[1:] for t in texts) == ["b", "cc"]
