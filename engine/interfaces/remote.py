"""The commands that ask the running engine over its HTTP API: ``moonhook send`` (an alert, or
with ``--dry-run`` what it would do) and ``moonhook status``. They load only the settings and an
HTTP client, and answer at once."""

from __future__ import annotations

import json
import sys
from urllib.parse import quote

import httpx
import trio

from engine.domain.config import Settings
from engine.domain.times import when
from engine.app.check_text import check_text
from engine.app.overview import health_line, line as overview_line
from engine.app.shadow import line as shadow_line, not_loaded as shadow_not_loaded
from engine.interfaces.listening import RECORD_NAME, recorded_port


class NotRunning(Exception):
    """No engine runs where the settings say one would: ``[server] port = 0`` and no live record of the port."""


def local_host(settings: Settings) -> str:
    """The address send and status call the engine at, and so come from: ``server.host``, this
    machine's loopback for a wildcard."""
    host = settings.server.host
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host


def _base_url(settings: Settings) -> str:
    """The engine's URL: ``server.host`` (this machine's for a wildcard) at the port the engine running
    on the data folder recorded there, else at ``server.port``: the record first, as that engine may
    listen elsewhere (``MOONHOOK_PORT`` in its environment, not in this command's). Raises NotRunning
    with ``port = 0`` and no record: none runs there, or one killed left its record."""
    host = local_host(settings)
    host = f"[{host}]" if ":" in host and not host.startswith("[") else host   # an IPv6 address
    port = recorded_port(settings.engine.data) or settings.server.port
    if not port:
        raise NotRunning(f"the engine is not running: no `moonhook run` holds the data folder {settings.engine.data} "
                         f"(with [server] port = 0, its port is read from {settings.engine.data / RECORD_NAME}, "
                         "written while it runs)")
    return f"http://{host}:{port}"


def _client(base_url: str, timeout: float, **options) -> httpx.AsyncClient:
    """A client of the engine at ``base_url``, this machine's: never through a proxy of the environment
    (HTTP_PROXY, ALL_PROXY), which would be handed the webhook's secret in a URL and the API token."""
    return httpx.AsyncClient(base_url=base_url, timeout=timeout, trust_env=False, **options)


class Unreadable(Exception):
    """An API answer that says nothing of the engine: the token refused (401, 403), or an error."""


def _api(response: httpx.Response) -> dict:
    """An API answer's JSON object; raises Unreadable for any other answer than 200."""
    if response.status_code in (401, 403):
        raise Unreadable(f"the engine refused server.api_token ({response.status_code} "
                         f"{_json(response).get('error') or response.reason_phrase}): is it the one `moonhook run` "
                         "started with? (a token saved since takes effect at its next start)")
    if response.status_code != 200:
        raise Unreadable(f"{response.request.url.path} answered {response.status_code} "
                         f"{_json(response).get('error') or response.reason_phrase}")
    return _json(response)


def _why(e: Exception) -> str:
    """Why an API answer could not be read: Unreadable's own words, or the connection's error."""
    return str(e) if isinstance(e, Unreadable) else f"the engine does not answer ({e.__class__.__name__})"


ANSWER_TIMEOUT = 5.0  # seconds for an answer of the engine
# The alert never left: no connection was made. Any other error may come after the engine read it.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout)


