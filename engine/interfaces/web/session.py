"""The dashboard's login session (docs/dashboard.md, "Session"): ``POST /login`` with the API
token, the ``moonhook_session_<port>`` cookie, ``GET /api/session`` for the CSRF token, ``POST /logout``.

Sessions live in the engine's memory (a restart logs everyone out), one ``Sessions`` per app:
``create_app`` makes it and keeps it in ``app.extensions[EXTENSION]``, where ``auth.refuse``
finds it. Failed logins are limited per client address (``Limiter``), counted with the API's
wrong bearer tokens (``auth.token_refusal``). The token and the
session ids never reach a log: a failed login is logged with the client address only.
"""

from __future__ import annotations

import json
import logging
import math
import secrets
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

from quart import Blueprint, Response, current_app, request

from engine.domain.config import ServerConfig
from engine.interfaces.web.clients import Address, address, client_address, host_of, networks, within
from engine.interfaces.web.errors import quoted
from engine.interfaces.web.origin import foreign
from engine.interfaces.web.params import BadParameter, fields, form_field, only
from engine.interfaces.web.refusals import refusals_of
from engine.interfaces.web.tokens import same

log = logging.getLogger("moonhook.web")

COOKIE = "moonhook_session"  # and the port: cookie_name()
EXTENSION = "moonhook.sessions"
MAX_SESSIONS = 1_000          # past it the oldest session is dropped (only token holders add any)
LOGIN_FAILURES = 5            # failed logins from one address ...
LOGIN_WINDOW = 300.0          # ... within this many seconds: 429 until the oldest leaves the window
MAX_LIMITED_ADDRESSES = 10_000  # addresses whose failures are remembered; past it the stalest go

Clock = Callable[[], float]


@dataclass(frozen=True)
class Session:
    id: str
    csrf: str
    expires: float  # on the store's clock


def cookie_name() -> str:
    """The session cookie's name for the request in hand: ``moonhook_session_<port>``, the port
    that took its connection. A browser sends a host's cookies to every port of it: under one
    name, two moonhooks on one machine would overwrite each other's login."""
    server = request.scope.get("server")
    return f"{COOKIE}_{server[1]}" if server and server[1] else COOKIE  # no port: a Unix socket


class Limiter:
    """Failed logins per client (its address, an IPv6 client's /64: ``clients.host_of``), and the
    API's wrong bearer tokens (``auth.token_refusal``): ``LOGIN_FAILURES`` within ``LOGIN_WINDOW``
    seconds close the door until the oldest of them leaves the window."""

    def __init__(self, clock: Clock, failures: int = LOGIN_FAILURES, window: float = LOGIN_WINDOW):
        self._clock, self._failures, self._window = clock, failures, window
        self._seen: dict[str, deque[float]] = {}

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._seen.get(client, deque())
        while times and times[0] <= now - self._window:
            times.popleft()
        return times

    def retry_after(self, client: str) -> int | None:
        """Whole seconds until ``client`` may try again, or None when it may now."""
        now = self._clock()
        times = self._recent(client, now)
        if not times:
            self._seen.pop(client, None)
        if len(times) < self._failures:
            return None
        return max(1, math.ceil(times[0] + self._window - now))

    def failed(self, client: str) -> None:
        now = self._clock()
        if client not in self._seen and len(self._seen) >= MAX_LIMITED_ADDRESSES:
            for stale in [c for c, t in self._seen.items() if not self._recent(c, now)]:
                del self._seen[stale]
            if len(self._seen) >= MAX_LIMITED_ADDRESSES:  # all recent: forget the one quietest longest
                del self._seen[min(self._seen, key=lambda c: self._seen[c][-1])]
        self._seen.setdefault(client, deque(maxlen=self._failures)).append(now)

    def succeeded(self, client: str) -> None:
        self._seen.pop(client, None)


class Sessions:
    """The logged-in sessions of one app, each ``hours`` long, and its login ``limiter``.
    ``clock`` (monotonic seconds) is injectable so tests move time instead of sleeping."""

    def __init__(self, hours: float, clock: Clock = time.monotonic):
        self.seconds = hours * 3600.0
        self.clock = clock
        self.limiter = Limiter(clock)
        self._open: dict[str, Session] = {}

    def open(self) -> Session:
        """A new session; expired ones are dropped first, and the oldest past MAX_SESSIONS."""
        now = self.clock()
        for sid in [sid for sid, s in self._open.items() if s.expires <= now]:
            del self._open[sid]
        while len(self._open) >= MAX_SESSIONS:
            del self._open[next(iter(self._open))]  # dicts keep insertion order: the oldest
        session = Session(secrets.token_urlsafe(32), secrets.token_urlsafe(32), now + self.seconds)
        self._open[session.id] = session
        return session

    def get(self, sid: str | None) -> Session | None:
        """The live session ``sid`` names; an expired one is forgotten and None."""
        session = self._open.get(sid) if sid else None
        if session is not None and session.expires <= self.clock():
            del self._open[session.id]
            return None
        return session

    def close(self, sid: str | None) -> None:
        if sid:
            self._open.pop(sid, None)

    def expires_at(self, session: Session) -> float:
        """The session's end as a Unix time (the store's clock is monotonic)."""
        return round(time.time() + (session.expires - self.clock()), 3)

    def __len__(self) -> int:
        return len(self._open)


def app_sessions() -> Sessions | None:
    """The sessions of the app serving the request in hand (None in an app without them)."""
    return current_app.extensions.get(EXTENSION)


