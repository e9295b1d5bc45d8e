"""``serve``: Hypercorn serving the application in the caller's nursery, until ``shutdown``;
``check_address``: whether it can listen there, asked before anything starts."""

from __future__ import annotations

import errno
import logging
from functools import partial
from urllib.parse import urlsplit

import hypercorn.trio
import trio
from hypercorn.config import Config

from engine.domain.config import ServerConfig
from engine.interfaces.web import capacity, http1
from engine.interfaces.web.per_address import AddressLimit
from engine.interfaces.web.refusals import Refusals, refusals_of

log = logging.getLogger("moonhook.web")

GRACEFUL_TIMEOUT = 3.0  # seconds requests in flight get once shutdown is set
KEEP_ALIVE_TIMEOUT = 5.0  # seconds a connection may wait for its (next) request head, from its start
READ_TIMEOUT = 30.0  # seconds a peer may send nothing at all before its connection is dropped
# Connections not yet accepted that the kernel queues (capped by net.core.somaxconn). Hypercorn's
# 100 overflowed at a bar-close burst: each dropped connection was retried by its client 1 s later.
BACKLOG = 4096


def hypercorn_config(server: ServerConfig) -> Config:
    config = Config()
    host = f"[{server.host}]" if ":" in server.host and not server.host.startswith("[") else server.host
    config.bind = [f"{host}:{server.port}"]
    config.accesslog = None  # an access log would name /webhook/<secret>
    config.errorlog = logging.getLogger("moonhook.web.server")
    config.graceful_timeout = GRACEFUL_TIMEOUT
    # A stranger's socket lives a few seconds: the head within the keep-alive timer, the body
    # within the webhook's BODY_TIMEOUT (Quart's routes too), silence at most READ_TIMEOUT.
    config.keep_alive_timeout = KEEP_ALIVE_TIMEOUT
    config.read_timeout = READ_TIMEOUT
    config.connection_limiter = trio.CapacityLimiter(server.max_connections)  # see capacity.py
    config.allowed_places = capacity.AllowedPlaces.of(server)  # allow_ips' own places, see capacity.py
    config.address_limit = AddressLimit.of(server)  # see per_address.py
    config.refusals = Refusals()  # see refusals.py; serve() puts the app's here
    config.include_server_header = False
    config.h2c = False  # HTTP/1.1 only: a request at a time a connection, see http1.py
    config.backlog = BACKLOG
    return config


class ListenError(Exception):
    """The server's address cannot be listened on."""


def check_address(server: ServerConfig) -> None:
    """Binds server.host:server.port as Hypercorn will, then lets go, so that ``moonhook run``
    stops with a clear line before its engine starts, rather than after. Raises ListenError
    naming the address and why."""
    try:
        sockets = hypercorn_config(server).create_sockets()
    except OSError as e:
        hint = (": another program, or a moonhook already running (`moonhook status`), listens there; "
                "or set [server] port" if e.errno == errno.EADDRINUSE else "")
        raise ListenError(f"cannot listen on {server.host}:{server.port}: {e.strerror or e}{hint}") from None
    for sock in (*sockets.secure_sockets, *sockets.insecure_sockets, *sockets.quic_sockets):
        sock.close()


def bound_port(binds: list[str]) -> int | None:
    for bind in binds:
        try:
            port = urlsplit(bind).port
        except ValueError:
            continue
        if port:
            return port
    return None


async def serve(app, server: ServerConfig, shutdown: trio.Event, *,
                task_status: trio.TaskStatus = trio.TASK_STATUS_IGNORED) -> None:
    """Serves ``app`` on server.host:server.port (0: any free port) until ``shutdown`` is set;
    ``task_status`` gets the port bound: ``port = await nursery.start(serve, app, server, ev)``
    (``nursery.start`` passes no keyword arguments: ``shutdown`` is positional, or use
    ``partial(serve, app, server, shutdown=ev)``)."""
    config = hypercorn_config(server)
    config.refusals = refusals_of(app)   # counted in its /metrics
    capacity.install()
    http1.install()
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(partial(hypercorn.trio.serve, app, config, shutdown_trigger=shutdown.wait))
        nursery.start_soon(config.refusals.summarize, shutdown)
        log.info("listening on %s", ", ".join(binds))
        task_status.started(bound_port(binds))
