"""A TCP forwarder between a browser and moonhook whose connections a test cuts: a network drop
(Wi-Fi lost, a laptop asleep, a proxy restarted) while the engine and the session go on.

``with Cutter(port) as cutter:`` listens on 127.0.0.1:``cutter.port`` and forwards each connection
to 127.0.0.1:``port``. ``cut()`` closes every connection and refuses new ones (closed as soon as
accepted, a network error to the browser, which retries) until ``mend()``.
"""

from __future__ import annotations

import socket
import threading


class Cutter:
    def __init__(self, target: int):
        self._target = target
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._cut = False

    def __enter__(self) -> Cutter:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._listener.close()
        self.cut()

    def cut(self) -> None:
        """Every connection closed; new ones refused until ``mend``."""
        with self._lock:
            self._cut = True
            for sock in self._open:
                _close(sock)
            self._open.clear()

    def mend(self) -> None:
        """New connections forwarded again."""
        with self._lock:
            self._cut = False

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:  # closed: the test is over
                return
            with self._lock:
                if self._cut:
                    _close(client)
                    continue
                server = socket.create_connection(("127.0.0.1", self._target))
                self._open.update((client, server))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        with self._lock:
            self._open.difference_update((source, sink))
        for sock in (source, sink):
            _close(sock)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
