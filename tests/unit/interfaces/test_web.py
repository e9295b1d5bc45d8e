"""The webhook, /health and the API, over real HTTP: Hypercorn on port 0, httpx, a real engine."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import replace

from urllib.parse import quote

import trio

from engine.interfaces.web import client_address, pop_secret, redacted
from engine.interfaces.web import webhook
from engine.interfaces.web.clients import networks

from support.engine_support import running, told
from support.waits import HANG
from support.web_support import AUTH, BUY, SECRET, SERVER, TOKEN, serving, with_secret

GUARD = "plugin = {priority = 1}\nfunction on_alert(a) return nil end"
BROKEN = "this is not lua ("


async def test_accepted_duplicate_and_the_secret_never_journaled(tmp_path):
    async with running(tmp_path) as engine, serving(engine) as client:
        first = await client.post(f"/webhook/{SECRET}", content=BUY)
        again = await client.post(f"/webhook/{SECRET}", content=BUY)
        # JSON sent as text/plain (TradingView's Content-Type), the secret in the body.
        body = with_secret('{"ticker": "OANDA:GBPUSD", "action": "sell", "volume": "0.2", "close": "1.3"}')
        plain = await client.post("/webhook", content=body, headers={"Content-Type": "text/plain; charset=utf-8"})
        text = await client.post(f"/webhook/{SECRET}", content="closeall")
        await engine.drain()
        row = engine.journal.get(plain.json()["id"])
    assert first.status_code == 200 and first.json() == {"status": "accepted", "id": first.json()["id"]}
    assert again.status_code == 200
    assert again.json() == {"status": "duplicate", "id": again.json()["id"], "duplicate_of": first.json()["id"]}
    assert plain.status_code == 200 and plain.json()["status"] == "accepted"
    assert text.status_code == 200 and text.json()["status"] == "accepted"
    assert "secret" not in row["alert"] and SECRET not in json.dumps(row)
    assert row["alert"]["symbol"] == "GBPUSD" and row["status"] == "done"


async def test_a_secret_named_in_capitals_is_taken_as_every_field_is_and_never_journaled(tmp_path):
    """The docs read JSON field names in any case; ``"Secret"`` was answered 401 "missing secret"."""
    body = json.dumps({"Secret": SECRET, "symbol": "EURUSD", "action": "buy", "volume": 0.1, "price": 1.1})
    twice = json.dumps({"secret": SECRET, "SECRET": "guess", "symbol": "EURUSD", "action": "buy"})
    async with running(tmp_path) as engine, serving(engine) as client:
        taken = await client.post("/webhook", content=body)
        refused = await client.post("/webhook", content=twice)
        await engine.drain()
        row = engine.journal.get(taken.json()["id"])
    assert taken.status_code == 200 and SECRET not in json.dumps(row) and "Secret" not in row["alert"]
    assert refused.status_code == 401 and refused.json() == {"error": "wrong secret"}


async def test_a_fixed_id_repeated_with_other_content_is_said_not_dropped_unseen(tmp_path):
    # TradingView's message with a fixed id ("id": "exit"): the second exit within the window is
    # a duplicate by its id, as the docs say, and not executed; said in the answer and to the
    # administrators, since a retry would have been the same body. A true retry is only answered.
    async with running(tmp_path) as engine, serving(engine) as client:
        buy = await client.post(f"/webhook/{SECRET}", content="buy EURUSD volume=0.2 price=1.1 id=entry")
        first = await client.post(f"/webhook/{SECRET}", content="closelong EURUSD volume=0.1 price=1.1 id=exit")
        retry = await client.post(f"/webhook/{SECRET}", content="closelong EURUSD volume=0.1 price=1.1 id=exit")
        second = await client.post(f"/webhook/{SECRET}", content="closelong EURUSD volume=0.1 price=1.2 id=exit")
        await engine.drain()
        errors = [text for kind, text in await told(engine) if kind == "errors"]
    assert buy.json()["status"] == first.json()["status"] == "accepted"
    assert retry.json() == {"status": "duplicate", "id": retry.json()["id"], "duplicate_of": first.json()["id"]}
    assert second.json() == {"status": "duplicate", "id": second.json()["id"], "duplicate_of": first.json()["id"],
                             "note": f"not executed: its id is alert {first.json()['id']}'s, with other content; "
                                     "give each alert an id of its own"}
    assert errors == [f"alert {second.json()['id']} (closelong EURUSD) not executed: its id 'exit' is alert "
                      f"{first.json()['id']}'s, received within engine.dedup_window (60 s) with other content; give "
                      "each TradingView alert an id of its own (with {{timenow}} in it)"]


async def test_refusals_401_400_413_leave_no_record(tmp_path):
    async with running(tmp_path) as engine, serving(engine) as client:
        answers = {
            "no secret": await client.post("/webhook", content=BUY),
            "wrong in body": await client.post("/webhook", content=with_secret(BUY, "nope")),
            "not a string": await client.post("/webhook", content=BUY[:-1] + ', "secret": 42}'),
            "wrong in path": await client.post("/webhook/nope", content=BUY),
            "text, no secret": await client.post("/webhook", content="buy EURUSD volume=0.1"),
            "empty path secret": await client.post("/webhook/", content=BUY),
        }
        bad = await client.post(f"/webhook/{SECRET}", content='{"symbol": "EURUSD", "action": "buy", "volume": "lots"}')
        twice = await client.post("/webhook", content=with_secret(BUY[:-1] + ', "volume": 10}', SECRET))
        too_big = await client.post(f"/webhook/{SECRET}", content=" " * (SERVER.max_body + 1))
        async def chunks():  # no Content-Length: chunked
            for _ in range(8):
                yield b"x" * 1024

        chunked = await client.post(f"/webhook/{SECRET}", content=chunks())
        unauthenticated_big = await client.post("/webhook/nope", content=" " * (SERVER.max_body + 1))
        rows = engine.journal.recent(10)
    for name, answer in answers.items():
        assert answer.status_code == (404 if name == "empty path secret" else 401), name
        assert "error" in answer.json(), name
    assert answers["no secret"].json()["error"].startswith("missing secret")
    assert answers["wrong in body"].json()["error"] == "wrong secret"
    assert bad.status_code == 400 and bad.json()["error"].startswith("volume:")
    assert twice.status_code == 400 and twice.json()["error"] == "volume: given twice in the JSON object"
    assert too_big.status_code == 413 and chunked.status_code == 413
    assert unauthenticated_big.status_code == 401  # the path secret is checked before the body is read
    assert rows == []


async def test_bad_input_suite_answers_400_and_the_server_stays_up(tmp_path):
    bodies = {
        "malformed json": b'{"symbol": "EURUSD", "action": ',
        "wrong type": b'{"symbol": 12, "action": "buy"}',
        "wrong action type": b'{"symbol": "EURUSD", "action": ["buy"]}',
        "missing symbol": b'{"action": "buy", "volume": 1}',
        "missing price": b'{"symbol": "EURUSD", "action": "buystop", "volume": 1}',
        "unknown command": b'{"symbol": "EURUSD", "action": "yolo"}',
        "unknown text command": b"yolo EURUSD",
        "json array": b'[1, 2, 3]',
        "deep nesting": b"[" * 100_0 + b"]" * 100_0,
        "non utf-8": b'{"symbol": "EUR\xff\xfeUSD", "action": "buy"}',
        "empty": b"",
        "placeholder": b'{"symbol": "{{ticker}}", "action": "buy"}',
        "nan": b'{"symbol": "EURUSD", "action": "buy", "volume": NaN}',
        "several lines": b"buy EURUSD\nsell EURUSD",
        "underscores in a number": b"buy EURUSD volume=1_0 price=1.1",
        "arabic-indic digits": "buy EURUSD volume=\u0660.\u0661 price=1.1".encode(),
    }
    async with running(tmp_path) as engine, serving(engine) as client:
        answers = {name: await client.post(f"/webhook/{SECRET}", content=body) for name, body in bodies.items()}
        huge = await client.post(f"/webhook/{SECRET}", content=b"{" * 1_000_000)
        health = await client.get("/health")
        rows = engine.journal.recent(50)
    for name, answer in answers.items():
        assert answer.status_code == 400, (name, answer.status_code, answer.text)
        assert answer.json()["error"], name
    assert answers["wrong type"].json()["error"].startswith("symbol:")
    assert answers["missing symbol"].json()["error"].startswith("symbol: missing")
    assert answers["missing price"].json()["error"].startswith("price: missing")
    assert answers["unknown command"].json()["error"].startswith("action:")
    assert answers["malformed json"].json()["error"].startswith("the body looks like JSON")
    assert "UTF-8" in answers["non utf-8"].json()["error"]
    assert answers["underscores in a number"].json()["error"] == "volume: must be a number, got '1_0'"
    assert huge.status_code == 413
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert rows == []


async def test_a_number_too_long_to_read_is_a_400_not_a_server_error(tmp_path):
    # Python reads no integer of more than 4,300 digits: the JSON reader's ValueError was a
    # 500 and a logged traceback, for anyone, before the secret was looked at.
    body = b'{"symbol": "EURUSD", "action": "buy", "volume": ' + b"9" * 5000 + b"}"
    async with running(tmp_path) as engine, serving(engine, replace(SERVER, max_body=65536)) as client:
        stranger = await client.post("/webhook", content=body)
        sender = await client.post(f"/webhook/{SECRET}", content=body)
        rows = engine.journal.recent(5)
    assert stranger.status_code == 401
    assert sender.status_code == 400
    assert sender.json()["error"] == "the body holds a number of more than 4,300 digits"
    assert rows == []


async def test_no_secret_configured_refuses_every_webhook(tmp_path):
    async with running(tmp_path) as engine, serving(engine, replace(SERVER, secret=None, api_token=None)) as client:
        in_path = await client.post("/webhook/anything", content=BUY)
        in_body = await client.post("/webhook", content=BUY[:-1] + ', "secret": ""}')
        api = await client.get("/api/plugins", headers={"Authorization": "Bearer x"})
    assert in_path.status_code == 401 and "no webhook secret is configured" in in_path.json()["error"]
    assert in_body.status_code == 401
    assert api.status_code == 401 and "no API token" in api.json()["error"]


async def test_allow_ips_with_forged_and_trusted_forwarded_for(tmp_path):
    allowed = replace(SERVER, allow_ips=("10.0.0.0/8", "192.0.2.7"))
    behind_proxy = replace(allowed, trusted_proxies=("127.0.0.1",))
    async with running(tmp_path) as engine:
        async with serving(engine, allowed) as client:
            forged = await client.post(f"/webhook/{SECRET}", content=BUY, headers={"X-Forwarded-For": "10.1.2.3"})
        async with serving(engine, behind_proxy) as client:
            via_proxy = await client.post(f"/webhook/{SECRET}", content=BUY, headers={"X-Forwarded-For": "10.1.2.3"})
            # The client forged the left entry; the proxy appended the address it saw.
            spoofed = await client.post(f"/webhook/{SECRET}", content=BUY,
                                        headers={"X-Forwarded-For": "10.1.2.3, 203.0.113.9"})
            no_header = await client.post(f"/webhook/{SECRET}", content=BUY)
            health = await client.get("/health")
    assert forged.status_code == 403 and "127.0.0.1" in forged.json()["error"]
    assert via_proxy.status_code == 200 and via_proxy.json()["status"] == "accepted"
    assert spoofed.status_code == 403 and "203.0.113.9" in spoofed.json()["error"]
    assert no_header.status_code == 403
    assert health.status_code == 200  # /health is not behind the allow list


def test_client_address_rules():
    trusted = networks(["127.0.0.1", "10.0.0.0/8"], "t")
    assert str(client_address("127.0.0.1", ["198.51.100.1, 10.0.0.5"], trusted)) == "198.51.100.1"
    assert str(client_address("198.51.100.2", ["10.0.0.5"], trusted)) == "198.51.100.2"
    assert client_address("127.0.0.1", ["garbage"], trusted) is None
    assert str(client_address("::ffff:127.0.0.1", ["203.0.113.1"], trusted)) == "203.0.113.1"
    assert redacted(f"/webhook/{SECRET}") == "/webhook/***"
    body = {"a": 1, "secret": "x"}
    assert pop_secret(body) == "x" and body == {"a": 1}
    assert pop_secret("buy EURUSD") is None and pop_secret({"secret": 5}) == ""
    body = {"Secret": "x", "action": "buy"}   # field names are read in any case, the secret's too
    assert pop_secret(body) == "x" and body == {"action": "buy"}
    body = {"secret": "x", "SECRET": "y"}      # given twice: neither is believed, and neither is kept
    assert pop_secret(body) == "" and body == {}


async def test_the_secret_is_never_logged(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    async with running(tmp_path) as engine, serving(engine) as client:
        await client.post(f"/webhook/{SECRET}", content=BUY)
        await client.post("/webhook", content=with_secret('{"symbol": "EURUSD", "action": "sell", "volume": 0.1}'))
        await client.post(f"/webhook/{SECRET}", content="yolo")
        await client.post(f"/webhook/{SECRET}x", content=BUY)
        await client.post("/webhook", content=with_secret(BUY, SECRET + "x"))
        await engine.drain()
    messages = [r.getMessage() for r in caplog.records]
    assert any("webhook alert 1 EURUSD buy: accepted" in m for m in messages)
    assert any("refused (400)" in m for m in messages) and any("refused (401)" in m for m in messages)
    assert SECRET not in caplog.text and not any(SECRET in m for m in messages)


async def test_webhook_endpoint_method_slow_body_and_internal_error(tmp_path, caplog, monkeypatch):
    """What the webhook's own ASGI endpoint answers, ahead of Quart: other methods, a body
    that never finishes, and a failure inside (a 500 whose log line hides the secret)."""
    monkeypatch.setattr(webhook, "BODY_TIMEOUT", 0.3)
    async with running(tmp_path) as engine, serving(engine) as client:
        get = await client.get(f"/webhook/{SECRET}")
        port = client.base_url.port
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        async with stream:
            await stream.send_all(f"POST /webhook/{quote(SECRET)} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"
                                  '{"symbol": '.encode())
            slow = b""
            with trio.fail_after(HANG):
                while b"did not arrive" not in slow and (chunk := await stream.receive_some(4096)):
                    slow += chunk

        async def broken(alert):
            raise RuntimeError("the journal fell over")
        monkeypatch.setattr(engine, "submit", broken)
        caplog.set_level(logging.ERROR)
        failed = await client.post(f"/webhook/{SECRET}", content=BUY)
        health = await client.get("/health")
        rows = engine.journal.recent(5)
    assert get.status_code == 405 and get.headers["allow"] == "POST" and "POST" in get.json()["error"]
    assert slow.startswith(b"HTTP/1.1 408") and b"did not arrive" in slow
    assert failed.status_code == 500 and failed.json() == {"error": "internal error; see the server's log"}
    assert "POST /webhook/*** failed: RuntimeError" in caplog.text and SECRET not in caplog.text
    assert health.status_code == 200 and rows == []


async def test_api_behind_its_token(tmp_path):
    scripts = {"guard": GUARD, "broken": BROKEN}
    async with running(tmp_path, scripts) as engine, serving(engine) as client:
        refused = [await client.get("/api/plugins"),
                   await client.get("/api/plugins", headers={"Authorization": "Bearer wrong"}),
                   await client.get("/api/alerts", headers={"Authorization": TOKEN}),
                   await client.post("/api/pause")]
        accepted = await client.post(f"/webhook/{SECRET}", content=BUY)
        await engine.drain()
        alert_id = accepted.json()["id"]
        plugins = (await client.get("/api/plugins", headers=AUTH)).json()
        alerts = (await client.get("/api/alerts?limit=5", headers=AUTH)).json()
        bad_limits = [await client.get(f"/api/alerts?limit={n}", headers=AUTH) for n in ("0", "501", "x")]
        one = await client.get(f"/api/alerts/{alert_id}", headers=AUTH)
        missing = await client.get("/api/alerts/999", headers=AUTH)
        orders = (await client.get("/api/orders", headers=AUTH)).json()
        positions = (await client.get("/api/positions", headers=AUTH)).json()
        account = (await client.get("/api/account", headers=AUTH)).json()
        disabled = await client.post("/api/plugins/guard/disable", headers=AUTH)
        enabled_now = engine.plugins.get("guard").enabled
        enabled = await client.post("/api/plugins/guard/enable", headers=AUTH)
        unknown = await client.post("/api/plugins/nobody/enable", headers=AUTH)
        health = (await client.get("/health", headers=AUTH)).json()
        anonymous = (await client.get("/health")).json()
    assert [r.status_code for r in refused] == [401, 401, 401, 401]
    assert not engine.paused
    guard = next(p for p in plugins["plugins"] if p["name"] == "guard")
    for key in ("name", "enabled", "state", "symbols", "hooks", "calls", "errors", "timeouts",
                "p50_us", "p99_us", "memory_bytes", "last_error"):
        assert key in guard, key
    assert guard["calls"] == 1 and guard["hooks"] == ["on_alert"] and guard["memory_bytes"] > 0
    assert "broken.lua" in plugins["load_errors"]
    assert [a["id"] for a in alerts["alerts"]] == [alert_id]
    assert [r.status_code for r in bad_limits] == [400, 400, 400]
    row = one.json()
    assert one.status_code == 200 and row["status"] == "done" and row["alert"]["symbol"] == "EURUSD"
    assert set(row["outcome"]) >= {"plugins", "orders", "latency_ms"}
    assert missing.status_code == 404
    assert orders["open"] == [] and orders["recent"][0]["plugin"]
    assert [p["symbol"] for p in positions["positions"]] == ["EURUSD"]
    assert "balance" in account["account"]
    assert disabled.status_code == 200 and disabled.json()["enabled"] is False and enabled_now is False
    assert enabled.status_code == 200 and enabled.json()["state"] == "active"
    assert unknown.status_code == 404
    assert health["status"] == "degraded" and list(health["load_errors"]) == ["broken.lua"]
    assert health["load_errors"] == plugins["load_errors"]  # one shape on both routes: file -> why
    assert health["plugins"] == {"loaded": 1, "enabled": 1} and health["broker"] == "paper"
    assert anonymous == {"status": "degraded"}  # the state word only: the details may name the MT5 login


async def test_an_alert_id_past_64_bits_is_no_alert_not_a_server_error(tmp_path):
    """SQLite cannot be asked for an id past 64 bits: ``/api/alerts/<huge>`` was a 500."""
    async with running(tmp_path) as engine, serving(engine) as client:
        huge = await client.get(f"/api/alerts/{2 ** 63}", headers=AUTH)
        huger = await client.get("/api/alerts/" + "9" * 30, headers=AUTH)
    assert [huge.status_code, huger.status_code] == [404, 404], huge.text
    assert huge.json() == {"error": f"no alert {2 ** 63}"}


async def test_a_route_there_is_not_is_named_and_the_reference_given(tmp_path):
    """A newcomer's guess (``/api/pnl``) was answered with Werkzeug's "The requested URL was not
    found on the server. If you entered the URL manually please check your spelling ..."."""
    async with running(tmp_path) as engine, serving(engine) as client:
        guess = await client.get("/api/pnl", headers=AUTH)
        no_alert = await client.get("/api/alerts/7", headers=AUTH)
    assert guess.status_code == 404 and guess.json() == {"error": "no route GET /api/pnl: the routes are in "
                                                                  "docs/http-api.md"}
    assert no_alert.json() == {"error": "no alert 7"}   # a handler's own 404 keeps its words


