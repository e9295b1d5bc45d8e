"""`moonhook send` and `status` against an engine whose answers go wrong (engine/interfaces/remote.py):
once the alert may have reached the engine, every ending says it may have traded and exits 2, never
"not running" (exit 1), which a script or a trader takes as "send it again"; and status shows no
figure it could not read."""

from __future__ import annotations

import json
import socket
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import pytest

from engine.interfaces import remote
from engine.interfaces.cli import main


class Unsettled(BaseHTTPRequestHandler):
    """An engine that accepts the alert as alert 7, which stays "received" (a strategy that runs long)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self._json({"status": "accepted", "id": 7})

    def do_GET(self) -> None:
        self._json({"id": 7, "status": "received", "outcome": None})

    def _json(self, value: dict) -> None:
        body = json.dumps(value).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


class GoneAfterAccepting(Unsettled):
    """An engine that accepts the alert, then drops the connection of the question for its outcome."""

    def do_GET(self) -> None:
        self.close_connection = True


@contextmanager
def engine(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    """An HTTP server with ``handler`` on a free port, for the block."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def silent_engine() -> Iterator[int]:
    """A port whose connections are taken (the kernel's backlog) and never answered."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield s.getsockname()[1]


def _config(tmp_path, port: int, token: str = 'api_token = "t-0123456789abcdef"') -> str:
    config = tmp_path / "moonhook.toml"
    config.write_text(f'[server]\nport = {port}\nsecret = "s-0123456789abcdef"\n{token}\n')
    return str(config)


def test_an_alert_sent_but_not_answered_is_said_to_have_perhaps_traded(tmp_path, capsys, monkeypatch):
    # It said "does not answer; is `moonhook run` running?", exit 1, of an alert the engine may have
    # journaled and traded: sent again, it traded twice.
    monkeypatch.setattr(remote, "ANSWER_TIMEOUT", 0.2)   # the engine never answers: no race
    with silent_engine() as port:
        assert main(["send", "--config", _config(tmp_path, port), "buy EURUSD sl_pips=20"]) == 2
    said = capsys.readouterr().err
    assert f"the engine at http://127.0.0.1:{port} did not answer the alert (ReadTimeout): it may have been " \
           "journaled and traded" in said and "is `moonhook run` running?" not in said


@pytest.mark.parametrize("wait", ["0", "0.3"])
def test_an_alert_still_running_when_the_wait_ends_is_not_said_unprocessed(tmp_path, capsys, wait):
    # "not processed after 0 s", exit 1 (as a refused alert), of an alert the engine was running.
    with engine(Unsettled) as port:
        assert main(["send", "--config", _config(tmp_path, port), "--wait", wait, "buy EURUSD sl_pips=20"]) == 2
    assert (f"moonhook: alert 7 was accepted and is still being processed after {float(wait):g} s: look at its "
            "outcome") in capsys.readouterr().err


def test_an_engine_gone_while_send_waits_for_the_outcome_is_said_plainly(tmp_path, capsys):
    # It ended in a traceback (exit 1) after the alert was accepted.
    with engine(GoneAfterAccepting) as port:
        assert main(["send", "--config", _config(tmp_path, port), "buy EURUSD sl_pips=20"]) == 2
    said = capsys.readouterr().err
    assert "moonhook: alert 7 was accepted, but its outcome cannot be read: the engine does not answer (" in said


def test_an_accepted_alert_whose_outcome_cannot_be_asked_is_not_read_as_traded(tmp_path, capsys):
    # Without an API token send exited 0 once the alert was accepted, as for one done.
    with engine(Unsettled) as port:
        assert main(["send", "--config", _config(tmp_path, port, token=""), "buy EURUSD sl_pips=20"]) == 2
    assert "alert 7 was accepted; its outcome cannot be read without server.api_token" in capsys.readouterr().err


class OverviewFails(Unsettled):
    """A healthy engine whose overview answers 500 (a read of the day's figures that failed)."""

    def do_GET(self) -> None:
        if self.path.startswith("/api/overview"):
            body = b'{"error": "internal error; see the server\'s log"}'
            self.send_response(500)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            self._json({"status": "ok"} if self.path == "/health" else {"plugins": []})


def test_status_shows_no_figures_from_an_answer_that_failed(tmp_path, capsys):
    # It printed "today: 0 alerts, 0 orders" from the error's body, exit 0.
    with engine(OverviewFails) as port:
        assert main(["status", "--config", _config(tmp_path, port)]) == 2
    said = capsys.readouterr()
    assert "today:" not in said.out
    assert "moonhook: /api/overview answered 500 internal error; see the server's log" in said.err


def test_status_without_a_token_says_why_it_shows_the_state_word_alone(tmp_path, capsys):
    # It printed "status=ok" and nothing more, as if the engine had no plugins and no account.
    with engine(OverviewFails) as port:
        assert main(["status", "--config", _config(tmp_path, port, token="")]) == 0
    said = capsys.readouterr()
    assert said.out.strip() == "status=ok"
    assert ("moonhook: the account, the day and the plugins are shown with server.api_token, which the "
            "configuration does not set") in said.err


def test_send_without_a_secret_sends_nothing_and_exits_as_refused_not_as_perhaps_taken(tmp_path, capsys,
                                                                                        monkeypatch):
    # It exited 2, "it may have been taken: look before sending again", where nothing was sent.
    monkeypatch.delenv("MOONHOOK_SECRET", raising=False)
    posted = []

    class Counting(Unsettled):
        def do_POST(self) -> None:
            posted.append(self.path)
            super().do_POST()

    with engine(Counting) as port:
        config = tmp_path / "moonhook.toml"
        config.write_text(f'[server]\nport = {port}\napi_token = "t-0123456789abcdef"\n')
        assert main(["send", "--config", str(config), "buy EURUSD sl_pips=20"]) == 1
    assert posted == []
    assert "no server.secret is configured; nothing was sent" in capsys.readouterr().err


class WrongSecret(Unsettled):
    """An engine started with another secret than the file's (saved since: [server] is read at the start)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        body = b'{"error": "wrong secret"}'
        self.send_response(401)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_a_secret_the_engine_refuses_is_said_to_be_perhaps_one_saved_since_it_started(tmp_path, capsys):
    # send printed `401 {"error": "wrong secret"}` alone, of a secret the file holds, right by its lights.
    with engine(WrongSecret) as port:
        assert main(["send", "--config", _config(tmp_path, port), "buy EURUSD sl_pips=20"]) == 1
    out, err = capsys.readouterr()
    assert out == '401 {"error": "wrong secret"}\n'
    assert err == ("moonhook: the engine refused server.secret: is it the one `moonhook run` started with? (a secret "
                   "saved since takes effect at its next start); nothing was executed\n")
