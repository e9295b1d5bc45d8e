"""The names the server answers to (``server.hosts``, docs/security.md "DNS rebinding") over real
HTTP: a stranger's site whose name was made to lead to this machine (its LAN address, or
127.0.0.1) is same-origin to the trader's browser, and its requests carry that name in their Host.
They are refused before any route runs, and never counted as the trader's failed logins; the
webhook and Telegram's route, which services call at the trader's public name with their own
secret, answer at any name."""

from __future__ import annotations

from dataclasses import replace

import pytest

from engine.app.checker import server_findings
from engine.domain.config import ServerConfig
from engine.domain.config.hosts import answers, listed, unlisted_note
from engine.interfaces.web.hosts import HostGate
from engine.interfaces.web.refusals import Refusals

from support.engine_support import running
from support.web_support import AUTH, BUY, SECRET, SERVER, TOKEN, serving

FOREIGN = "rebind.example:8080"
GUESSES = 6  # one more than the failed logins that close the door (session.LOGIN_FAILURES)


async def test_a_foreign_name_is_refused_on_every_route_but_the_webhooks(tmp_path):
    """The dashboard, the login, the API, /health and /metrics refuse a name that is not listed,
    naming the setting; the webhook at that name takes the alert (TradingView posts to the
    trader's public name), and Telegram's route is reached (here: no bot, so 404)."""
    host = {"Host": FOREIGN}
    async with running(tmp_path) as engine, serving(engine) as client:
        refused = [await client.get("/", headers=host), await client.get("/health", headers=host),
                   await client.get("/api/plugins", headers={**host, **AUTH}),
                   await client.get("/metrics", headers={**host, **AUTH}),
                   await client.post("/login", json={"token": TOKEN}, headers=host)]
        alert = await client.post(f"/webhook/{SECRET}", content=BUY, headers=host)
        telegram = await client.post("/telegram/123", json={}, headers=host)
    assert [r.status_code for r in refused] == [403] * 5, [(r.status_code, r.text) for r in refused]
    said = refused[0].json()["error"]
    assert FOREIGN in said and "server.hosts" in said and "127.0.0.1 or localhost" in said
    assert "set-cookie" not in refused[4].headers
    assert alert.status_code == 200 and alert.json()["status"] == "accepted"
    assert telegram.status_code == 404


async def test_guesses_at_a_foreign_name_never_lock_the_trader_out(tmp_path):
    """A rebound page's wrong tokens come from the trader's own address: refused uncounted, so the
    trader's own login, at an IP address, still opens a session."""
    async with running(tmp_path) as engine, serving(engine) as client:
        guesses = [await client.post("/login", data={"token": f"guess{i}"}, headers={"Host": FOREIGN})
                   for i in range(GUESSES)]
        trader = await client.post("/login", json={"token": TOKEN})
    assert {g.status_code for g in guesses} == {403}
    assert trader.status_code == 204, trader.text


async def test_this_machine_s_fixed_names_and_the_listed_ones_are_answered(tmp_path):
    """IP addresses, localhost and .localhost names need no listing; a listed name is answered at
    any port, a listed name:port at that port only, whoever forwards it (a trusted proxy too)."""
    fixed = ("127.0.0.1:8080", "localhost:8080", "app.localhost", "[::1]:8080", "LOCALHOST.", "192.168.1.5:8080")
    listed_server = replace(SERVER, hosts=("trader.example.com", "mypc.local:8080"), trusted_proxies=("127.0.0.0/8",))
    async with running(tmp_path) as engine:
        async with serving(engine) as client:
            own = [await client.get("/health", headers={"Host": h}) for h in fixed]
            unlisted = await client.get("/health", headers={"Host": "trader.example.com"})
        async with serving(engine, listed_server) as client:
            proxied = await client.post("/login", json={"token": TOKEN},
                                        headers={"Host": "Trader.Example.com", "X-Forwarded-For": "203.0.113.7"})
            lan = await client.get("/health", headers={"Host": "mypc.local:8080"})
            other_port = await client.get("/health", headers={"Host": "mypc.local:9090"})
            nip = await client.get("/health", headers={"Host": "127.0.0.1.nip.io:8080"})
    assert [r.status_code for r in own] == [200] * len(fixed)
    assert unlisted.status_code == 403
    assert proxied.status_code == 204, proxied.text
    assert lan.status_code == 200
    assert (other_port.status_code, nip.status_code) == (403, 403)


async def test_the_name_server_host_listens_on_is_answered():
    """A name the trader binds to (``host = "mypc.lan"``) is theirs, and ``moonhook status`` and
    ``send`` call it by that name: answered without listing it again."""
    reached = []

    async def app(scope, receive, send):
        reached.append(scope["path"])

    gate = HostGate(replace(SERVER, host="mypc.lan"), app, Refusals())
    await gate({"type": "http", "path": "/api/overview", "headers": [(b"host", b"MyPC.lan:8080")]}, None, None)
    assert reached == ["/api/overview"]


def test_a_host_without_a_port_matches_an_entry_for_80_or_443():
    hosts = listed(("trader.example.com:443",))
    assert answers("trader.example.com", hosts) and answers("trader.example.com:443", hosts)
    assert not answers("trader.example.com:8080", hosts)
    assert answers(None, ()) and answers("", ())  # HTTP/1.0: no name a page could own


@pytest.mark.parametrize("entry", ["http://trader.example.com", "trader example", "host:port", "", 7])
def test_an_entry_that_is_no_name_stops_the_start(entry):
    with pytest.raises(ValueError, match=r"server\.hosts\[0\]"):
        ServerConfig(hosts=(entry,))


def test_the_note_when_the_server_listens_beyond_this_machine_with_no_name_listed():
    """``moonhook run``'s banner and ``moonhook check`` say which names are refused."""
    assert "server.hosts is empty" in unlisted_note("0.0.0.0", ())
    assert "server.hosts is empty" in unlisted_note("192.168.1.5", ())
    assert "localhost, 'mypc.lan' only" in unlisted_note("mypc.lan", ())
    assert unlisted_note("0.0.0.0", ("trader.example.com",)) is None
    assert [unlisted_note(h, ()) for h in ("127.0.0.1", "127.0.0.2", "localhost", "::1", "[::1]")] == [None] * 5


async def test_a_reverse_proxy_that_forwards_the_public_name_is_said_to_need_it_listed(tmp_path):
    """Behind a proxy on this machine (listed in trusted_proxies, as the docs before server.hosts
    said to), the dashboard is refused at the public name the proxy forwards: ``moonhook check``
    and the banner say so, not only the dashboard's 403 after the upgrade."""
    behind = replace(SERVER, trusted_proxies=("127.0.0.1",))
    async with running(tmp_path) as engine, serving(engine, behind) as client:
        forwarded = await client.get("/api/overview", headers={**AUTH, "Host": "trader.example.com"})
        assert forwarded.status_code == 403
    (finding,) = server_findings(behind)
    assert finding.level == "warning" and "trusted_proxies is set and server.hosts is empty" in finding.message
    assert server_findings(replace(behind, hosts=("trader.example.com",))) == []