async def test_the_api_cancels_one_of_moonhooks_pending_orders_through_every_plugins_on_order(tmp_path):
    watch = "function on_order(o) store.set('seen', o.kind .. ':' .. o.plugin .. ':' .. tostring(o.ticket)) end"
    async with running(tmp_path, {"watch": watch}) as engine, serving(engine) as client:
        await client.post(f"/webhook/{SECRET}", content="buylimit EURUSD volume=0.1 price=1.05")
        await engine.drain()
        (order,) = await engine.broker.orders()
        anonymous = await client.post(f"/api/orders/{order['ticket']}/cancel")
        unknown = await client.post("/api/orders/4242/cancel", headers=AUTH)
        done = await client.post(f"/api/orders/{order['ticket']}/cancel", headers=AUTH)
        again = await client.post(f"/api/orders/{order['ticket']}/cancel", headers=AUTH)
        left = await engine.broker.orders()
        seen = engine.store.get("watch", "seen")
        ledger = [o for o in engine.ledger.recent() if o["kind"] == "close"]
    assert anonymous.status_code == 401 and unknown.status_code == 404
    assert unknown.json()["error"].startswith("ticket: no pending order 4242 of moonhook's")
    assert done.status_code == 200 and done.json() == {"ticket": order["ticket"], "ok": True, "price": 1.05,
                                                       "volume": 0.1, "error": None, "unknown": False}
    assert again.status_code == 404 and left == []
    assert seen == f"close:api:{order['ticket']}"
    assert [(o["plugin"], o["status"]) for o in ledger] == [("api", "done")]


