"""A bar-close burst (issue 20): at a bar's close TradingView sends every alert that fired at
once, each on a new connection. Against the bench's moonhook server (10 plugins, the
product's defaults: ``server.max_connections`` 512, Hypercorn's listen backlog), N alerts are
sent at the same moment, each on its own fresh TCP connection (``Connection: close``).

Each answer's latency is from the burst's start (before the first connection is opened) to
its whole answer read; answers other than 200, connections that failed (reset, refused,
closed without an answer, no answer within ``TIMEOUT``) are counted, and so are answers
slower than TradingView's 3 s. Executed: the time from the burst's start until the last
answered alert's first fill (``/bench/fills``, the system's monotonic clock, shared by both
processes). The client is raw Trio sockets: a lean client disturbs a 2-core machine less.

The same bursts go to the ``raw`` server too (webhook_server.py: Hypercorn and an ASGI
endpoint that answers at once, the same ``serve`` and connection cap), alternated with
moonhook's in the same run: the HTTP server's own floor for a burst on this machine. It has
no engine, so only its latencies, failures and listen-queue overflows are taken."""

from __future__ import annotations

import json
import statistics
import time

import httpx
import trio

from .engine_bench import alert_body
from .stats import percentile, pick
from .webhook_bench import Server

TIMEOUT = 10.0  # s an answer is waited for; TradingView gives up after about 3
TRADINGVIEW_LIMIT = 3.0


async def _one(port: int, path: str, body: bytes, started: float, out: list) -> None:
    """One alert on a connection of its own: ``(status or None, seconds from start, alert id
    or None, error name or None, seconds from start to the connection's handshake done or
    None)`` appended to ``out``."""
    request = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: text/plain\r\n"
               f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode("ascii") + body
    data, error, connected = b"", None, None
    try:
        with trio.fail_after(TIMEOUT):
            sock = trio.socket.socket()
            stream = None
            try:
                await sock.connect(("127.0.0.1", port))
                connected = time.monotonic() - started
                stream = trio.SocketStream(sock)
                await stream.send_all(request)
                while True:
                    head, sep, rest = data.partition(b"\r\n\r\n")
                    if sep:
                        length = next((int(v) for k, _, v in (line.partition(b":") for line in head.split(b"\r\n")[1:])
                                       if k.strip().lower() == b"content-length"), None)
                        if length is not None and len(rest) >= length:
                            break
                    chunk = await stream.receive_some(65536)
                    if not chunk:
                        break
                    data += chunk
            finally:
                if stream is not None:
                    await stream.aclose()
                else:
                    sock.close()
    except trio.TooSlowError:
        error = "timeout"
    except (OSError, trio.BrokenResourceError) as e:
        error = type(e).__name__
    elapsed = time.monotonic() - started
    head, sep, rest = data.partition(b"\r\n\r\n")
    if error is None and not sep:
        error = "closed without an answer"
    if error is not None:
        out.append((None, elapsed, None, error, connected))
        return
    status = int(head.split(b"\r\n", 1)[0].split()[1])
    alert_id = None
    if status == 200:
        try:
            alert_id = json.loads(rest).get("id")
        except ValueError:
            pass
    out.append((status, elapsed, alert_id, None, connected))


async def _burst(port: int, path: str, bodies: list[bytes]) -> tuple[float, list]:
    out: list = []
    started = time.monotonic()
    async with trio.open_nursery() as nursery:
        for body in bodies:
            nursery.start_soon(_one, port, path, body, started, out)
    return started, out


def _listen_overflows() -> int:
    """The kernel's count of connections dropped because a listen queue was full (this
    machine's, all sockets: TcpExt ListenOverflows, /proc/net/netstat); -1 if unreadable."""
    try:
        lines = [line.split() for line in open("/proc/net/netstat") if line.startswith("TcpExt:")]
        return int(dict(zip(lines[0], lines[1]))["ListenOverflows"])
    except (OSError, KeyError, IndexError, ValueError):
        return -1


