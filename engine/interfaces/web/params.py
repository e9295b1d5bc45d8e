"""Reading a request's query parameters and body for the API's routes: each bad value raises
``BadParameter`` naming the parameter, which the blueprints answer with a 400."""

from __future__ import annotations

import json
import math
from typing import Any, Callable
from urllib.parse import parse_qs

from quart import request

from engine.domain.alerts import AlertError, read_body
from engine.domain.id_ranges import IdRuns, parse_ranges
from engine.domain.trade_pages import TradeKey, parse_key
from engine.interfaces.web.errors import quoted

MAX_LIMIT = 500
MAX_ID = 2 ** 63 - 1  # SQLite's largest integer: a larger one cannot be asked for (OverflowError, a 500)


class BadParameter(Exception):
    """A query parameter or body the route cannot use; its message names it."""


def only(known: dict[str, tuple[str, ...]]) -> tuple[dict, int] | None:
    """The 400 answering a query parameter the route does not take (``known``: the names each
    endpoint takes), None when all are known. Read as none, ``/api/positions?symbol=GBPUSD``
    answered every symbol's positions as if filtered, and ``/api/pause?reason=lunch`` paused
    without the reason (a body's field)."""
    taken = known.get(request.endpoint or "", ())
    unknown = sorted(set(request.args) - set(taken))
    if not unknown:
        return None
    takes = f"known: {', '.join(taken)}" if taken else "it takes none"
    return {"error": f"{unknown[0]}: unknown parameter of {request.method} {request.path} ({takes})"}, 400


def _query(name: str) -> str | None:
    """The query parameter ``name``, None when absent. Given more than once it raises
    BadParameter: which of ``days=1&days=400`` was meant would be a guess."""
    given = request.args.getlist(name)
    if len(given) > 1:
        raise BadParameter(f"{name}: given {len(given)} times, give it once")
    return given[0] if given else None


def _number(name: str, kind: Callable[[str], Any], ok: Callable[[Any], bool], expected: str) -> Any:
    """The query parameter ``name`` read by ``kind`` (int or float); None when absent. Raises
    BadParameter unless ``ok(value)`` (NaN never is)."""
    raw = _query(name)
    if raw is None:
        return None
    try:
        value = kind(raw)
    except ValueError:
        value = None
    if value is None or not ok(value):
        raise BadParameter(f"{name}: must be {expected}, got {quoted(raw, 60)!r}")
    return value


def limit(default: int = 50) -> int:
    value = _number("limit", int, lambda v: 1 <= v <= MAX_LIMIT, f"an integer from 1 to {MAX_LIMIT}")
    return default if value is None else value


def trade_before() -> TradeKey | None:
    """The last closed trade shown, ``closed_at:position``, that a later page of trades
    (``/api/trades``) starts below, so that a trade closing meanwhile moves no page; None when absent.
    An ``offset`` (the newest passed over, which such a trade shifts) raises BadParameter, as does a
    bad key."""
    if _query("offset") is not None:
        raise BadParameter("offset: no longer taken, since a trade closing meanwhile moves every page by one: "
                           "give before=closed_at:position of the last trade shown")
    raw = _query("before")
    try:
        key = None if raw is None else parse_key(raw)
        if key is not None and not -MAX_ID <= key[1] <= MAX_ID:
            raise ValueError(f"a position's number is at most {MAX_ID}")
        return key
    except ValueError as e:
        raise BadParameter(f"before: must be closed_at:position of a trade ({e}), got {quoted(raw, 60)!r}") from None


def before() -> int | None:
    """The alert id a later page of alerts (``/api/alerts``, ``/api/shadow``'s differing ones) starts
    below: the last one shown, so that alerts come meanwhile do not move the page; None when absent."""
    return _number("before", int, lambda v: 1 <= v <= MAX_ID, f"an alert id (an integer from 1 to {MAX_ID})")


def shown_held() -> IdRuns | None:
    """The held alerts a resume's question showed: ``held_ids``, their ids as runs (``/api/plugins``'
    ``pause.held_ids``); None when not asked. The count ``held`` an older page sent is exact only as
    0 (none held): a count above, which another alert in place of one shown would match, raises
    BadParameter, as does a bad ``held_ids`` or both given."""
    ids, count = _query("held_ids"), _number("held", int, lambda v: v >= 0, "an integer from 0")
    if count:
        raise BadParameter(f"held: a count ({count}) is no longer taken, since an alert held in place of one shown "
                           "matches it: give held_ids (pause.held_ids)")
    if ids is not None and count is not None:
        raise BadParameter("held: give held_ids alone")
    try:
        return IdRuns() if count == 0 else None if ids is None else parse_ranges(ids)
    except ValueError as e:
        raise BadParameter(f"held_ids: {e}") from None


def since() -> float | None:
    # inf is no time: it read as "after every deal", an empty history (closed 0) said as if true
    return _number("since", float, lambda v: 0 <= v < math.inf, "a Unix time in seconds")


