"""How many requests one address holds in flight on a running `moonhook run` over HTTP/2 without
TLS (h2c), as a stranger can: no token, webhook POSTs whose bodies never come (the server waits
BODY_TIMEOUT, 5 s, for each). Counts, no timing: a request is held when the server has taken it
and not answered it by the time it acknowledges a PING sent after it on the same connection.

    python -m bench.h2c_streams PORT [CONNECTIONS [STREAMS [SOURCE]]]

(defaults 1, 100, 127.0.0.2: another address than 127.0.0.1, which is not held to
server.max_connections_per_ip). Before moonhook served HTTP/1.1 only (engine/interfaces/web/http1.py)
one connection held 100 (the server's SETTINGS said 100; the 101st closed it with a GOAWAY), and
128 connections 12,672 of 12,800, the engine's RSS going from 66 to 216 MB. Now each connection is
answered 505 and closed: 0 held.
"""

from __future__ import annotations

import socket
import sys

import h2.config
import h2.connection
import h2.events

PING = b"h2c-ping"


def opened(port: int, source: str) -> tuple[socket.socket, h2.connection.H2Connection]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=60, source_address=(source, 0))
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    return sock, conn


def held(sock: socket.socket, conn: h2.connection.H2Connection, streams: int) -> tuple[int, str]:
    """The requests of ``conn`` the server holds when its PING ack comes, and how it went."""
    answered = 0
    while data := sock.recv(65536):
        if data.startswith(b"HTTP/1.1"):
            return 0, data.split(b"\r\n", 1)[0].decode()
        events = conn.receive_data(data)
        answered += sum(isinstance(e, (h2.events.ResponseReceived, h2.events.StreamReset)) for e in events)
        if any(isinstance(e, h2.events.ConnectionTerminated) for e in events):
            return 0, "closed by a GOAWAY"
        if any(isinstance(e, h2.events.PingAckReceived) for e in events):
            return streams - answered, f"server's max_concurrent_streams {conn.remote_settings.max_concurrent_streams}"
        sock.sendall(conn.data_to_send())
    return 0, "closed"


def main(argv: list[str]) -> int:
    port = int(argv[0])
    connections, streams = (int(a) for a in (argv[1:3] + ["1", "100"][len(argv[1:3]):]))
    source = argv[3] if len(argv) > 3 else "127.0.0.2"
    pairs = [opened(port, source) for _ in range(connections)]
    for sock, conn in pairs:  # every connection's requests sent before any answer is read
        for _ in range(streams):
            conn.send_headers(conn.get_next_available_stream_id(), [
                (":method", "POST"), (":path", "/webhook"), (":scheme", "http"),
                (":authority", f"127.0.0.1:{port}"), ("content-length", "100")])
        conn.ping(PING)
        sock.sendall(conn.data_to_send())
    total, how = 0, set()
    for sock, conn in pairs:
        try:
            count, said = held(sock, conn, streams)
        except OSError as e:
            count, said = 0, f"refused ({e.__class__.__name__})"
        total += count
        how.add(said)
        sock.close()
    print(f"{connections} connection(s) x {streams} requests from {source}: {total} held at once; {sorted(how)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
