"""What `rag serve` runs on for speed: uvicorn's event loop is uvloop (libuv) where it is installed, and with
--workers N each worker listens on a socket of its own (SO_REUSEPORT), over which the kernel spreads connections."""
import asyncio
import sys

import pytest

from rag.config import Settings
from rag.server import listening_sockets, uvicorn_config


@pytest.mark.skipif(sys.platform == "win32", reason="uvloop is not made for Windows")
def test_the_server_runs_on_uvloop():
    import uvloop

    factory = uvicorn_config(Settings(), "rag.app:create_app").get_loop_factory()
    loop = factory()
    try:
        assert isinstance(loop, uvloop.Loop)
        assert loop.run_until_complete(asyncio.sleep(0, result="ran")) == "ran"
    finally:
        loop.close()


def test_each_worker_listens_on_a_socket_of_its_own_on_one_port():
    import socket

    config = uvicorn_config(Settings(host="127.0.0.1"), "rag.app:create_app", workers=3)
    config.port = 0  # any free port (the settings ask for 1 or more)
    sockets = listening_sockets(config, 3)
    try:
        ports = {s.getsockname()[1] for s in sockets}
        assert len(sockets) == 3 and len(ports) == 1 and 0 not in ports  # a port 0 is chosen once, for all
        assert all(s.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) for s in sockets)
        assert all(s.get_inheritable() for s in sockets)  # handed to the spawned workers
        # the kernel spreads new connections over the sockets: with 3 sockets and 60 connections, some reach each
        port = ports.pop()
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(60)]
        accepted = []
        for s in sockets:
            s.settimeout(0.2)
            n = 0
            try:
                while True:
                    conn, _ = s.accept()
                    conn.close()
                    n += 1
            except (TimeoutError, socket.timeout):
                pass
            accepted.append(n)
        for c in clients:
            c.close()
        assert sum(accepted) == 60 and all(n > 0 for n in accepted), accepted
    finally:
        for s in sockets:
            s.close()


def test_a_port_another_server_holds_is_refused_not_shared(caplog):
    import socket

    with socket.socket() as other:  # another server, without SO_REUSEPORT
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        config = uvicorn_config(Settings(host="127.0.0.1", port=port), "rag.app:create_app", workers=2)
        with pytest.raises(SystemExit):
            listening_sockets(config, 2)
    assert f"cannot listen on 127.0.0.1:{port}" in caplog.text
    # and one `rag serve --workers 2` cannot join another's sockets either: its probe is refused
    config = uvicorn_config(Settings(host="127.0.0.1"), "rag.app:create_app", workers=2)
    config.port = 0
    first = listening_sockets(config, 2)
    try:
        config = uvicorn_config(Settings(host="127.0.0.1", port=first[0].getsockname()[1]), "rag.app:create_app",
                                workers=2)
        with pytest.raises(SystemExit):
            listening_sockets(config, 2)
    finally:
        for s in first:
            s.close()


def test_the_collector_leaves_what_the_app_loaded_alone_and_runs_less_often():
    import subprocess

    code = ("import gc; from rag.server import GC_THRESHOLD, settle_gc; loaded = [[i] for i in range(5000)]; "
            "before = gc.get_freeze_count(); settle_gc(); "
            "print(before == 0, gc.get_freeze_count() >= 5000, gc.get_threshold()[0] == GC_THRESHOLD > 700)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["True", "True", "True"], out.stderr


def test_a_build_loaded_before_the_freeze_is_still_freed_when_a_reload_replaces_it(small_corpus, tmp_path):
    """settle_gc freezes the first build out of the collector's scans: when a reload replaces it, nothing of it
    may stay behind (a reference cycle among frozen objects would never be collected)."""
    import gc
    import weakref

    from rag.index import build_index
    from rag.service import Service
    from tests.conftest import FAKE_MODEL

    settings = Settings(corpus_dir=small_corpus, index_dir=tmp_path / "index", model=FAKE_MODEL, watch_index=False)
    build_index(settings)
    service = Service(settings)
    service.ask("How many people were waiting for assessments in Lancashire?")
    first = [weakref.ref(x) for x in (service.loaded, service.loaded.index, service.loaded.answers,
                                      service.loaded.retriever, service.loaded.understander)]
    gc.collect()
    gc.freeze()
    try:
        (small_corpus / "extra.txt").write_text("# Lancashire update\n\nLancashire County Council met in June.\n",
                                                encoding="utf-8")
        build_index(settings)
        assert service.reload_if_changed()
        service.ask("How many people were waiting for assessments in Lancashire?")
        gc.collect()
        assert [ref() is None for ref in first] == [True] * len(first)
    finally:
        gc.unfreeze()


def test_a_connection_accepted_before_a_graceful_shutdown_gets_its_answer():
    """SIGHUP replaces a worker by shutting it down gracefully: a connection it had just accepted, whose request
    had not been read yet, was closed under the client (a reset). Now it is answered, then closed."""
    import socket
    import threading
    import time

    from uvicorn import Server

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain"), (b"content-length", b"8")]})
        await send({"type": "http.response.body", "body": b"answered"})

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn_config(Settings(port=port, host="127.0.0.1"), app)
    config.lifespan = "off"
    server = Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    client = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        while not server.server_state.connections:  # accepted, no request sent yet
            assert time.monotonic() < deadline
            time.sleep(0.01)
        server.should_exit = True  # what SIGTERM sets
        # until the shutdown has reached the connection: kept for its request (the fix) or closed (without it)
        while any(not c._last for c in list(server.server_state.connections)):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        reply = b""
        while chunk := client.recv(4096):
            reply += chunk
    finally:
        client.close()
        thread.join(timeout=30)
    assert reply.startswith(b"HTTP/1.1 200") and reply.endswith(b"answered"), reply  # and then closed (recv saw the end)
    assert not thread.is_alive()
