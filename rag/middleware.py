"""HTTP plumbing around the app, as plain ASGI middleware: access log with request ids, a request body
size limit and read timeout, and a per-client rate limit."""
from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import time
import uuid

from .ratelimit import RateStore

access_log = logging.getLogger("rag.access")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _json_error(status: int, detail: str, headers: list[tuple[bytes, bytes]] = ()) -> tuple[dict, dict]:
    body = json.dumps({"detail": detail}).encode()
    start = {"type": "http.response.start", "status": status,
             "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                         (b"x-content-type-options", b"nosniff"),
                         (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"), *headers]}
    return start, {"type": "http.response.body", "body": body}


class AccessLog:
    """One line per request: request id, method, route, status, latency. The query string (which holds
    the question on /ask and /api/search) is left out unless log_questions is set. The id comes from a
    well-formed X-Request-ID header or is made here, and is returned in X-Request-ID."""

    def __init__(self, app, fmt: str = "text", log_questions: bool = False):
        self.app, self.fmt, self.log_questions = app, fmt, log_questions
        if fmt != "off" and not access_log.handlers:  # its own stream: the server's log level is not ours
            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter("%(message)s"))
            access_log.addHandler(handler)
            access_log.setLevel(logging.INFO)
            access_log.propagate = False

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        status = [None]
        gone = False
        t0 = time.perf_counter()

        async def send_with_id(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message = dict(message, headers=[*message.get("headers", []), (b"x-request-id", request_id.encode())])
            await send(message)

        async def receive_watching():
            nonlocal gone
            message = await receive()
            gone = gone or message["type"] == "http.disconnect"
            return message

        try:
            await self.app(scope, receive_watching, send_with_id)
        finally:
            if status[0] is None:  # no response: the client left first (499, as nginx says), or a fault (500)
                status[0] = 499 if gone else 500
            if self.fmt != "off":
                route = getattr(scope.get("route"), "path", None) or scope["path"]
                record = {"request_id": request_id, "method": scope["method"], "route": route,
                          "status": status[0], "ms": round((time.perf_counter() - t0) * 1000, 1)}
                if self.log_questions and scope.get("query_string"):
                    record["query"] = scope["query_string"].decode("latin-1")
                if self.fmt == "json":
                    access_log.info(json.dumps(dict(ts=round(time.time(), 3), **record)))
                else:
                    access_log.info("access " + " ".join(f"{k}={v}" for k, v in record.items()))


class BodySizeLimit:
    """Refuses a request body over max_bytes with 413, whether or not it declares its length, and one that
    takes over `timeout` seconds to arrive (a client sending less than its Content-Length, or trickling)
    with 408, closing the connection. The body (at most max_bytes) is read here first and handed on
    whole, so the app never sees a partial one. A client that disconnects mid-body gets no reply."""

    def __init__(self, app, max_bytes: int, larger: dict[tuple[str, str], int] | None = None,
                 timeout: float = 30.0):
        self.app, self.max_bytes, self.timeout = app, max_bytes, timeout
        self.larger = larger or {}  # (method, path) -> its own limit: report uploads

    @staticmethod
    async def refuse(send, status: int, detail: str):
        start, body = _json_error(status, detail, [(b"connection", b"close")])
        await send(start)
        await send(body)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.larger.get((scope.get("method", ""), scope.get("path", "")), self.max_bytes)
        size_text = f"{limit // 2**20} MB" if limit >= 2**20 else f"{limit // 1024} KB"
        too_big = f"The request body is over the {size_text} limit; send a shorter one."
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            return await self.refuse(send, 413, too_big)
        chunks, size = [], 0
        try:
            async with asyncio.timeout(self.timeout):
                while True:
                    message = await receive()
                    if message["type"] != "http.request":  # the client went away
                        return
                    chunks.append(message.get("body", b""))
                    size += len(chunks[-1])
                    if size > limit:
                        return await self.refuse(send, 413, too_big)
                    if not message.get("more_body"):
                        break
        except TimeoutError:
            return await self.refuse(send, 408, f"The request body did not arrive within {self.timeout:g} s "
                                                f"(is Content-Length right?); send it again.")
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class RateLimit:
    """A token bucket per client address (RateStore: in memory, or in the SQLite file all workers
    share): past it, 429 with Retry-After. Static files and /healthz are not counted. The address is
    the connection's, or the one a trusted proxy forwarded (uvicorn's proxy_headers, only for
    RAG_TRUSTED_PROXIES): a client's own X-Forwarded-For is never believed."""

    EXEMPT = ("/static/", "/healthz", "/favicon")

    def __init__(self, app, per_minute: int, db: str = ":memory:", clock=time.time):
        self.app = app
        self.store = RateStore(db, per_minute, clock) if per_minute > 0 else None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or self.store is None or scope["path"].startswith(self.EXEMPT):
            return await self.app(scope, receive, send)
        client = (scope.get("client") or ("unknown", 0))[0]
        wait = self.store.take(client)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            start, body = _json_error(429, f"Too many requests from your address; try again in {seconds} s.",
                                      [(b"retry-after", str(seconds).encode())])
            await send(start)
            return await send(body)
        await self.app(scope, receive, send)
