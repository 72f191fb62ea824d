"""An operator's mistake or a hostile client must not take the service down, bypass its limits or
redirect its users (issue 15). Where the behaviour lives in the server (uvicorn, worker processes,
memory-mapped files, sockets), the test runs a real `rag serve` and talks to it over a socket."""
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from rag.app import create_app
from rag.config import ConfigError, Settings
from rag.conversation import ConversationStore
from rag.errors import IndexDamaged
from rag.index import _point_current, current_build, load_index
from rag.ratelimit import RateStore
from rag.service import Service
from tests.conftest import rag_env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request(url: str, body: dict | None = None, headers: dict | None = None):
    """(status, JSON body) for any status, or (repr of the error, None) if there was no HTTP answer."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)
    except OSError as exc:
        return repr(exc), None


class Server:
    """`rag serve` in a subprocess on a free port, its log in a file; stopped (the whole group) on exit."""

    def __init__(self, index_dir: Path, log: Path, *args: str, **env):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rag.cli", "serve", "--port", str(self.port), "--index-dir", str(index_dir), *args],
            env=rag_env(**{"RAG_RATE_LIMIT": 0, **env}), stdout=subprocess.DEVNULL, stderr=open(log, "wb"),
            start_new_session=True)

    def __enter__(self):
        deadline = time.monotonic() + 180
        while request(self.base + "/healthz")[0] != 200:
            assert self.proc.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.3)
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=30)

    def raw(self, data: bytes, keep_sending=None, timeout: float = 30) -> bytes:
        """Send bytes on a new connection and read until the server closes it (or `timeout`)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.sendall(data)
            if keep_sending:
                keep_sending(s)
            out = b""
            while chunk := s.recv(65536):
                out += chunk
            return out


def search_url(base: str, q: str, **params) -> str:
    return base + "/api/search?" + urllib.parse.urlencode({"q": q, "k": 3, **params})


def writable(path: Path) -> Path:
    path.chmod(0o644)  # a build's files are read-only; an operator (or root) can still write them
    return path


# --- 1. the live index cannot be damaged under a running server ---

