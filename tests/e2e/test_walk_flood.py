"""One address holding many connections open against `moonhook run` (event streams, which the
server never times out): past `server.max_connections_per_ip` its connections are closed unread,
and alerts from another address are still answered. Before the per-address limit the flood took
every one of `server.max_connections` and the alerts waited for room, then were closed unanswered.

On Linux all of 127.0.0.0/8 is this machine: the flood comes from 127.0.0.2, the alerts from
127.0.0.1 (which, as a reverse proxy on this machine, is not held to the per-address limit)."""

from __future__ import annotations

import socket

import h2.config
import h2.connection

from support.e2e_support import init
from support.waits import HANG

CAP, PER_IP, FLOOD = 160, 128, 200  # 128: the default of max_connections_per_ip
FLOODER = "127.0.0.2"
# seconds: a hang guard only; every wait below ends on the server's doing


def _stream(port: int, token: str, source: str = FLOODER) -> socket.socket:
    """A connection from ``source`` asking for the event stream, which holds it open while it lasts."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=HANG, source_address=(source, 0))
    sock.sendall(b"GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n\r\n" % token.encode())
    return sock


def _first_answer(sock: socket.socket) -> bytes:
    """The answer's head, or what came before the server closed the connection (b"": nothing)."""
    data = b""
    try:
        while b"\r\n\r\n" not in data and (chunk := sock.recv(65536)):
            data += chunk
    except ConnectionResetError:  # closed with our request unread: the kernel resets it
        pass
    return data


def test_a_flood_from_one_address_is_cut_to_its_share_and_alerts_still_come_through(user):
    config, _ = init(user, "bot")
    config.replace("max_connections = 512", f"max_connections = {CAP}")
    run = user.start("run", config=config, cwd="bot")
    flood = [_stream(run.port, config.values["server"]["api_token"]) for _ in range(FLOOD)]
    answers = [_first_answer(sock) for sock in flood]  # each either streaming or closed by the server
    streaming = [a for a in answers if a.startswith(b"HTTP/1.1 200")]
    assert len(streaming) == PER_IP and answers.count(b"") == FLOOD - PER_IP, {a[:40] for a in answers}
    for n in range(5):  # while the flood's streams are still held
        assert run.webhook(f"buy EURUSD volume=0.01 price=1.1 id=f{n}")["status"] == "accepted"
    assert "max_connections_per_ip" in run.text()  # the refusals are logged, naming the setting
    for sock in flood:
        sock.close()
    assert run.interrupt() == 0


def test_strangers_from_many_addresses_holding_every_place_do_not_keep_out_the_allowed_senders(user):
    """A few addresses, each within max_connections_per_ip, can hold every one of
    server.max_connections (measured with idle connections on the default 512: from 8
    addresses of 128 each, no alert from another address was answered within TradingView's 3 s).
    The addresses in server.allow_ips, the only ones whose alerts count, have places of their
    own: a stranger's flood cannot take them. Here 2 addresses hold every place with event
    streams (never timed out), and TradingView at 127.0.0.4 is answered at once."""
    config, _ = init(user, "bot")
    config.replace("max_connections = 512", "max_connections = 8")
    config.replace("max_connections_per_ip = 128", "max_connections_per_ip = 4")
    config.replace("allow_ips = []", 'allow_ips = ["127.0.0.4"]')
    run = user.start("run", config=config, cwd="bot")
    token, secret = config.values["server"]["api_token"], config.values["server"]["secret"]
    flood = [_stream(run.port, token, source) for source in ("127.0.0.2", "127.0.0.3") for _ in range(4)]
    assert all(_first_answer(sock).startswith(b"HTTP/1.1 200") for sock in flood)  # every place held
    for n in range(3):
        alert = socket.create_connection(("127.0.0.1", run.port), timeout=HANG, source_address=("127.0.0.4", 0))
        body = b"buy EURUSD volume=0.01 price=1.1 id=allowed%d" % n
        alert.sendall(b"POST /webhook/%s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n%s"
                      % (secret.encode(), len(body), body))
        answer = _first_answer(alert)
        alert.close()
        assert answer.startswith(b"HTTP/1.1 200"), answer  # was b"": closed unread after 2 s
    for sock in flood:
        sock.close()
    assert run.interrupt() == 0


def _until_closed(sock: socket.socket, first: bytes) -> bytes:
    """All the server sends until it closes the connection, once its first bytes are ``first``
    (else what came: an HTTP/2 server's frames, on a connection it holds open)."""
    data = b""
    while len(data) < len(first) and (chunk := sock.recv(65536)):
        data += chunk
    while data.startswith(first) and (chunk := sock.recv(65536)):
        data += chunk
    return data


def test_one_connection_carries_one_request_at_a_time_http2_is_refused(user):
    """HTTP/2 over plain HTTP (h2c) carried up to 100 requests at once on one connection (the
    server's SETTINGS said 100, and 100 event streams were held), so max_connections_per_ip
    bounded one address to 12,800 requests in flight, not 128 (measured: 12,672 webhook requests
    waiting for their bodies, the engine's memory from 66 to 216 MB). Only HTTP/1.1 is served: a
    connection that opens with HTTP/2's preface is answered 505 and closed, no stream of it served;
    one asking for h2c by Upgrade is answered in HTTP/1.1."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    token = config.values["server"]["api_token"]
    sock = socket.create_connection(("127.0.0.1", run.port), timeout=HANG, source_address=(FLOODER, 0))
    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    client.initiate_connection()
    for _ in range(3):  # event streams, which the server never ends by itself
        client.send_headers(client.get_next_available_stream_id(), [
            (":method", "GET"), (":path", "/api/events"), (":scheme", "http"),
            (":authority", f"127.0.0.1:{run.port}"), ("authorization", f"Bearer {token}")], end_stream=True)
    sock.sendall(client.data_to_send())
    refused = b"HTTP/1.1 505 HTTP Version Not Supported"
    answer = _until_closed(sock, refused)  # was h2's SETTINGS (at most 100 streams), then the three streams' heads
    sock.close()
    assert answer.startswith(refused), answer[:80]
    assert answer.endswith(b'{"error": "HTTP/2 is not served here: speak HTTP/1.1"}'), answer
    upgrade = socket.create_connection(("127.0.0.1", run.port), timeout=HANG, source_address=(FLOODER, 0))
    upgrade.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, HTTP2-Settings, close\r\n"
                    b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n")
    upgraded = _until_closed(upgrade, b"HTTP/1.1 200 ")  # was 101 Switching Protocols, then HTTP/2
    upgrade.close()
    assert upgraded.startswith(b"HTTP/1.1 200 "), upgraded[:80]
    assert run.webhook("buy EURUSD volume=0.01 price=1.1 id=after")["status"] == "accepted"
    assert run.interrupt() == 0
