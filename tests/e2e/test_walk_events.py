"""The dashboard's event stream as `moonhook run` serves it (docs/dashboard.md, "Events"): a
Ctrl-C with a stream open ends the stream at once, cleanly, and the process exits; an open
stream does not hold the stop to the end of Hypercorn's graceful timeout."""

from __future__ import annotations

import os
import signal

from support.e2e_support import DEADLINE, init


def test_ctrl_c_ends_an_open_stream_cleanly_and_the_engine_exits(user):
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    with run.client.stream("GET", "/api/events") as answer:
        assert answer.status_code == 200
        lines = answer.iter_lines()
        assert next(lines) == ": subscribed"
        os.killpg(run.process.pid, signal.SIGINT)  # Ctrl-C, with the stream open
        # The body's clean end: a stream cut by the graceful timeout ends in a reset instead
        # (httpx.RemoteProtocolError: incomplete chunked read). The client's read timeout only
        # bounds a hang.
        rest = list(lines)
    assert not any(rest)  # the blank line that ends ": subscribed", and nothing after it
    assert run.process.wait(timeout=DEADLINE) == 0
    log = run.text()
    assert log.index("SIGINT: no longer accepting alerts") < log.index("stopping: finishing the alerts in flight")
    assert "Traceback" not in log
