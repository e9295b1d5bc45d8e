"""The connections refused past ``server.max_connections_per_ip``, on a real server: counted in
``/metrics``, and told in the log by a first line, then at most a line an interval for each
address, however many there are. The interval runs on the server's ``Refusals.clock``, which the
test holds: what is logged depends on the count of connections and the clock, never on timing."""

from __future__ import annotations

import importlib
import logging
from dataclasses import replace

import httpx
import trio
from prometheus_client.parser import text_string_to_metric_families

from support.engine_support import running
from support.waits import HANG
from support.web_support import AUTH, BUY, SERVER, serving, with_secret

HEALTH = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
FLOOD = 40


async def _answered(stream: trio.SocketStream) -> bytes:
    await stream.send_all(HEALTH)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = await stream.receive_some(65536)
        assert chunk, data
        data += chunk
    return data


async def _refused(port: int, source: str) -> None:
    """A connection from ``source``, closed by the server without a word."""
    stream = await trio.open_tcp_stream("127.0.0.1", port, local_address=source)
    try:
        assert await stream.receive_some(65536) == b""
    except trio.BrokenResourceError:  # reset: closed with nothing of ours read
        pass
    await stream.aclose()


async def _refusals(client) -> dict[str, float]:
    text = (await client.get("/metrics", headers=AUTH)).text
    family, = (f for f in text_string_to_metric_families(text) if f.name == "moonhook_connections_refused")
    return {s.labels["limit"]: s.value for s in family.samples if s.name.endswith("_total")}


def _held(serve_module, monkeypatch, caplog):
    """The servers' Hypercorn configs as ``serving`` makes them (each holding its ``Refusals``), and
    the lines moonhook.web logged naming an address."""
    configs = []
    make_config = serve_module.hypercorn_config
    monkeypatch.setattr(serve_module, "hypercorn_config", lambda server: configs.append(make_config(server))
                        or configs[-1])
    caplog.set_level(logging.WARNING, logger="moonhook.web")

    def lines(address: str) -> list[str]:
        return [r.getMessage() for r in caplog.records if r.name == "moonhook.web" and address in r.getMessage()]
    return configs, lines


async def test_a_flood_of_refused_connections_logs_a_line_an_interval_and_counts_each(tmp_path, monkeypatch, caplog):
    # Each refusal was a line of its own: a flood from one address flooded the disk too.
    serve_module = importlib.import_module("engine.interfaces.web.serve")
    capacity = importlib.import_module("engine.interfaces.web.capacity")
    monkeypatch.setattr(serve_module, "KEEP_ALIVE_TIMEOUT", 60.0)  # the held connections stay
    monkeypatch.setattr(capacity, "QUEUE_SECONDS", 0.0)  # refused at once: no room will come
    configs, lines = _held(serve_module, monkeypatch, caplog)
    now = [1000.0]

    async with running(tmp_path) as engine, serving(engine, replace(SERVER, max_connections_per_ip=1)) as client:
        port = client.base_url.port
        refusals = configs[0].refusals
        refusals.clock = lambda: now[0]
        held = {}
        with trio.fail_after(HANG):
            for source in ("127.0.0.4", "127.0.0.5"):
                held[source] = await trio.open_tcp_stream("127.0.0.1", port, local_address=source)
                assert (await _answered(held[source])).startswith(b"HTTP/1.1 200")
            for _ in range(FLOOD):
                await _refused(port, "127.0.0.4")
            await _refused(port, "127.0.0.5")
        assert await _refusals(client) == {"max_connections_per_ip": FLOOD + 1, "max_connections": 0}
        first, = lines("127.0.0.4")
        assert first.startswith("connection refused: 1 open already from 127.0.0.4 (server.max_connections_per_ip)")
        assert len(lines("127.0.0.5")) == 1

        now[0] += refusals.interval - 1   # within the interval: still counted, not told
        with trio.fail_after(HANG):
            await _refused(port, "127.0.0.4")
        assert len(lines("127.0.0.4")) == 1
        now[0] += 1   # the interval is over: the next refusal tells how many were not
        with trio.fail_after(HANG):
            await _refused(port, "127.0.0.4")
        assert lines("127.0.0.4")[1:] == ["connections refused: 41 more from 127.0.0.4 in the last 60 s "
                                          "(server.max_connections_per_ip)"]
        with trio.fail_after(HANG):
            for _ in range(5):
                await _refused(port, "127.0.0.4")
        now[0] += refusals.interval
        refusals.flush()   # what summarize does each interval, with no refusal to tell it
        assert lines("127.0.0.4")[2:] == ["connections refused: 5 more from 127.0.0.4 in the last 60 s "
                                          "(server.max_connections_per_ip)"]
        assert lines("127.0.0.5")[1:] == []   # nothing more from it: nothing to tell, and forgotten
        assert await _refusals(client) == {"max_connections_per_ip": FLOOD + 8, "max_connections": 0}
        for stream in held.values():
            await stream.aclose()
    assert len(lines("127.0.0.4")) == 3 and len(lines("127.0.0.5")) == 1