async def send(settings: Settings, text: str, wait: float, dry_run: bool = False) -> int:
    """Sends ``text`` to the webhook and waits up to ``wait`` seconds for its outcome: 0 when it
    was done (or is a repeat of an alert that was), 1 when it was refused, not executed or
    failed, or nothing was sent (no server.secret, no engine), 2 when it was perhaps taken but its
    outcome cannot be told (look before sending it again)."""
    server = settings.server
    if not server.secret:
        print("moonhook: no server.secret is configured; nothing was sent", file=sys.stderr)
        return 1   # nothing sent: not "perhaps taken" (2), which asks to look before sending again
    try:
        base_url = _base_url(settings)
    except NotRunning as e:
        return _not_running(e)
    if dry_run:
        return await _dry_run(settings, base_url, text)
    async with _client(base_url, ANSWER_TIMEOUT) as client:
        try:
            # quoted: a '#', '?' or '%' in the secret would end or change the path, and meet "wrong secret"
            answer = await client.post(f"/webhook/{quote(server.secret, safe='')}", content=text.encode("utf-8"),
                                       headers={"Content-Type": "text/plain"})
        except _NOT_SENT as e:
            return _unanswered(base_url, e)
        except httpx.HTTPError as e:
            print(f"moonhook: the engine at {base_url} did not answer the alert ({e.__class__.__name__}): "
                  "it may have been journaled and traded: look at its alerts (the dashboard, GET /api/alerts) "
                  "before sending it again", file=sys.stderr)
            return 2
        print(f"{answer.status_code} {answer.text}")
        if answer.status_code == 401:   # the file's secret, saved since the engine started with another
            print("moonhook: the engine refused server.secret: is it the one `moonhook run` started with? (a secret "
                  "saved since takes effect at its next start); nothing was executed", file=sys.stderr)
        body = _json(answer)
        if answer.status_code != 200 or body.get("status") not in ("accepted", "duplicate") or body.get("note"):
            return 1   # refused, or a repeat of another alert's id with other content: not executed
        alert_id = body.get("duplicate_of") or body["id"]
        if body.get("duplicate_of"):   # a retry: what counts is the outcome of the alert it repeats
            print(f"moonhook: alert {body['id']} repeats alert {alert_id} and was not executed again; "
                  f"alert {alert_id}'s outcome:", file=sys.stderr)
        if not server.api_token:
            print(f"moonhook: alert {alert_id} was accepted; its outcome cannot be read without server.api_token",
                  file=sys.stderr)
            return 2
        return await _outcome(client, server.api_token, alert_id, wait)


async def _outcome(client: httpx.AsyncClient, token: str, alert_id: int, wait: float) -> int:
    """Prints the outcome of the accepted alert ``alert_id`` once it has one (looked at once at
    least, then up to ``wait`` seconds): 0 when done, 1 when not executed or failed, 2 when it
    cannot be told."""
    headers = {"Authorization": f"Bearer {token}"}
    deadline = trio.current_time() + wait
    while True:
        try:
            row = _api(await client.get(f"/api/alerts/{alert_id}", headers=headers))
        except (Unreadable, httpx.HTTPError) as e:   # accepted, and perhaps traded: never "not processed"
            print(f"moonhook: alert {alert_id} was accepted, but its outcome cannot be read: {_why(e)}",
                  file=sys.stderr)
            return 2
        if row.get("status") not in ("received", None):
            print(json.dumps({k: row.get(k) for k in ("id", "status", "outcome")}, indent=2, default=str))
            if row["status"] == "paused":
                print(f"moonhook: alert {alert_id} was journaled, not executed: the engine is paused (a resume with "
                      "the missed alerts runs it, one without them skips it)", file=sys.stderr)
            return 0 if row["status"] == "done" else 1
        if trio.current_time() >= deadline:
            break
        await trio.sleep(0.05)
    print(f"moonhook: alert {alert_id} was accepted and is still being processed after {wait:g} s: look at its "
          "outcome (the dashboard, GET /api/alerts) before sending it again", file=sys.stderr)
    return 2