async def test_an_answer_given_before_the_body_was_read_leaves_the_connection_usable(tmp_path):
    # A route that refuses a parameter answers before it reads the body. The client has sent
    # its body (here after the head, as a slower network delivers it) and its next request on
    # the same connection: both are answered, none is met by a closed connection.
    async with running(tmp_path, {"demo": GUARD}) as engine, serving(engine) as client:
        port = client.base_url.port
        body = b"function on_alert(a) end"
        auth = f"Authorization: Bearer {TOKEN}\r\n"
        head = (f"POST /api/scripts/demo.lua/replay?days=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        following = f"GET /api/overview HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}\r\n".encode()
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        async with stream:
            await stream.send_all(head)
            received = b""
            with trio.fail_after(HANG):
                while not received.rstrip().endswith(b"}"):  # the route has answered: the body comes after
                    chunk = await stream.receive_some(65536)
                    assert chunk, f"closed before the body was sent: {received!r}"
                    received += chunk
                await stream.send_all(body + following)
                while received.count(b"HTTP/1.1 ") < 2 or not received.rstrip().endswith(b"}"):
                    chunk = await stream.receive_some(65536)
                    if not chunk:
                        break   # closed by the server
                    received += chunk
    assert re.findall(rb"HTTP/1\.1 (\d{3}) ", received) == [b"400", b"200"], received[:300]


async def test_the_api_closes_one_of_moonhooks_positions_by_its_ticket(tmp_path):
    async with running(tmp_path) as engine, serving(engine) as client:
        for body in ("buy EURUSD volume=0.1 price=1.1", "buy EURUSD volume=0.2 price=1.1 id=second"):
            await client.post(f"/webhook/{SECRET}", content=body)
        await engine.drain()
        first, second = await engine.broker.positions()
        unknown = await client.post("/api/positions/4242/close", headers=AUTH)
        done = await client.post(f"/api/positions/{first['ticket']}/close", headers=AUTH)
        again = await client.post(f"/api/positions/{first['ticket']}/close", headers=AUTH)
        left = [p["ticket"] for p in await engine.broker.positions()]
    assert unknown.status_code == 404 and unknown.json()["error"].startswith("ticket: no open position 4242")
    assert done.status_code == 200 and done.json() == {"ticket": first["ticket"], "ok": True, "price": 1.1,
                                                       "volume": 0.1, "error": None, "unknown": False}
    assert again.status_code == 404 and left == [second["ticket"]]   # only the one asked for
    # a retry (the first answer lost) is not told the position is someone else's, left open
    assert "closed already" in again.json()["error"], again.json()
