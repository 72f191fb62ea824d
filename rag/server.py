"""Running the app under uvicorn, hardened: what `rag serve` starts.

- Timeouts: a client has RAG_HEADER_TIMEOUT seconds to send a request's headers (uvicorn has no such
  limit: a client sending a header line every few seconds held its connection for ever), the body read
  timeout is BodySizeLimit's, an idle keep-alive connection is closed after RAG_KEEP_ALIVE seconds, and
  a request head over 16 KB is refused (h11's limit, stated).
- Forwarded headers (X-Forwarded-For, X-Forwarded-Proto) are believed only from RAG_TRUSTED_PROXIES;
  by default from nobody (uvicorn would trust them from 127.0.0.1).
- Workers: with --workers N each worker listens on a socket of its own (SO_REUSEPORT), so the kernel
  spreads new connections evenly; a worker that dies is replaced on its socket, and the log says which
  and why.
- The garbage collector: what the app loaded is frozen out of its scans, and it runs less often
  (settle_gc): its pauses were the slowest requests' wait.
"""
from __future__ import annotations

import gc
import logging
import signal
import socket
import sys

import h11
from uvicorn import Config, Server
from uvicorn.config import STARTUP_FAILURE
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.supervisors.multiprocess import Multiprocess, Process

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
        self._requested = False  # a request's headers have come on this connection
        self._last = False  # shutting down: its first request is answered, then it is closed

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
            self._requested = True
            if self._last and self.cycle is not None:
                self.cycle.keep_alive = False

    def on_response_complete(self) -> None:
        if not self.transport.is_closing():
            self._arm()  # before: the next pipelined request may start (and disarm) inside
        super().on_response_complete()

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    def shutdown(self) -> None:
        """A graceful shutdown (SIGHUP's worker replacement, SIGTERM) closes idle connections. A connection just
        accepted, whose first request has not been read yet, is not idle: its client has sent the request or is
        sending it, and closing it would reset it (seen in the SIGHUP test, one request in a few thousand). It is
        answered, then closed; the header timeout bounds the wait for a request that never comes."""
        if self.cycle is None and not self._requested and not self.transport.is_closing():
            self._last = True
            return
        super().shutdown()

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


def listening_sockets(config: Config, n: int) -> list[socket.socket]:
    """`n` listening sockets on the configured address, each with SO_REUSEPORT: the kernel spreads new
    connections over them, one socket for each worker. With one socket for all, whichever worker woke
    first took every connection waiting: 32 keep-alive clients arriving together split 30 / 2 or 26 / 6
    between two workers, and the busier one's clients waited more than twice as long. The address is
    first bound without SO_REUSEPORT, so a port another server holds is refused as before instead of
    silently shared; a port 0 is chosen once, for all the sockets."""
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET
    port = config.port
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((config.host, port))
            port = probe.getsockname()[1]
        sockets = []
        for _ in range(n):
            sock = socket.socket(family, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((config.host, port))
            sock.listen(config.backlog)
            sock.set_inheritable(True)
    except OSError as exc:
        log.error("cannot listen on %s:%s: %s", config.host, port, exc.strerror or exc)
        sys.exit(1)
    return sockets


class Supervisor(Multiprocess):
    """uvicorn's worker supervisor, with one listening socket for each worker (`sockets[i]` is worker i's,
    see listening_sockets). A worker that dies is replaced on its socket, where the connections the kernel
    sent it meanwhile wait for the replacement, and the log says which worker died and why (uvicorn says it
    only at info level, without the reason). The number of workers is fixed at start (SIGTTIN and SIGTTOU
    are ignored: a new worker would need a socket of its own)."""

    def _start(self, slot: int) -> Process:
        process = Process(self.config, [self.sockets[slot]])
        process.start()
        return process

    def init_processes(self) -> None:
        self.processes = [self._start(slot) for slot in range(self.processes_num)]

    def keep_subprocess_alive(self) -> None:
        if self.should_exit.is_set():
            return
        for slot, process in enumerate(self.processes):
            if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            hung = process.process.is_alive()  # alive but not answering uvicorn's health check
            process.kill()
            process.join()
            if process.exitcode == STARTUP_FAILURE:  # the app cannot start: it would fail the same way again
                log.error("worker process %s failed to start; stopping", process.pid)
                self.should_exit.set()
                return
            if self.should_exit.is_set():
                return
            why = "stopped answering, so it was killed" if hung else f"died ({_why(process.exitcode)})"
            log.error("worker process %s %s; starting a new one", process.pid, why)
            self.processes[slot] = self._start(slot)

    def restart_all(self) -> None:
        """SIGHUP: each worker replaced in turn, its replacement serving on its socket before it stops."""
        for slot, old in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            new = self._start(slot)
            if not new.wait_until_ready(self.config.timeout_worker_healthcheck, self.should_exit):
                new.kill()
                new.join()
                log.error("worker process %s was not ready in time; keeping %s", new.pid, old.pid)
                return
            old.terminate()
            old.join()
            self.processes[slot] = new

    def handle_ttin(self) -> None:
        log.warning("the number of workers is fixed at start (each listens on a socket of its own)")

    handle_ttou = handle_ttin


# Python's default is 700: a worker under load collected its youngest objects about 25 times a second (0.4 ms
# each) and every object it holds now and then (five times in 30 s, 110-130 ms each, every request in the worker
# held up); at 10,000, ten young collections in 30 s, 3-5 ms each.
GC_THRESHOLD = 10_000


def settle_gc() -> None:
    """Once the app has loaded its index: everything alive now (the index, the models, the memos so far) is
    moved out of the collector's reach (gc.freeze: still freed when no longer referenced, only not scanned
    for cycles), and the youngest objects are collected less often. Measured (bench/load.py, 2 workers, 32
    clients): search p99 184 ms without, 129-143 ms with."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])


def worker_app():
    """The app each worker of `rag serve --workers N` makes (uvicorn calls this factory in the worker)."""
    from .app import create_app

    app = create_app()
    settle_gc()
    return app


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
    """Serve `app` (an ASGI app, or "module:factory" for workers, each of which calls it: worker_app)."""
    config = uvicorn_config(settings, app, workers)
    server = Server(config)
    if workers > 1:
        Supervisor(config, sockets=listening_sockets(config, workers)).run()
    else:
        settle_gc()
        server.run()
