"""A port a test server binds once and keeps, listening or not, until it closes it: never picked
free, let go, and bound again, which another process on the machine could take in between.

``held_socket()`` is a TCP socket on a port the system chose. ``listen()`` makes it accept;
``shutdown(SHUT_RDWR)`` makes it refuse connections again (an outage), still holding the port,
and ``listen()`` serves again on it. Linux lets go at that shutdown of a port bound as 0, so the
socket is bound to the number explicitly, beside a first socket that held it meanwhile."""

from __future__ import annotations

import errno
import socket


def held_socket(host: str = "127.0.0.1") -> socket.socket:
    """A TCP socket bound to ``host`` on a free port, not listening yet."""
    with socket.socket() as first:
        first.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        first.bind((host, 0))
        held = socket.socket()
        try:
            held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # beside first, neither listening
            held.bind(first.getsockname())
        except BaseException:
            held.close()
            raise
    return held


def held(port: int, host: str = "127.0.0.1") -> bool:
    """Whether ``port`` is bound by some socket: one more cannot bind it (EADDRINUSE)."""
    with socket.socket() as other:
        try:
            other.bind((host, port))
        except OSError as e:
            if e.errno != errno.EADDRINUSE:
                raise
            return True
    return False