def test_past_max_keys_further_addresses_are_told_together(monkeypatch, caplog):
    # A flood from many addresses (each IPv6 /64 is one) must not grow the table without bound.
    refusals_module = importlib.import_module("engine.interfaces.web.refusals")
    monkeypatch.setattr(refusals_module, "MAX_KEYS", 2)
    caplog.set_level(logging.WARNING, logger="moonhook.web")
    now = [0.0]
    refusals = refusals_module.Refusals(clock=lambda: now[0])
    for n in range(10):
        for _ in range(3):
            refusals.refused("max_connections_per_ip", f"2001:db8:{n}::/64", f"from 2001:db8:{n}::/64")
    now[0] += refusals.interval
    refusals.flush()
    said = [r.getMessage() for r in caplog.records if r.name == "moonhook.web"]
    assert len(said) == 3 + 3 and len(refusals._windows) == 3
    assert said[3:] == [f"connections refused: 2 more from {who} in the last 60 s (server.max_connections_per_ip)"
                        for who in ("2001:db8:0::/64", "2001:db8:1::/64")] + [
        "connections refused: 23 more from other addresses in the last 60 s (server.max_connections_per_ip)"]


async def test_a_flood_of_refused_requests_logs_a_line_a_kind_and_address_an_interval(tmp_path, monkeypatch, caplog):
    # Wrong webhook secrets and bearer tokens were a line each: 737 a second from one client, about
    # 430 MB of log an hour. The first of a kind from an address is told; the rest in one line.
    serve_module = importlib.import_module("engine.interfaces.web.serve")
    configs, lines = _held(serve_module, monkeypatch, caplog)
    now = [1000.0]

    async with running(tmp_path) as engine, serving(engine) as client:
        configs[0].refusals.clock = lambda: now[0]
        base = str(client.base_url)
        transport = httpx.AsyncHTTPTransport(local_address="127.0.0.6")
        async with httpx.AsyncClient(base_url=base, transport=transport, timeout=HANG) as stranger:
            for n in range(FLOOD):
                wrong = await stranger.post("/webhook", content=BUY.replace("}", f', "secret": "guess-{n}"}}'))
                assert wrong.status_code == 401
            for bad in ('"volume": "lots"', '"sl": "x"'):   # with the secret: the trader's, each told
                bad_alert = with_secret(f'{{"symbol": "EURUSD", "action": "buy", {bad}}}')
                assert (await stranger.post("/webhook", content=bad_alert)).status_code == 400
            for n in range(FLOOD):
                assert (await stranger.get("/api/plugins", headers={"Authorization": f"Bearer guess-{n}"})
                        ).status_code in (401, 429)
        first, volume, sl, token = lines("127.0.0.6")
        assert first.startswith("webhook from 127.0.0.6 refused (401): ") and "guess" not in first
        assert volume.startswith("webhook from 127.0.0.6 refused (400): volume") and "(400): sl" in sl
        assert token == "bearer token from 127.0.0.6 refused: wrong token"
        assert (await client.post("/webhook", content=BUY.replace("}", ', "secret": "x"}'))).status_code == 401
        assert len(lines("127.0.0.1 refused (401)")) == 1   # another address: its own first line
        now[0] += configs[0].refusals.interval
        configs[0].refusals.flush()
        summaries = lines("127.0.0.6")[4:]
        assert summaries == [
            f"webhook (401) refused {FLOOD - 1} more times from 127.0.0.6 in the last 60 s; the last: "
            "webhook from 127.0.0.6 refused (401): wrong secret",
            f"bearer token refused {FLOOD - 1} more times from 127.0.0.6 in the last 60 s; the last: "
            "GET /api/plugins from 127.0.0.6 refused: too many failed logins or wrong tokens"], summaries