def test_a_vectors_file_truncated_under_the_server_leaves_it_answering_and_degraded(small_index, tmp_path):
    with Server(small_index.index_dir, tmp_path / "log") as server:
        vectors = current_build(small_index.index_dir) / "vectors.faiss"
        outcomes, stop = [], threading.Event()

        def keep_searching():
            n = 0
            while not stop.is_set():
                n += 1
                status, body = request(search_url(server.base, f"Blackpool improvement board {n}"))
                outcomes.append((status, body and body["mode"]))

        threads = [threading.Thread(target=keep_searching) for _ in range(3)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        with open(writable(vectors), "r+b") as f:  # in place, as `cp backup vectors.faiss` or a full disk would
            f.truncate(vectors.stat().st_size // 3)
        deadline = time.monotonic() + 30
        while (health := request(server.base + "/healthz")[1])["status"] != "degraded":
            assert time.monotonic() < deadline, health
            time.sleep(0.2)
        time.sleep(0.5)
        stop.set()
        for t in threads:
            t.join()
        assert server.proc.poll() is None
    assert outcomes and set(outcomes) == {(200, "hybrid")}, [o for o in outcomes if o != (200, "hybrid")][:3]
    assert any("vectors.faiss" in p and "copy verified at load" in p for p in health["problems"]), health
    assert health["mode"] == "hybrid"


def test_mapped_vectors_truncated_under_the_server_fall_back_to_bm25(small_index, tmp_path):
    with Server(small_index.index_dir, tmp_path / "log", RAG_VECTORS_MMAP_MB=0) as server:
        assert request(search_url(server.base, "improvement board"))[1]["mode"] == "hybrid"
        vectors = current_build(small_index.index_dir) / "vectors.faiss"
        with open(writable(vectors), "r+b") as f:
            f.truncate(100)
        deadline = time.monotonic() + 30
        while (health := request(server.base + "/healthz")[1])["status"] != "degraded":
            assert time.monotonic() < deadline, health
            time.sleep(0.2)
        status, body = request(search_url(server.base, "Who will oversee Blackpool's improvement?"))
        assert server.proc.poll() is None
    assert status == 200 and body["mode"] == "bm25" and body["results"]
    assert health["mode"] == "bm25" and any("BM25 only" in p for p in health["problems"])


def test_a_damaged_vectors_file_at_load_is_bm25_and_degraded(small_index):
    vectors = current_build(small_index.index_dir) / "vectors.faiss"
    writable(vectors).write_bytes(vectors.read_bytes()[:-10])
    health = Service(small_index).health()
    assert health["status"] == "degraded" and health["mode"] == "bm25"
    assert "vector file" in health["problems"][0] and "rag index" in health["problems"][0]


def test_builds_are_written_once_read_only(small_index):
    build = current_build(small_index.index_dir)
    assert all(not (p.stat().st_mode & 0o222) for p in build.iterdir())


def test_a_worker_that_dies_is_replaced_and_the_log_says_why(built_index, tmp_path):
    with Server(built_index.index_dir, tmp_path / "log", "--workers", "2", "-q") as server:
        # both workers serving first: one killed while uvicorn still waits for it to start is a failed start
        serving, deadline = set(), time.monotonic() + 300
        while len(serving) < 2:
            assert time.monotonic() < deadline, f"workers seen serving: {serving}"
            serving.add(request(server.base + "/healthz")[1]["worker"])
        victim = str(min(serving))
        os.kill(int(victim), signal.SIGBUS)
        deadline = time.monotonic() + 120
        while f"worker process {victim} died (killed by SIGBUS" not in server.log.read_text():
            assert time.monotonic() < deadline, server.log.read_text()
            time.sleep(0.3)
        statuses = {request(search_url(server.base, "safeguarding"))[0] for _ in range(6)}
        assert server.proc.poll() is None
    assert statuses == {200}


def test_sighup_replaces_each_worker_on_its_socket_and_every_request_is_answered(built_index, tmp_path):
    with Server(built_index.index_dir, tmp_path / "log", "--workers", "2", "-q") as server:
        def workers():
            return set(subprocess.run(["pgrep", "-P", str(server.proc.pid), "-f", "multiprocessing-fork"],
                                      capture_output=True, text=True).stdout.split())
        old, deadline = workers(), time.monotonic() + 300
        assert len(old) == 2, old
        os.kill(server.proc.pid, signal.SIGHUP)
        statuses = []
        while workers() & old or len(workers()) != 2:  # each replaced in turn, the new one serving first
            assert time.monotonic() < deadline, (old, workers(), server.log.read_text())
            statuses.append(request(search_url(server.base, "safeguarding"))[0])
        serving = set()
        while len(serving) < 2:  # both new workers take connections: each has its own socket
            assert time.monotonic() < deadline, serving
            serving.add(str(request(server.base + "/healthz")[1]["worker"]))
        assert serving == workers() and not serving & old
        assert server.proc.poll() is None
    assert set(statuses) <= {200}, statuses


# --- 2. limits that hold ---

def test_a_spoofed_x_forwarded_for_is_still_limited(small_index, tmp_path):
    with Server(small_index.index_dir, tmp_path / "log", RAG_RATE_LIMIT=1) as server:  # one request a minute
        statuses = [request(search_url(server.base, "board"), headers={"X-Forwarded-For": f"10.0.0.{i}"})[0]
                    for i in range(6)]
    assert statuses[0] == 200 and statuses[1:] == [429] * 5


def test_forwarded_addresses_count_only_from_a_trusted_proxy(small_index, tmp_path):
    with Server(small_index.index_dir, tmp_path / "log", RAG_RATE_LIMIT=1, RAG_TRUSTED_PROXIES="127.0.0.1") as server:
        statuses = [request(search_url(server.base, "board"), headers={"X-Forwarded-For": f"10.0.0.{i}"})[0]
                    for i in range(4)]
    assert statuses == [200] * 4  # each a different client behind the proxy


def test_two_workers_share_one_limit(built_index, tmp_path):
    with Server(built_index.index_dir, tmp_path / "log", "--workers", "2", "-q", RAG_RATE_LIMIT=1) as server:
        statuses = [request(search_url(server.base, "board"))[0] for _ in range(12)]  # a new connection each
    assert sorted(statuses) == [200] + [429] * 11, statuses


def test_the_rate_limit_refills_with_the_clock_and_is_shared_by_stores_on_one_file(tmp_path):
    now = [1000.0]
    one = RateStore(str(tmp_path / "state.sqlite"), per_minute=30, clock=lambda: now[0])
    other = RateStore(str(tmp_path / "state.sqlite"), per_minute=30, clock=lambda: now[0])  # another worker
    taken = [store.take("1.2.3.4") for store in (one, other) * 4]
    assert taken[:6] == [0.0] * 6 and all(wait > 0 for wait in taken[6:])  # one burst of 6 between them
    assert one.take("5.6.7.8") == 0.0  # someone else is not affected
    now[0] += 2.0  # half a request a second: one more
    assert other.take("1.2.3.4") == 0.0 and one.take("1.2.3.4") > 0


def test_a_negative_or_non_numeric_limit_is_refused_not_ignored(monkeypatch):
    for bad in ("-5", "abc"):
        monkeypatch.setenv("RAG_RATE_LIMIT", bad)
        with pytest.raises(ConfigError, match=f"RAG_RATE_LIMIT={bad}"):
            Settings()


def test_one_client_cannot_push_out_another_clients_conversation():
    store = ConversationStore(max_conversations=50, max_per_client=5)
    theirs = store.get_or_create(None, client="10.0.0.1")
    for _ in range(200):
        store.get_or_create(None, client="10.0.0.2")
    assert store.get_or_create(theirs.id, client="10.0.0.1").id == theirs.id
    assert len(store) == 6  # the other client keeps only its five newest


# --- 3. no redirect or URL built from the Host header ---

HOSTILE = [b"/api/documents/", b"/documents/", b"/councils/", b"/api/search/?q=x", b"/static", b"/static/",
           b"/", b"/healthz", b"/nope", b"/api/ask", b"/docs", b"/openapi.json", b"/ask?q=safeguarding",
           b"http://evil.example/api/documents/"]


def test_the_host_header_never_reaches_a_response(built_index, tmp_path):
    with Server(built_index.index_dir, tmp_path / "log", "-q") as server:
        replies = {}
        for target in HOSTILE:
            replies[target] = server.raw(b"GET " + target + b" HTTP/1.1\r\nHost: evil.example\r\n"
                                         b"X-Forwarded-Host: evil.example\r\nX-Forwarded-Proto: https\r\n"
                                         b"Connection: close\r\n\r\n")
        post = server.raw(b"POST /api/ask/ HTTP/1.1\r\nHost: evil.example\r\nContent-Type: application/json\r\n"
                          b"Content-Length: 2\r\nConnection: close\r\n\r\n{}")
    for target, reply in [*replies.items(), (b"POST /api/ask/", post)]:
        head = reply.split(b"\r\n", 1)[0]
        assert reply and b"evil.example" not in reply.lower(), (target, reply[:300])
        assert not head.startswith(b"HTTP/1.1 3"), (target, head)
    assert b"Did you mean /api/documents" in replies[b"/api/documents/"]


def test_405_says_allow_and_healthz_answers_head(service):
    client = TestClient(create_app(service.settings.with_overrides(watch_index=False, rate_limit=0), service=service))
    r = client.delete("/api/ask")
    assert r.status_code == 405 and r.headers["Allow"] == "POST"
    r = client.put("/api/search")
    assert r.status_code == 405 and "GET" in r.headers["Allow"]
    assert client.head("/healthz").status_code == 200


# --- 4. a malformed manifest: one line, no traceback ---

MALFORMED = {
    "no model": lambda m: {k: v for k, v in m.items() if k != "model"},
    "a list": lambda m: [],
    "wrong type": lambda m: dict(m, passage_count="many"),
    "no file checksums": lambda m: dict(m, files={}),
    "null": lambda m: None,
}


@pytest.mark.parametrize("kind", list(MALFORMED))
def test_a_malformed_manifest_is_one_line_naming_the_file_and_the_command(small_index, kind):
    path = writable(current_build(small_index.index_dir) / "manifest.json")
    path.write_text(json.dumps(MALFORMED[kind](json.loads(path.read_text()))))
    with pytest.raises(IndexDamaged) as caught:
        load_index(small_index.index_dir)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message and "rag index --index-dir" in message
    out = subprocess.run([sys.executable, "-m", "rag.cli", "search", "board", "--index-dir", str(small_index.index_dir)],
                         capture_output=True, text=True, env=rag_env(), timeout=120)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert out.stderr.count("\n") == 1 and out.stderr.startswith("error: The index manifest")


def publish_broken_build(index_dir: Path) -> Path:
    """A copy of the current build with a manifest lacking "model", made current as `rag index` would."""
    build = current_build(index_dir)
    broken = index_dir / (build.name + "-broken")
    shutil.copytree(build, broken)
    manifest = writable(broken / "manifest.json")
    manifest.write_text(json.dumps({k: v for k, v in json.loads(manifest.read_text()).items() if k != "model"}))
    _point_current(index_dir, broken.name)
    return broken


def test_a_malformed_build_published_under_the_server_is_logged_once_and_kept_out(small_index, caplog):
    settings = small_index.with_overrides(watch_index=False, admin_token="s3cret")
    service = Service(settings)
    serving = service.index.path
    publish_broken_build(small_index.index_dir)
    with caplog.at_level(logging.INFO, logger="rag"):
        results = [service.watch_once() for _ in range(5)]
        reply = TestClient(create_app(settings, service=service)).post(
            "/admin/reload", headers={"Authorization": "Bearer s3cret"})
    assert results == [False] * 5 and service.index.path == serving
    failures = [r for r in caplog.records if "could not be loaded" in r.getMessage()]
    assert len(failures) == 1 and not any(r.exc_info for r in caplog.records), caplog.text
    assert "\n" not in failures[0].getMessage() and "model" in failures[0].getMessage()
    assert reply.status_code == 200 and reply.json()["reloaded"] is False and "model" in reply.json()["error"]
    health = service.health()
    assert health["status"] == "degraded" and any("could not be loaded" in p for p in health["problems"])
    assert service.search("improvement board")["results"]  # still answering from the build before


def test_the_watcher_backs_off_while_a_build_will_not_load_and_recovers(small_index):
    service = Service(small_index.with_overrides(watch_index=False))
    good = current_build(small_index.index_dir)
    publish_broken_build(small_index.index_dir)
    delays, done = [], threading.Event()

    def fake_sleep(seconds):  # the watcher's clock: record the wait, move on at once
        delays.append(seconds)
        if len(delays) == 6:
            _point_current(small_index.index_dir, good.name)  # the operator puts the good build back
        if len(delays) >= 9:
            done.set()
            threading.Event().wait()  # park the watcher thread (a daemon) for good

    service.watch(interval=1.0, max_interval=8.0, sleep=fake_sleep)
    assert done.wait(30)
    assert delays[:6] == [1.0, 2.0, 4.0, 8.0, 8.0, 8.0] and delays[7:9] == [1.0, 1.0]
    assert service.health()["status"] == "ok"


# --- 5. timeouts, and a client that leaves ---

def test_a_slow_client_is_disconnected_after_the_read_timeouts(small_index, tmp_path):
    with Server(small_index.index_dir, tmp_path / "log", RAG_HEADER_TIMEOUT=1, RAG_BODY_TIMEOUT=1) as server:
        sent = []

        def one_header_line_at_a_time(s):
            try:
                for i in range(60):  # up to 30 s of a header line every half second
                    time.sleep(0.5)
                    s.sendall(b"X-Slow-%d: yes\r\n" % i)
                    sent.append(i)
            except OSError:  # the server closed the connection
                pass

        slow_headers = server.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\n", keep_sending=one_header_line_at_a_time)
        short_body = server.raw(b"POST /api/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                b"Content-Length: 100\r\n\r\n{\"question\": ")
        idle = server.raw(b"")  # a connection that sends nothing at all
        assert request(server.base + "/healthz")[0] == 200
    assert slow_headers.startswith(b"HTTP/1.1 408") and len(sent) < 60
    assert short_body.startswith(b"HTTP/1.1 408") and b"did not arrive" in short_body
    assert idle == b""


def test_a_client_that_leaves_mid_body_is_logged_as_499_not_500(small_index, tmp_path):
    with Server(small_index.index_dir, tmp_path / "log") as server:
        with socket.create_connection(("127.0.0.1", server.port)) as s:
            s.sendall(b"POST /api/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 500\r\nX-Request-ID: leaves-early\r\n\r\n{\"question\": \"wh")
            time.sleep(0.5)
        deadline = time.monotonic() + 30
        while "leaves-early" not in server.log.read_text():
            assert time.monotonic() < deadline, server.log.read_text()
            time.sleep(0.2)
    line = next(line for line in server.log.read_text().splitlines() if "leaves-early" in line)
    assert "status=499" in line and "route=/api/ask" in line


# --- 6. settings checked at start ---

@pytest.mark.parametrize("env", [{"RAG_RATE_LIMIT": "abc"}, {"RAG_PORT": "99999"}, {"RAG_RATE_LIMIT": "-5"},
                                 {"RAG_ACCESS_LOG": "loud"}])
def test_a_bad_setting_stops_serve_with_one_line(env, tmp_path):
    out = subprocess.run([sys.executable, "-m", "rag.cli", "serve", "--index-dir", str(tmp_path)],
                         capture_output=True, text=True, env=rag_env(**env), timeout=60)
    name, value = next(iter(env.items()))
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert out.stderr.count("\n") == 1 and out.stderr.startswith(f"error: invalid setting {name}={value}")



def test_a_store_retries_the_switch_to_wal_that_sqlite_refuses_without_waiting(tmp_path, monkeypatch):
    """Two workers opening the shared file at once: one's switch to WAL can fail at once with "database is locked"
    (SQLite's busy wait does not cover it), which killed a worker at startup; the store tries again."""
    import sqlite3

    import rag.sqlite
    from rag.conversation import ConversationStore

    refusals, real_connect = [], sqlite3.connect

    class Refusing:  # a connection whose first switch to WAL is refused as another worker's would be
        def __init__(self, *args, **kwargs):
            self.db = real_connect(*args, **kwargs)

        def execute(self, sql, *args):
            if sql.startswith("PRAGMA journal_mode") and not refusals:
                refusals.append(sql)
                raise sqlite3.OperationalError("database is locked")
            return self.db.execute(sql, *args)

    monkeypatch.setattr(rag.sqlite.sqlite3, "connect", Refusing)
    store = ConversationStore(str(tmp_path / "shared.sqlite3"))
    assert refusals and store.get_or_create(None).id
    monkeypatch.undo()
    assert sqlite3.connect(str(tmp_path / "shared.sqlite3")).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
