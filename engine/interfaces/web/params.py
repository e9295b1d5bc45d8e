"""Reading a request's query parameters and body for the API's routes: each bad value raises
``BadParameter`` naming the parameter, which the blueprints answer with a 400."""

from __future__ import annotations

from quart import request

MAX_LIMIT = 500


class BadParameter(Exception):
    """A query parameter or body the route cannot use; its message names it."""


def limit(default: int = 50) -> int:
    raw = request.args.get("limit")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_LIMIT:
        raise BadParameter(f"limit: must be an integer from 1 to {MAX_LIMIT}, got {raw!r}")
    return value


def since() -> float | None:
    raw = request.args.get("since")
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise BadParameter(f"since: must be a Unix time in seconds, got {raw!r}")
    return value


def days(default: float, most: float) -> float:
    raw = request.args.get("days")
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= most:
        raise BadParameter(f"days: must be a number of days above 0 and at most {most:g}, got {raw!r}")
    return value


def text(name: str) -> str | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    if not raw.strip() or len(raw) > 100:
        raise BadParameter(f"{name}: must be 1 to 100 characters, got {raw[:40]!r}")
    return raw.strip()


async def body_text() -> str:
    """The request's body as UTF-8 text (a script)."""
    body = await request.get_data()
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BadParameter(f"body: not UTF-8 text (byte {e.start})") from None
