"""Webhook figures (issue 4): moonhook's throughput under wrk against a bare quart-trio
endpoint served the same way, alternated in the same run; and the answer's latency at a
steady 200 alerts/s (the HTTP answer, not the processing behind it). Issue 20: in the same
runs, the alerts executed a second over the bare endpoint's requests, and at 200 alerts/s
each alert's receipt by the server to its broker call, beside the durable-commit floor
measured in the same run (before each round, in this process, the server idle)."""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from time import perf_counter

import httpx
import trio

from .engine_bench import alert_body, bench_commit_floor
from .stats import pick, summary
from .webhook_server import SECRET

# wrk sends a different alert each time: the same one would be a duplicate.
WRK_SCRIPT = """
counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "text/plain"
request = function()
  counter = counter + 1
  local side = (counter % 2 == 0) and "buy" or "sell"
  return wrk.format(nil, nil, nil, side .. " EURUSD volume=0.01 price=1.1 sl=" ..
    ((side == "buy") and "1.09" or "1.11") .. " id=w" .. counter .. "-" .. math.random(1, 1e9))
end
"""
ROOT = Path(__file__).resolve().parent.parent


class Server:
    def __init__(self, mode: str):
        self.process = subprocess.Popen([sys.executable, "-m", "bench.webhook_server", mode], cwd=ROOT,
                                        stdout=subprocess.PIPE, text=True)
        self.port = int(self.process.stdout.readline())
        self.url = f"http://127.0.0.1:{self.port}/webhook/{SECRET}"

    def filled(self) -> int:
        """How many alerts the engine has executed so far (its paper broker's fills)."""
        return len(httpx.get(f"http://127.0.0.1:{self.port}/bench/fills", timeout=30).json())

    def calls(self, expected: int, known: set[str], timeout: float = 30.0) -> dict[str, list[float]]:
        """``[receipt, broker call]`` of the alerts not in ``known``, once ``expected`` of them
        have had their broker call (or ``timeout`` has passed): see webhook_server.py."""
        deadline = time.monotonic() + timeout
        while True:
            calls = httpx.get(f"http://127.0.0.1:{self.port}/bench/calls", timeout=30).json()
            new = {k: v for k, v in calls.items() if k not in known}
            if len(new) >= expected or time.monotonic() > deadline:
                return new
            time.sleep(0.05)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def wrk(url: str, seconds: int) -> float:
    """Requests per second that got a 2xx, under ``wrk -t1 -c8``."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(WRK_SCRIPT)
    try:
        out = subprocess.run(["wrk", "-t1", "-c8", f"-d{seconds}s", "-s", f.name, url],
                             capture_output=True, text=True, timeout=seconds + 30).stdout
    finally:
        os.unlink(f.name)
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    total = int(re.search(r"(\d+) requests in", out).group(1))
    return rate * (1 - int(bad.group(1)) / total) if bad else rate


class _Connection:
    """One keep-alive HTTP/1.1 connection, written by hand: the load generator shares the
    machine's two cores with the server, and httpx spends about 2 ms of CPU a request where
    this spends about 0.5 (bench/NOTES.md), so it disturbs less what it measures."""

    def __init__(self, stream: trio.SocketStream):
        self._stream = stream
        self._buffer = b""

    async def post(self, host: str, path: str, body: bytes) -> tuple[int, bytes]:
        await self._stream.send_all(
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode("ascii") + body)
        while b"\r\n\r\n" not in self._buffer:
            await self._fill()
        head, _, self._buffer = self._buffer.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        length = next(int(v) for k, _, v in (line.partition(b":") for line in lines[1:])
                      if k.strip().lower() == b"content-length")
        while len(self._buffer) < length:
            await self._fill()
        answer, self._buffer = self._buffer[:length], self._buffer[length:]
        return int(lines[0].split()[1]), answer

    async def _fill(self) -> None:
        chunk = await self._stream.receive_some(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self._buffer += chunk

    async def aclose(self) -> None:
        await self._stream.aclose()


async def steady(url: str, rate: float, seconds: float, expect: bytes | None = b'"accepted"') -> list[float]:
    """Answer latencies at a steady ``rate`` of alerts per second (each on its own schedule,
    so a slow answer does not slow the sending), from before the request is written to the
    whole answer read. Connections are opened beforehand, kept alive and taken in turn, as a
    proxy would (one left idle for 5 s is closed by Hypercorn). Each answer must be a 200
    holding ``expect`` (None: any 200, as the ``raw`` and ``bare`` servers answer)."""
    u = httpx.URL(url)
    idle = [_Connection(await trio.open_tcp_stream(u.host, u.port)) for _ in range(8)]
    latencies: list[float] = []

    async def one(n: int) -> None:
        body = alert_body(n, "s").encode()
        t0 = perf_counter()
        connection = idle.pop(0) if idle else _Connection(await trio.open_tcp_stream(u.host, u.port))
        status, answer = await connection.post(u.host, u.raw_path.decode(), body)
        latencies.append(perf_counter() - t0)
        assert status == 200 and (expect is None or expect in answer), (status, answer)
        idle.append(connection)

    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        for n in range(int(rate * seconds)):
            await trio.sleep_until(start + n / rate)
            nursery.start_soon(one, n)
    for connection in idle:
        await connection.aclose()
    return latencies


async def _httpx_rate(url: str, seconds: float, connections: int = 8) -> float:
    """Requests per second from ``connections`` httpx clients in this process: slower than
    wrk (the client is the bottleneck), so only for a tiny run on a machine without wrk. As wrk
    does, a request that failed (a connection closed under it) is not counted and the run goes on."""
    done, end = 0, trio.current_time() + seconds
    async with httpx.AsyncClient() as client:
        async def loop(k: int) -> None:
            nonlocal done
            n = 0
            while trio.current_time() < end:
                n += 1
                try:
                    r = await client.post(url, content=f"buy EURUSD volume=0.01 price=1.1 sl=1.09 id=h{k}-{n}")
                except httpx.TransportError:
                    continue
                done += r.status_code == 200
        async with trio.open_nursery() as nursery:
            for k in range(connections):
                nursery.start_soon(loop, k)
    return done / seconds


def run_all(size: str = "full") -> dict:
    if shutil.which("wrk") is None and size != "tiny":
        raise SystemExit("the webhook benchmark needs wrk (Debian: apt-get install wrk; `make bench` installs it)")
    load = wrk if shutil.which("wrk") else (lambda url, seconds: trio.run(_httpx_rate, url, seconds))
    seconds, rounds = pick(size, (5, 3), (2, 1), (1, 1))
    bare_rates, moonhook_rates, processed_rates = [], [], []
    for _ in range(rounds):  # alternated, so both meet the same machine
        for mode, rates in (("bare", bare_rates), ("moonhook", moonhook_rates)):
            server = Server(mode)
            try:
                rates.append(load(server.url, seconds))
                if mode == "moonhook":  # what was executed meanwhile: the rest waits its turn
                    processed_rates.append(server.filled() / seconds)
            finally:
                server.stop()
    server = Server("moonhook")
    latencies, receipts, floors, known = [], [], [], set()
    try:
        for _ in range(rounds):
            floor = trio.run(bench_commit_floor, pick(size, 300, 100, 20), 1)  # the same run's floor
            floors.append(floor["inline_ms"]["median"])
            latencies.append(trio.run(steady, server.url, 200.0, seconds * 2))
            calls = server.calls(len(latencies[-1]), known)
            known |= set(calls)
            receipts.append([call - receipt for receipt, call in calls.values()])
    finally:
        server.stop()
    ratios = [m / b for m, b in zip(moonhook_rates, bare_rates)]
    executed = [e / b for e, b in zip(processed_rates, bare_rates)]
    to_broker = summary(receipts, scale=1000)
    floor_ms = round(statistics.median(floors), 3)
    return {
        "webhook_executed_over_bare": round(statistics.median(executed), 2),
        "receipt_to_broker_200_ms": to_broker,
        "receipt_to_broker_200_p99_ms": to_broker["p99"],
        "receipt_commit_floor_ms": floor_ms,
        "receipt_commit_floor_ms_runs": floors,
        "receipt_to_broker_200_p50_target": (
            f"{'met' if to_broker['median'] <= floor_ms + 0.5 else 'not met'}: {to_broker['median']} against "
            f"{floor_ms} + 0.5 ms"),
        "receipt_to_broker_200_alerts": sum(len(r) for r in receipts),
        "webhook_bare_rps": round(sorted(bare_rates)[len(bare_rates) // 2]),
        "webhook_moonhook_rps": round(sorted(moonhook_rates)[len(moonhook_rates) // 2]),
        "webhook_ratio": round(sorted(ratios)[len(ratios) // 2], 2),
        "webhook_processed_rps": round(sorted(processed_rates)[len(processed_rates) // 2]),
        "webhook_answer_at_200_ms": summary(latencies, scale=1000),
    }
