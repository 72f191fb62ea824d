"""Running the app under uvicorn, hardened: what `rag serve` starts.

- Timeouts: a client has RAG_HEADER_TIMEOUT seconds to send a request's headers (uvicorn has no such
  limit: a client sending a header line every few seconds held its connection for ever), the body read
  timeout is BodySizeLimit's, an idle keep-alive connection is closed after RAG_KEEP_ALIVE seconds, and
  a request head over 16 KB is refused (h11's limit, stated).
- Forwarded headers (X-Forwarded-For, X-Forwarded-Proto) are believed only from RAG_TRUSTED_PROXIES;
  by default from nobody (uvicorn would trust them from 127.0.0.1).
- Workers: with --workers N a worker that dies is replaced, and the log says which and why.
"""
from __future__ import annotations

import logging
import signal

import h11
from uvicorn import Config, Server
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.supervisors.multiprocess import Multiprocess

from .config import Settings

log = logging.getLogger("rag.server")

MAX_HEAD_BYTES = 16 * 1024  # request line and headers


class TimedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header read timeout. The clock starts when the connection opens or
    a response is finished (waiting for the next request) and stops when a request's headers are
    complete; at the deadline a client that has sent part of a request gets 408, and the connection is
    closed. The timeout is read from the uvicorn Config (`rag_header_timeout`), which workers inherit."""

    def __init__(self, config, *args, **kwargs):
        super().__init__(config, *args, **kwargs)
        self.header_timeout = getattr(config, "rag_header_timeout", 10.0)
        self._header_timer = None

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._arm()

    def handle_events(self) -> None:
        cycle = self.cycle
        super().handle_events()
        if self.cycle is not cycle:  # a request's headers arrived
            self._disarm()

    def on_response_complete(self) -> None:
        if not self.transport.is_closing():
            self._arm()  # before: the next pipelined request may start (and disarm) inside
        super().on_response_complete()

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self.conn.trailing_data[0]:  # part of a request came: say why it is cut off
            self.transport.write(b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
                                 b"connection: close\r\ncontent-length: 36\r\n\r\n"
                                 b"The request headers came too slowly.")
        try:
            self.conn.send(h11.ConnectionClosed())
        except h11.LocalProtocolError:
            pass
        self.transport.close()


def _why(exitcode: int) -> str:
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        hint = " (a memory-mapped file shrank under it?)" if name == "SIGBUS" else ""
        return f"killed by {name}{hint}"
    return f"exit status {exitcode}"


class Supervisor(Multiprocess):
    """uvicorn's worker supervisor, which replaces a dead worker, saying in the log which one died and
    why (uvicorn says it only at info level, without the reason)."""

    def keep_subprocess_alive(self) -> None:
        # Said of the workers uvicorn replaced, after it has reaped them: checked before, a worker dying in between
        # (a loaded machine) was replaced without a word.
        before = list(self.processes)
        super().keep_subprocess_alive()
        for process in before:
            if process not in self.processes:
                log.error("worker process %s died (%s); starting a new one", process.pid, _why(process.exitcode))


def uvicorn_config(settings: Settings, app, workers: int = 1) -> Config:
    trusted = settings.trusted_proxies.strip()
    config = Config(app, factory=isinstance(app, str), host=settings.host, port=settings.port, workers=workers,
                    # uvicorn's own access log would print each URL, question included: ours (rag.access) leaves it out.
                    log_level="warning", access_log=False,
                    proxy_headers=bool(trusted), forwarded_allow_ips=trusted or "",
                    server_header=False, timeout_keep_alive=settings.keep_alive,
                    h11_max_incomplete_event_size=MAX_HEAD_BYTES, http=TimedH11Protocol)
    config.rag_header_timeout = settings.header_timeout
    return config


def serve(settings: Settings, app, workers: int = 1) -> None:
    """Serve `app` (an ASGI app, or "module:factory" for workers, each of which calls it)."""
    config = uvicorn_config(settings, app, workers)
    server = Server(config)
    if workers > 1:
        Supervisor(config, sockets=[config.bind_socket()]).run()
    else:
        server.run()
