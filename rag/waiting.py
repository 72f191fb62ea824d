"""Running a request's synchronous service code on the event loop, which waits for the question encoder
without blocking the loop.

A search is Python from end to end but for one wait: the model, which runs in the encoding thread
(rag/embedding.py, QueryBatcher). Run in a thread of its own (FastAPI's way with a plain `def` route),
every request in flight is a thread contending for the GIL, and each request hops from the loop to a
thread and back. `run` instead runs the call in a greenlet on the loop's thread: where the code would
block on the encoder's future (`result`), the greenlet hands the future to the loop, which awaits it and
runs other requests meanwhile, then switches back into the call with the vectors. So one thread runs a
worker's Python and one the model. The same code called outside `run` (the CLI, tests, a thread) blocks
on the future as before. The code run must not hold a lock across a wait: another request's greenlet on
the same thread could then take it too (a threading.Lock would deadlock, an RLock let it in).
"""
from __future__ import annotations

import asyncio
import contextvars
from concurrent.futures import Future

from greenlet import getcurrent, greenlet


class _Call(greenlet):
    """A greenlet started by `run`: only these hand their waits to the loop."""


_in_flight = 0  # calls started by `run` and not finished, on this process's loop


async def run(fn, *args, **kwargs):
    """`fn(*args, **kwargs)` on this thread, its waits for futures (`result`) awaited on the running loop."""
    global _in_flight
    call = _Call(lambda: fn(*args, **kwargs))
    call.gr_context = contextvars.copy_context()  # the request's context variables, as a thread would have
    _in_flight += 1
    try:
        waited = call.switch()
        while not call.dead:
            try:
                value = await asyncio.wrap_future(waited)
            except asyncio.CancelledError:
                call.throw(asyncio.CancelledError)  # unwind the call here, on its own thread
                raise
            except BaseException as exc:  # the encoder's failure is raised where the call waited
                waited = call.throw(exc)
            else:
                waited = call.switch(value)
        return waited
    finally:
        _in_flight -= 1


def result(future: Future):
    """The future's result: awaited on the loop inside `run`, else waited for here."""
    current = getcurrent()
    if isinstance(current, _Call):
        return current.parent.switch(future)
    return future.result()


def on_loop() -> bool:
    """Whether the caller runs inside `run`: it must not block (e.g. run the model itself) unless alone."""
    return isinstance(getcurrent(), _Call)


def alone() -> bool:
    """Whether the caller is the only call `run` has in flight (a lone request may encode on the loop)."""
    return _in_flight <= 1
