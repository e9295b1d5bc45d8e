"""Who may use the API: ``refuse`` is the one check every ``/api`` route and ``/metrics`` make.

It takes the bearer token, or the dashboard's session cookie (docs/dashboard.md, "Session").
A request authenticated by the cookie that may change state (any method but GET and HEAD;
no route takes OPTIONS) must also carry the session's ``X-CSRF-Token``: a browser sends the cookie along with
a forged cross-site request, but only the page that read ``GET /api/session`` knows the token.
A bearer token needs no CSRF token: a browser never adds that header by itself.
``actor`` names who acted, as the history keeps it: the dashboard (the cookie) or the API (the token).
A wrong bearer token counts against its address with the failed logins (``token_refusal``).
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Callable

from quart import current_app, request

from engine.domain.config import ServerConfig
from engine.interfaces.web.clients import Network, networks
from engine.interfaces.web.refusals import refusals_of
from engine.interfaces.web.session import app_sessions, cookie_name, counted_client, csrf_refusal, too_many
from engine.interfaces.web.tokens import bearer, refusal

log = logging.getLogger("moonhook.web")

SAFE_METHODS = frozenset({"GET", "HEAD"})
API = "api"              # a request with the bearer token: a script, curl, `moonhook` commands
DASHBOARD = "dashboard"  # one with the session cookie alone: the logged-in page


def refuse(server: ServerConfig, cookie: bool = True):
    """The answer refusing the request in hand when it may not use the API (401 without the
    token or a live session, 403 for a session's change without its CSRF token); None when it
    may. ``cookie=False``: the bearer token only (``/metrics``, read by Prometheus)."""
    given = request.headers.getlist("Authorization")
    sessions = app_sessions() if cookie else None
    sid = request.cookies.get(cookie_name()) if sessions is not None else None
    if not server.api_token or len(given) > 1 or bearer(given[0] if given else None) is not None or not sid:
        return token_refusal(server)
    session = sessions.get(sid)
    if session is None:
        return {"error": "the session has expired or ended: log in again (POST /login)"}, 401
    return csrf_refusal(session) if request.method not in SAFE_METHODS else None


def token_refusal(server: ServerConfig):
    """``tokens.refusal`` of the request in hand, its wrong bearer tokens counted with the failed
    logins of its address (``session.Limiter``): the token opens the API as it opens the login, and
    guesses sent as bearer tokens would go around the login's limit. Past the limit every bearer
    token from that address is answered 429, the right one too, since its 200 would tell which guess
    hit. A request with no bearer token guesses nothing and is not counted; no page can send one to
    another origin (``Authorization`` needs a preflight, which no route answers). None: it has the token."""
    given = request.headers.getlist("Authorization")
    sessions = app_sessions()
    if sessions is None or not server.api_token or len(given) != 1 or bearer(given[0]) is None:
        return refusal(server.api_token, given)
    client, counted = counted_client(_trusted(server.trusted_proxies))
    wait = sessions.limiter.retry_after(counted)
    if wait is not None:
        refusals_of(current_app).request("bearer token", client, f"{request.method} {request.path} from {client} "
                                         "refused: too many failed logins or wrong tokens")
        return too_many(wait)
    refused = refusal(server.api_token, given)
    if refused is not None:
        sessions.limiter.failed(counted)
        refusals_of(current_app).request("bearer token", client, f"bearer token from {client} refused: wrong token")
    return refused


@lru_cache(maxsize=8)
def _trusted(proxies: tuple[str, ...]) -> tuple[Network, ...]:
    return networks(proxies, "server.trusted_proxies")


def session_check(server: ServerConfig) -> Callable[[], bool]:
    """For a request ``refuse`` let through: whether what authenticated it still holds, asked
    again later (a stream's). The bearer token always does; a session only until it ends or
    expires (``POST /logout`` ends it at once: what it opened must not go on)."""
    sessions = app_sessions()
    sid = request.cookies.get(cookie_name()) if sessions is not None else None
    if sid is None or bearer(request.headers.get("Authorization")) is not None:
        return lambda: True
    return lambda: sessions.get(sid) is not None


def actor() -> str:
    """Who makes the request in hand, which ``refuse`` let through: ``DASHBOARD`` for the
    session cookie, ``API`` for the bearer token (which ``refuse`` prefers when both come). The
    action's ``by`` (a pause, a switch) and its orders' plugin, so that a trader reading the
    history tells a script holding the token from their own clicks."""
    if bearer(request.headers.get("Authorization")) is not None or app_sessions() is None:
        return API
    return DASHBOARD if request.cookies.get(cookie_name()) else API