def days(default: float, most: float) -> float:
    value = _number("days", float, lambda v: 0 < v <= most, f"a number of days above 0 and at most {most:g}")
    return default if value is None else value


def text(name: str) -> str | None:
    raw = _query(name)
    if raw is None:
        return None
    if not raw.strip() or len(raw) > 100:
        raise BadParameter(f"{name}: must be 1 to 100 characters, got {quoted(raw, 40)!r}")
    return raw.strip()


_YES, _NO = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


async def json_body() -> Any:
    """The request's body read as JSON whatever its Content-Type; None when it is empty. Raises
    BadParameter for one that is not UTF-8, not JSON, JSON but no object or array (``null`` was
    said to be "not JSON"), or nested deeper than Python's parser goes: Quart's
    ``get_json(silent=True)`` let those out as a 500 with a traceback in the log (a stranger's
    ``[[[...`` to /login), and read a mistyped body as none at all."""
    raw = await request.get_data()
    if not raw.strip():
        return None
    try:
        value = read_body(raw)
    except AlertError as e:
        raise BadParameter(f"body: {e.message}") from None
    if isinstance(value, str):   # read_body's text: JSON's null, true, 5 or "lunch" too, which are JSON
        try:
            json.loads(value)
        except ValueError:
            raise BadParameter(f"body: not JSON, got {quoted(value, 40)!r}") from None
        raise BadParameter(f"body: must be a JSON object, got {quoted(value, 40)}")
    return value


async def fields(*known: str, none: str = "") -> dict[str, Any]:
    """An optional JSON body's fields, ``{}`` when there is none. Raises BadParameter for a body
    that is not a JSON object, or a field not in ``known`` (``none``: why a route takes none):
    ``{"execute_mised": true}`` read as none skipped the alerts held while paused for good,
    ``{"reasn": ...}`` kept no reason, and ``{"volume": 0.05}`` closed a position whole."""
    takes = f"known: {', '.join(known)}" if known else f"it takes none: {none}"
    body = await json_body()
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise BadParameter(f"body: must be a JSON object ({takes}), got {quoted(json.dumps(body), 40)}")
    unknown = sorted(set(body) - set(known))
    if unknown:
        raise BadParameter(f"{quoted(unknown[0], 40)}: unknown field of the body ({takes})")
    return body


async def form_field(name: str) -> str | None:
    """The field ``name`` of a form (``token=...``), None when absent. Raises BadParameter for a
    body, or a field once its %XX escapes are read, that is not UTF-8: Quart's form read such a
    field as absent, and the login answered "token: required" of a token it had been given."""
    if request.mimetype == "application/x-www-form-urlencoded":
        try:
            text = (await request.get_data()).decode("utf-8")
        except UnicodeDecodeError as e:
            raise BadParameter(f"body: not UTF-8 text (byte {e.start})") from None
        try:
            fields = parse_qs(text, errors="strict")
        except UnicodeDecodeError:
            raise BadParameter(f"{name}: not UTF-8 text once its %XX escapes are read") from None
        return fields[name][0] if name in fields else None
    return (await request.form).get(name)


async def flag(name: str) -> bool:
    """The yes-or-no ``name``, from a JSON body's field or else the query; False when absent.
    Any other value raises BadParameter, as does a body that is not JSON or has another field:
    a mistyped ``execute_missed=ture`` (or ``{"execute_missed": tru}``) read as no would skip
    the alerts held while paused, for good, where the trader asked to run them."""
    value = (await fields(name)).get(name)
    if value is None:
        value = _query(name)
    if value is None or value is True or value is False:
        return bool(value)
    word = value.strip().lower() if isinstance(value, str) else str(value) if type(value) is int else None
    if word in _YES or word in _NO:
        return word in _YES
    raise BadParameter(f"{name}: must be true or false, got {quoted(str(value), 40)!r}")


async def body_text() -> str:
    """The request's body as UTF-8 text (a script)."""
    body = await request.get_data()
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BadParameter(f"body: not UTF-8 text (byte {e.start})") from None


def preconditions() -> tuple[str | None, bool]:
    """A save's ``If-Match`` (the version it is based on, the one tag a save can match, or
    ``*``: any version, so the file must exist) and whether ``If-None-Match: *`` asks for a new
    file. Raises BadParameter for several tags."""
    match, none_match = request.headers.get("If-Match"), request.headers.get("If-None-Match")
    based_on = None
    if match is not None and match.strip() == "*":
        based_on = "*"
    elif match is not None:
        tags = [t.strip().removeprefix("W/").strip('"') for t in match.split(",") if t.strip()]
        if len(tags) != 1:
            raise BadParameter(f"If-Match: one version expected, got {quoted(match, 80)!r}")
        based_on = tags[0]
    return based_on, none_match is not None and none_match.strip() == "*"
