"""Load benchmark: many concurrent clients on loopback against `rag serve`, for a bounded time.

    .venv/bin/python bench/load.py --duration 60 --concurrency 32 --workers 2 --ask-share 0.1

Starts `rag serve` on a free loopback port (or uses --url), sends a mix of GET /api/search and
POST /api/ask with questions from eval/questions.jsonl (each made unique with a request number
unless --repeat, so the server's question cache does not flatter the figures), and prints
throughput, p50/p95/p99 latency and errors per route, and each worker's resident memory (when it
started the server). `--json` prints the same as one JSON line. Only loopback addresses are accepted.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker_rss_mb(pid: int) -> list[float]:
    """Resident memory of the server's worker processes (its children; itself if it has none), in MB."""
    try:
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    except OSError:
        return []
    out = []
    for p in children or [str(pid)]:
        try:
            for line in open(f"/proc/{p}/status"):
                if line.startswith("VmRSS:"):
                    out.append(round(int(line.split()[1]) / 1024, 1))
        except OSError:
            continue
    return out


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes have used so far (from /proc/PID/stat)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def server_pids(pid: int) -> list[int]:
    try:
        children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    except OSError:
        children = []
    return [pid, *map(int, children)]


def connections_per_worker(pids: list[int], port: int) -> list[int]:
    """Established connections to `port` each process holds (its socket fds matched against
    /proc/net/tcp{,6}): how evenly the workers share the clients."""
    established = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            f = row.split()
            if f[3] == "01" and int(f[1].rsplit(":", 1)[1], 16) == port:  # state ESTABLISHED, local port
                established.add(f[9])  # inode
    counts = []
    for pid in pids:
        n = 0
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:[") and target[8:-1] in established:
                    n += 1
        except OSError:
            pass
        counts.append(n)
    return counts


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


class Client:
    """One keep-alive HTTP/1.1 connection; small, so the load generator leaves the CPU to the server."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def request(self, method: str, path: str, body: bytes = b"") -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        head = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Length: {len(body)}\r\n"
                f"Content-Type: application/json\r\n\r\n").encode()
        self.writer.write(head + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("connection closed")
        status = int(status_line.split()[1])
        length, close = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "connection" and "close" in value.lower():
                close = True
        await self.reader.readexactly(length)
        if close:
            self.writer.close()
            self.reader = self.writer = None
        return status


async def run_load(host, port, questions, duration, concurrency, ask_share, repeat, seed, sample=None):
    rng = random.Random(seed)
    results: dict[str, list] = {"search": [], "ask": []}
    errors: dict[str, int] = {"search": 0, "ask": 0}
    counter = iter(range(10**9))
    deadline = time.monotonic() + duration

    async def worker():
        client = Client(host, port)
        while time.monotonic() < deadline:
            n = next(counter)
            q = rng.choice(questions) + ("" if repeat else f" ({n})")
            route = "ask" if rng.random() < ask_share else "search"
            if route == "search":
                method, path, body = "GET", "/api/search?" + urllib.parse.urlencode({"q": q, "k": 10}), b""
            else:
                method, path, body = "POST", "/api/ask", json.dumps({"question": q}).encode()
            t0 = time.perf_counter()
            try:
                status = await client.request(method, path, body)
            except (OSError, ConnectionError, asyncio.IncompleteReadError, ValueError):
                status, client = 0, Client(host, port)
            elapsed = (time.perf_counter() - t0) * 1000
            if 200 <= status < 300:
                results[route].append(elapsed)
            else:
                errors[route] += 1

    async def midway():
        await asyncio.sleep(duration / 2)
        if sample:
            sampled.extend(sample())

    sampled: list[int] = []
    started = time.monotonic()
    await asyncio.gather(midway(), *(worker() for _ in range(concurrency)))
    return results, errors, time.monotonic() - started, sampled


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running server on loopback (default: start one)")
    parser.add_argument("--index-dir", default=str(ROOT / "index"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--ask-share", type=float, default=0.1, help="share of requests that are /api/ask")
    parser.add_argument("--repeat", action="store_true", help="reuse questions as they are (cache hits)")
    parser.add_argument("--questions", default=str(ROOT / "eval" / "questions.jsonl"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args()

    questions = [json.loads(line)["q"] for line in open(args.questions) if line.strip()]
    server = None
    if args.url:
        parts = urllib.parse.urlparse(args.url)
        host, port = parts.hostname, parts.port or 80
        if not (host == "localhost" or host.startswith("127.") or host == "::1"):
            sys.exit("only loopback addresses may be loaded: use 127.0.0.1 or localhost")
    else:
        host, port = "127.0.0.1", free_port()
        server = subprocess.Popen([sys.executable, "-m", "rag.cli", "serve", "--host", host, "--port", str(port),
                                   "--workers", str(args.workers), "--index-dir", args.index_dir, "-q"],
                                  env=dict(os.environ, HF_HUB_OFFLINE="1", RAG_RATE_LIMIT="0"),
                                  start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"http://{host}:{port}/healthz", timeout=2) as r:
                    health = json.load(r)
                    break
            except OSError:
                if time.monotonic() > deadline or (server and server.poll() is not None):
                    sys.exit("the server did not start")
                time.sleep(0.5)
        # warm every worker: the first requests pay for lazy initialisation
        for q in questions:
            urllib.request.urlopen(f"http://{host}:{port}/api/search?" + urllib.parse.urlencode({"q": q}), timeout=60).read()
        pids = server_pids(server.pid) if server else []
        workers = pids[1:] or pids
        server_cpu, client_cpu = cpu_seconds(pids), time.process_time()
        results, errors, elapsed, connections = asyncio.run(run_load(
            host, port, questions, args.duration, args.concurrency, args.ask_share, args.repeat, args.seed,
            sample=(lambda: connections_per_worker(workers, port)) if server else None))
        server_cpu, client_cpu = cpu_seconds(pids) - server_cpu, time.process_time() - client_cpu
        rss = worker_rss_mb(server.pid) if server else []
    finally:
        if server:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)

    routes = {route: {"ok": len(results[route]), "errors": errors[route],
                      "rps": round(len(results[route]) / elapsed, 1),
                      **{f"p{p}_ms": round(percentile(results[route], p), 1) for p in (50, 95, 99)}}
              for route in ("search", "ask")}
    done = sum(len(v) + errors[k] for k, v in results.items()) or 1
    cpu = {"client_ms_per_request": round(client_cpu * 1000 / done, 2),
           "server_ms_per_request": round(server_cpu * 1000 / done, 2) if server else None,
           "load_average": round(os.getloadavg()[0], 2)}
    if args.json:
        print(json.dumps({"workers": args.workers, "mode": health["mode"], "concurrency": args.concurrency,
                          "duration_s": round(elapsed, 1), "ask_share": args.ask_share,
                          "questions": "repeated" if args.repeat else "unique", "routes": routes,
                          "total_rps": round(sum(len(v) + errors[k] for k, v in results.items()) / elapsed, 1),
                          "errors": sum(errors.values()), "worker_rss_mb": rss,
                          "connections_per_worker": connections, "cpu": cpu}))
        return 0 if sum(errors.values()) == 0 else 1
    print(f"rag serve --workers {args.workers} | mode {health['mode']} | {args.concurrency} clients | "
          f"{elapsed:.0f} s | ask share {args.ask_share:.0%} | {'repeated' if args.repeat else 'unique'} questions")
    total = 0
    for route in ("search", "ask"):
        lat = results[route]
        total += len(lat) + errors[route]
        print(f"/api/{route:7s} {len(lat):6d} ok {errors[route]:4d} errors  {len(lat) / elapsed:7.1f} req/s  "
              f"p50 {percentile(lat, 50):6.1f} ms  p95 {percentile(lat, 95):6.1f} ms  p99 {percentile(lat, 99):6.1f} ms")
    print(f"all       {total / elapsed:7.1f} req/s, errors {sum(errors.values())}")
    print(f"CPU per request: client {cpu['client_ms_per_request']} ms"
          + (f", server {cpu['server_ms_per_request']} ms" if server else "") + f"; load average {cpu['load_average']}")
    if connections:
        print("client connections per worker, midway: " + " / ".join(map(str, connections)))
    if rss:
        print("resident memory per worker: " + ", ".join(f"{mb:.0f} MB" for mb in rss))
    return 0 if sum(errors.values()) == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