def burst_once(server: Server, alerts: int, tag: str, engine: bool = True) -> dict:
    """One burst of ``alerts`` at once; waits (up to 30 s) until every answered alert is
    executed. ``engine`` False: the ``raw`` server, nothing executed and no refusal count
    (``refused_by_cap`` and ``executed`` 0)."""
    base = f"http://127.0.0.1:{server.port}"
    path = server.url[len(base):]
    overflows0 = _listen_overflows()
    refused0 = httpx.get(f"{base}/bench/refused", timeout=30).json()["refused"] if engine else 0
    bodies = [alert_body(n, tag).encode() for n in range(alerts)]
    started, out = trio.run(_burst, server.port, path, bodies)
    overflows = _listen_overflows() - overflows0
    connects = [c for *_, c in out if c is not None]
    ids = [str(i) for status, _, i, *_ in out if status == 200 and i is not None]
    deadline = time.monotonic() + 30
    fills: dict = {}
    while engine:
        fills = httpx.get(f"{base}/bench/fills", timeout=30).json()
        if all(i in fills for i in ids) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    executed = [fills[i] for i in ids if i in fills]
    latencies = [elapsed for _, elapsed, *_ in out]
    answered = [elapsed for status, elapsed, *_ in out if status == 200]
    errors: dict[str, int] = {}
    for status, _, _, error, _ in out:
        if error is not None:
            errors[error] = errors.get(error, 0) + 1
    return {
        "sent": alerts,
        "answered_200": len(answered),
        "non_200": sum(1 for status, *_ in out if status is not None and status != 200),
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "over_3s": sum(1 for t in latencies if t >= TRADINGVIEW_LIMIT),
        "refused_by_cap": httpx.get(f"{base}/bench/refused", timeout=30).json()["refused"] - refused0 if engine else 0,
        # every connection's time, failed ones at the moment they failed
        "p50_ms": round(percentile(latencies, 0.5) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "max_ms": round(max(latencies) * 1000, 1),
        "connect_p50_ms": round(percentile(connects, 0.5) * 1000, 1) if connects else float("nan"),
        "connect_max_ms": round(max(connects) * 1000, 1) if connects else float("nan"),
        "listen_overflows": overflows,
        "executed": len(executed),
        "all_executed_s": round(max(executed) - started, 3) if executed else float("nan"),
    }


def bench_burst(sizes: tuple[int, ...], rounds: int, settle: float = 1.0) -> dict[str, dict[int, list[dict]]]:
    """``rounds`` bursts of each size against moonhook's server and the ``raw`` one, both up
    for the whole run: in each round, for each size, moonhook's burst then the raw server's
    (each burst once the last is executed and ``settle`` seconds have passed)."""
    servers = {"moonhook": Server("moonhook")}
    try:
        servers["raw"] = Server("raw")
        figures: dict[str, dict[int, list[dict]]] = {mode: {n: [] for n in sizes} for mode in servers}
        for r in range(rounds):
            for n in sizes:
                for mode, server in servers.items():
                    time.sleep(settle)
                    figures[mode][n].append(burst_once(server, n, f"k{r}x{n}{mode[0]}-", engine=mode != "raw"))
    finally:
        for server in servers.values():
            server.stop()
    return figures


def _summary(runs: list[dict]) -> dict:
    def median(key: str) -> float:
        return round(statistics.median(run[key] for run in runs), 3)
    return {
        "answer_ms": {"median": median("p50_ms"), "p99": median("p99_ms"),
                      "min": min(run["p50_ms"] for run in runs), "max": max(run["p50_ms"] for run in runs),
                      "runs": len(runs)},
        "max_ms": median("max_ms"),
        "max_ms_runs": [run["max_ms"] for run in runs],
        "failed": sum(run["non_200"] + run["errors"] for run in runs),
        "over_3s": sum(run["over_3s"] for run in runs),
        "refused_by_cap": sum(run["refused_by_cap"] for run in runs),
        "listen_overflows": sum(run["listen_overflows"] for run in runs),
        "all_executed_s": median("all_executed_s"),
        "all_executed_s_runs": [run["all_executed_s"] for run in runs],
        "rounds": runs,
    }


def run_all(size: str = "full") -> dict:
    sizes, rounds = pick(size, ((500, 1000), 3), ((500, 1000), 1), ((20,), 1))
    figures = bench_burst(sizes, rounds)
    out: dict = {}
    # The table's rows name the 500 and 1,000 bursts; the tiny run's burst of 20 stands in for both.
    for name, n in (("500", sizes[0]), ("1000", sizes[-1])):
        s = _summary(figures["moonhook"][n])
        out.update({
            f"burst_{name}_size": n,
            f"burst_{name}_answer_ms": s["answer_ms"],
            f"burst_{name}_p99_ms": s["answer_ms"]["p99"],
            f"burst_{name}_max_ms": s["max_ms"],
            f"burst_{name}_max_ms_runs": s["max_ms_runs"],
            f"burst_{name}_failed": s["failed"],
            f"burst_{name}_over_3s": s["over_3s"],
            f"burst_{name}_refused_by_cap": s["refused_by_cap"],
            f"burst_{name}_listen_overflows": s["listen_overflows"],
            f"burst_{name}_executed_s": s["all_executed_s"],
            f"burst_{name}_executed_s_runs": s["all_executed_s_runs"],
            f"burst_{name}_rounds": s["rounds"],
        })
        raw = _summary(figures["raw"][n])  # the HTTP server's floor: no refusal count, nothing executed
        out.update({
            f"burst_{name}_raw_answer_ms": raw["answer_ms"],
            f"burst_{name}_raw_p99_ms": raw["answer_ms"]["p99"],
            f"burst_{name}_raw_p99_ms_runs": [run["p99_ms"] for run in raw["rounds"]],
            f"burst_{name}_raw_max_ms": raw["max_ms"],
            f"burst_{name}_raw_failed": raw["failed"],
            f"burst_{name}_raw_listen_overflows": raw["listen_overflows"],
            f"burst_{name}_raw_rounds": raw["rounds"],
        })
    return out
