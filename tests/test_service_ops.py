"""Operating the service: hot index swap under load, limits, rate limiting, access logs.

Outcomes, not throughput: no assertion here depends on how fast the machine is (time is moved by the
test where the logic depends on it; waits are bounded only so that a broken server fails the test)."""
import json
import logging
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from fastapi.testclient import TestClient

from rag.app import create_app
from rag.middleware import RateLimit
from rag.index import build_index, current_build
from rag.service import Service
from tests.conftest import rag_env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str, body: dict | None = None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status, json.load(r)


def test_rebuilding_while_serving_swaps_the_index_without_failing_a_request(small_index, small_corpus):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--port", str(port), "--index-dir",
                               str(small_index.index_dir), "-q"], env=rag_env(RAG_RATE_LIMIT=0),
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                _, health = get_json(base + "/healthz")
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, server.stderr.read().decode()
                time.sleep(0.3)
        old_build = health["build"]
        outcomes, stop = [], threading.Event()

        def keep_asking():
            n = 0
            while not stop.is_set():
                n += 1
                try:
                    if n % 3:
                        status, _ = get_json(base + "/api/search?" + urllib.parse.urlencode(
                            {"q": f"Suffolk waiting lists {n}", "k": 5}))
                    else:
                        status, _ = get_json(base + "/api/ask", {"question": "Who will oversee Blackpool's improvement?"})
                except (urllib.error.URLError, OSError) as exc:
                    status = repr(exc)
                outcomes.append(status)

        def wait_for(condition, what: str, seconds: float = 120):
            deadline = time.monotonic() + seconds  # bounds a broken server only; a slow one just takes longer
            while not condition():
                assert time.monotonic() < deadline, what
                time.sleep(0.05)

        threads = [threading.Thread(target=keep_asking) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            wait_for(lambda: len(outcomes) >= 8, "no requests were answered before the rebuild")
            (small_corpus / "suffolk.md").write_text(
                "# Suffolk waiting lists\n\nOver 500 people were waiting for an occupational therapy assessment in Suffolk.\n")
            build_index(small_index)  # the server is not told: it notices the new build by itself
            new_build = current_build(small_index.index_dir).name
            wait_for(lambda: get_json(base + "/healthz")[1]["build"] == new_build,
                     "the server did not take up the new index")
            swapped_at = len(outcomes)
            wait_for(lambda: len(outcomes) >= swapped_at + 12, "requests stopped being answered after the swap")
        finally:
            stop.set()
            for t in threads:
                t.join()
        assert new_build != old_build
        # Requests kept coming before, during and after the swap, and every one of them was answered.
        assert set(outcomes) == {200}, [o for o in outcomes if o != 200][:5]
        _, result = get_json(base + "/api/search?" + urllib.parse.urlencode({"q": "occupational therapy Suffolk", "k": 3}))
        assert any(r["doc"] == "suffolk" for r in result["results"])
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_admin_reload_needs_the_token(small_index, small_corpus):
    settings = small_index.with_overrides(admin_token="s3cret", watch_index=False)
    client = TestClient(create_app(settings, service=Service(settings)))
    assert client.post("/admin/reload").status_code == 401
    assert client.post("/admin/reload", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.post("/admin/reload", headers={"Authorization": "Bearer s3cret"}).json()["reloaded"] is False
    (small_corpus / "new.md").write_text("# New\n\nText about Lancashire.\n")
    build_index(small_index)
    reply = client.post("/admin/reload", headers={"Authorization": "Bearer s3cret"}).json()
    assert reply == {"reloaded": True, "build": current_build(small_index.index_dir).name}
    assert TestClient(create_app(small_index.with_overrides(watch_index=False),
                                 service=Service(small_index))).post("/admin/reload").status_code == 404


def client_for(service, **settings):
    return TestClient(create_app(service.settings.with_overrides(watch_index=False, **settings), service=service))


def test_a_body_over_64_kb_is_refused(fake_service):
    r = client_for(fake_service).post("/api/ask", content=b'{"question": "' + b"x" * 70000 + b'"}',
                                 headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "64 KB" in r.json()["detail"]


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def ok_app(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})


def test_a_client_past_its_rate_gets_429_with_retry_after_until_its_tokens_refill():
    clock = Clock()
    client = TestClient(RateLimit(ok_app, per_minute=30, clock=clock))  # bursts of 6, then one every 2 s
    assert [client.get("/api/search").status_code for _ in range(6)] == [200] * 6
    refused = client.get("/api/search")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "2"
    assert "try again in 2 s" in refused.json()["detail"]
    assert client.get("/healthz").status_code == 200  # not counted
    clock.now += 1.0
    assert client.get("/api/search").status_code == 429  # half a token back: not yet
    clock.now += 1.0
    assert client.get("/api/search").status_code == 200  # one token back
    assert client.get("/api/search").status_code == 429
    clock.now += 600
    assert [client.get("/api/search").status_code for _ in range(7)] == [200] * 6 + [429]  # a full burst, no more


def test_the_service_refuses_a_client_past_its_rate(fake_service):
    client = client_for(fake_service, rate_limit=1)  # one a minute, a burst of one: the second is refused
    assert client.get("/api/search", params={"q": "safeguarding", "k": 1}).status_code == 200
    refused = client.get("/api/search", params={"q": "safeguarding", "k": 1})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert client.get("/healthz").status_code == 200


def test_access_log_has_request_id_route_status_latency_and_no_question(fake_service, caplog):
    client = client_for(fake_service, access_log="json", rate_limit=0)
    with caplog.at_level(logging.INFO, logger="rag.access"):
        r = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
        client.get("/api/documents/nope?secret=my+private+question")
        client.get("/api/search", params={"q": "my private question"}, headers={"X-Request-ID": "<script>"})
    lines = [json.loads(rec.getMessage()) for rec in caplog.records if rec.name == "rag.access"]
    assert r.headers["X-Request-ID"] == "abc-123"
    assert lines[0]["request_id"] == "abc-123" and lines[0]["route"] == "/healthz" and lines[0]["status"] == 200
    assert lines[1]["route"] == "/api/documents/{doc_id}" and lines[1]["status"] == 404 and lines[1]["ms"] >= 0
    assert lines[2]["route"] == "/api/search" and lines[2]["request_id"] != "<script>"
    assert "private" not in json.dumps(lines) and "nope" not in json.dumps(lines)


def test_questions_are_logged_only_when_asked_for(fake_service, caplog):
    client = client_for(fake_service, access_log="json", rate_limit=0, log_questions=True)
    with caplog.at_level(logging.INFO, logger="rag.access"):
        client.get("/api/search", params={"q": "carers strategy"})
    assert "carers+strategy" in caplog.text


def test_workers_share_the_mapped_vectors_and_the_conversations(built_index):
    import os

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--port", str(port), "--workers", "2",
                               "--index-dir", str(built_index.index_dir), "-q"],
                              env=rag_env(RAG_RATE_LIMIT=0, RAG_VECTORS_MMAP_MB=0),  # mapped, not copied: shared
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                get_json(base + "/healthz")
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, server.stderr.read().decode()
                time.sleep(0.5)
        _, first = get_json(base + "/api/ask", {"question": "What score did Blackpool get for assessing needs?"})
        for _ in range(8):  # requests spread over both workers; each must find the conversation
            _, follow = get_json(base + "/api/ask", {"question": "and for safeguarding?",
                                                     "conversation_id": first["conversation_id"]})
            assert follow["conversation_id"] == first["conversation_id"]
            assert follow["fact"]["statement"] == "Safeguarding"
        workers = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True).stdout.split()
        mapped = [pid for pid in workers if "vectors.faiss" in open(f"/proc/{pid}/maps").read()]
        assert len(mapped) == 2, (workers, mapped)
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