def csrf_refusal(session: Session) -> tuple[dict[str, str], int] | None:
    """The 403 refusing the request in hand, authenticated by ``session``'s cookie, when it does not
    carry the session's ``X-CSRF-Token``: a change only the dashboard's own page can make (a
    stranger's page sends the cookie from this site's other ports, and cannot read the token).
    None when it carries it."""
    if same(request.headers.get("X-CSRF-Token"), session.csrf):
        return None
    return {"error": "missing or wrong X-CSRF-Token"}, 403


def signed_in() -> bool:
    """Whether the request in hand carries the cookie of a live session. The dashboard's page says
    so in itself, so that a first visit shows the login without asking ``GET /api/session`` for a
    session there is not (its 401 is an error in the browser's console)."""
    sessions = app_sessions()
    return sessions is not None and sessions.get(request.cookies.get(cookie_name())) is not None


def _client(trusted) -> Address | None:
    peer = request.scope.get("client")
    return client_address(peer[0] if peer else None, request.headers.getlist("X-Forwarded-For"), trusted)


def counted_client(trusted) -> tuple[str, str]:
    """The request in hand's client as the log names it, and as ``Limiter`` counts it (an IPv6
    client's /64); X-Forwarded-For is believed from ``trusted`` proxies only."""
    found = _client(trusted)
    client = str(found or "?")
    return client, str(host_of(found)) if found is not None else client


def too_many(wait: int) -> tuple[dict[str, str], int, dict[str, str]]:
    """The 429 of an address past the limit of wrong tokens (logins and the API's bearer tokens)."""
    return ({"error": f"too many failed logins or wrong tokens from this address: try again in {wait} s"}, 429,
            {"Retry-After": str(wait)})


def _https(trusted) -> bool:
    """Whether the request came over HTTPS: directly, or so says a trusted proxy."""
    if request.scope.get("scheme") == "https":
        return True
    peer = request.scope.get("client")
    proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    return proto == "https" and within(address(peer[0] if peer else None), trusted)


def _stranger() -> str | None:
    """Why the login in hand comes from a stranger's page open in the trader's browser, whose
    wrong tokens would count against the trader's own address; None when it does not. The
    browser says another site's page sent it (``origin.foreign``: ``Sec-Fetch-Site``, or an
    older browser's ``Origin``). A page at a stranger's name made to lead here (DNS rebinding)
    never gets this far: the Host check (``hosts.HostGate``) refuses it before any route."""
    marked = foreign(request.headers)
    if marked is not None:
        return f"a login from another site's page ({marked}) is refused: log in from the dashboard's own page"
    return None


async def _given_token() -> str | None:
    """The ``token`` of a JSON body or of a form; None when there is none. Raises BadParameter
    for a JSON body that cannot be read, is no object, has another field or a token that is not
    text (``{"token": 5}`` and ``["..."]`` were told "token: required"). A body opening with ``{``
    is JSON whatever its type: ``curl -d '{"token": ...}'`` sends it as a form's, and was told
    the token was missing."""
    if request.is_json or (await request.get_data()).lstrip().startswith((b"{", b"[")):
        token = (await fields("token")).get("token")
        if token is not None and not isinstance(token, str):
            raise BadParameter(f"token: must be text, got {quoted(json.dumps(token), 40)}")
    else:
        token = await form_field("token")
    return token or None


def session_blueprint(server: ServerConfig, sessions: Sessions) -> Blueprint:
    """``POST /login``, ``POST /logout`` and ``GET /api/session`` over ``sessions``; raises
    ValueError for an unreadable trusted_proxies entry."""
    bp = Blueprint("session", __name__)
    trusted = networks(server.trusted_proxies, "server.trusted_proxies")
    max_age = max(1, round(sessions.seconds))

    @bp.post("/login")
    async def login():
        client, counted = counted_client(trusted)
        stranger = _stranger()
        if stranger is not None:
            _refused(client, "a stranger's page may have sent it")
            return {"error": stranger}, 403
        # The body is read first: no await may come between the limiter's check and its count,
        # or many guesses sent at once would all pass the check.
        try:
            token = await _given_token()
        except BadParameter as e:
            return {"error": str(e)}, 400
        wait = sessions.limiter.retry_after(counted)
        if wait is not None:
            _refused(client, "too many failed logins or wrong tokens")
            return too_many(wait)
        if not server.api_token:
            return {"error": "no API token is configured on this server: login is closed"}, 401
        if token is None:
            return {"error": "token: required, as JSON {\"token\": \"...\"} or the form field token"}, 400
        if not same(token, server.api_token):
            sessions.limiter.failed(counted)
            _refused(client, "wrong token")
            return {"error": "wrong token: give the server's api_token"}, 401
        sessions.limiter.succeeded(counted)
        session = sessions.open()
        log.info("dashboard login from %s", client)
        answer = Response(b"", status=204)
        answer.set_cookie(cookie_name(), session.id, max_age=max_age, path="/", httponly=True, samesite="Strict",
                          secure=_https(trusted))
        return answer

    @bp.post("/logout")
    async def logout():
        sid = request.cookies.get(cookie_name())
        session = sessions.get(sid)
        refused = csrf_refusal(session) if session is not None else None
        if refused is not None:
            return refused
        answer = Response(b"", status=204)
        if sid is not None:  # without it (another site's form: the cookie stays home), nothing to clear
            sessions.close(sid)
            answer.delete_cookie(cookie_name(), path="/", httponly=True, samesite="Strict", secure=_https(trusted))
        return answer

    @bp.get("/api/session")
    async def current():
        unknown = only({})
        if unknown is not None:
            return unknown
        session = sessions.get(request.cookies.get(cookie_name()))
        if session is None:
            return {"error": "no session: log in with POST /login"}, 401
        return {"csrf": session.csrf, "expires_at": sessions.expires_at(session)}

    return bp


def _refused(client: str, why: str) -> None:
    refusals_of(current_app).request("login", client, f"dashboard login from {client} refused: {why}")