async def _dry_run(settings: Settings, base_url: str, text: str) -> int:
    """``send --dry-run``: what the alert would do, from ``POST /api/alerts/check``; 0 when it
    would place its orders, 1 when one would be refused, it cannot be executed or is invalid, or
    the engine is paused (a real alert would be journaled, not executed)."""
    token = settings.server.api_token
    if not token:
        print("moonhook: send --dry-run asks the engine's API: set server.api_token", file=sys.stderr)
        return 2
    async with _client(base_url, 10.0) as client:
        try:
            answer = await client.post("/api/alerts/check", content=text.encode("utf-8"),
                                       headers={"Authorization": f"Bearer {token}", "Content-Type": "text/plain"})
        except httpx.HTTPError as e:
            return _unanswered(base_url, e)
    view = _json(answer)
    if answer.status_code != 200:
        print(f"{answer.status_code} {view.get('error') or answer.text}")
        return 1
    print(check_text(view))
    refused = view.get("error") or view.get("paused") or any(o.get("refused") for o in view.get("orders", ()))
    return 1 if refused else 0


def _unanswered(base_url: str, e: httpx.HTTPError) -> int:
    print(f"moonhook: the engine at {base_url} does not answer ({e.__class__.__name__}); "
          "is `moonhook run` running?", file=sys.stderr)
    return 1


def _not_running(e: NotRunning) -> int:
    print(f"moonhook: {e}", file=sys.stderr)
    return 1


async def status(settings: Settings) -> int:
    token = settings.server.api_token
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        base_url = _base_url(settings)
    except NotRunning as e:
        return _not_running(e)
    async with _client(base_url, 5.0, headers=headers) as client:
        try:
            health = _json(await client.get("/health"))  # the details with the token, the state word without
        except httpx.HTTPError as e:
            return _unanswered(base_url, e)
        print(health_line(health))
        if not token:   # the state word alone: say why the account, the day and the plugins are not shown
            print("moonhook: the account, the day and the plugins are shown with server.api_token, which the "
                  "configuration does not set", file=sys.stderr)
            return 0 if health.get("status") == "ok" else 1
        try:
            listing = _api(await client.get("/api/plugins"))
            shadow = _api(await client.get("/api/shadow", params={"limit": 1}))
            overview = _api(await client.get("/api/overview"))
        except (Unreadable, httpx.HTTPError) as e:   # an empty table and "0 alerts" would be figures invented
            print(f"moonhook: {_why(e)}", file=sys.stderr)
            return 2
    if overview:
        print(overview_line(overview))
    rows = [("plugin", "state", "guard", "calls", "errors", "timeouts", "p50 us", "p99 us", "memory KB", "version",
             "last error")]
    for p in listing.get("plugins", []):
        memory = p.get("memory_bytes")   # None: no worker (a file that never loaded), shown "-" as 0 KB would mislead
        rows.append((p["name"], p["state"], "yes" if p.get("guard") else "", p["calls"], p["errors"], p["timeouts"],
                     _num(p.get("p50_us")), _num(p.get("p99_us")), _num(None if memory is None else memory / 1024),
                     p.get("version") or "-", p.get("last_error") or ""))   # the version serving, as alerts name it
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        print("  ".join(str(v).ljust(w) for v, w in zip(r, widths)) + "  " + str(r[-1]))
    for file, error in (listing.get("load_errors") or {}).items():
        print(f"not loaded: {error}")
    _switches(listing)
    if said := shadow_line(shadow):
        print(said)
    for said in shadow_not_loaded(shadow):
        print(said)
    return 0 if health.get("status") == "ok" else 1


def _switches(listing: dict) -> None:
    """Who paused (or resumed) and who switched each plugin, when and why: kept across restarts."""
    def said(s: dict) -> str:
        return f" by {s.get('by')} at {when(s['at'])}" + (f": {s['reason']}" if s.get("reason") else "")

    pause = listing.get("pause") or {}
    if pause.get("at") is not None:
        print(("paused" if pause.get("paused") else "resumed") + said(pause))
    for p in listing.get("plugins", []):
        if (p.get("switched") or {}).get("at") is not None:
            print(f"{p['name']}: switched {'on' if p['switched'].get('enabled') else 'off'}" + said(p["switched"]))


def _json(response: httpx.Response) -> dict:
    """The answer's JSON object ({} if it has none)."""
    try:
        value = response.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _num(v) -> str:
    return "-" if v is None else f"{v:.0f}"
