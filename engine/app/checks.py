"""The checks moonhook.toml's values are read with (``settings.SCHEMA`` lists which key takes which).

A check takes a value as TOML gave it and returns what to keep, or raises :class:`Bad` with
what was expected: the words of the error message, which ``settings`` completes with the
key's path. The factories mark the checks they make (``made``) so that ``config_schema`` can
write the same bounds into the JSON Schema.
"""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from engine.domain.config import MAX_SESSION_HOURS
from engine.domain.config.hosts import split as host_name
from engine.domain.config.telegram import BOT_TOKEN, KINDS, SECRET_TOKEN, ChatConfig


class Bad(Exception):
    """Raised by a check: what was expected, and (optionally) the offending part of the value."""

    def __init__(self, expected: str, got: Any = ..., *, at: str = ""):
        super().__init__(expected)
        self.expected, self.got, self.at = expected, got, at


Check = Callable[[Any], Any]  # returns the value to keep, or raises Bad


def made(check: Any, factory: Callable[..., Check], *args: Any, **kwargs: Any) -> Check:
    """Marks the check ``factory(*args, **kwargs)`` returned with those arguments, so the JSON
    Schema generator (``config_schema.py``) can read the bounds it enforces. No effect on reading."""
    check.made_by, check.made_with, check.made_kw = factory, args, kwargs
    return check


# --- checks (factories return a check; the expected text is what the error message says)

def whole(v: Any) -> Any:
    """``v``, or its integer if it is a whole float (``workers = 2.0``): the JSON Schema an editor checks
    the file with cannot tell 2.0 from 2 (up to 2**53, where floats are exact)."""
    return int(v) if isinstance(v, float) and v.is_integer() and abs(v) <= 2**53 else v


def integer(lo: int, hi: int) -> Check:
    """An integer from ``lo`` to ``hi``; a whole float is its integer (``whole``)."""
    def check(v: Any) -> int:
        v = whole(v)
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise Bad(f"an integer from {lo} to {hi}")
        return v
    return made(check, integer, lo, hi)


def number(lo: float = 0.0, hi: float = math.inf, *, above: bool = False, below: bool = False) -> Check:
    """A finite int or float, at least ``lo`` (more than ``lo`` with ``above``), at most ``hi``
    (less than ``hi`` with ``below``)."""
    if hi == math.inf:
        what = f"a number greater than {lo:g}" if above else f"a number, {lo:g} or more"
    elif above or below:
        what = f"a number {'above' if above else 'from'} {lo:g} {'and under' if below else 'and at most'} {hi:g}"
    else:
        what = f"a number from {lo:g} to {hi:g}"

    def check(v: Any) -> float:
        if (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)
                or not (v > lo if above else v >= lo) or not (v < hi if below else v <= hi)):
            raise Bad(what)
        return float(v)
    return made(check, number, lo, hi, above=above, below=below)


def string(v: Any) -> str:
    if not isinstance(v, str) or not v.strip():
        raise Bad("a non-empty string")
    return v


def bot_token(v: Any) -> str:
    """``[[telegram.bots]] token``: @BotFather's, its bot's id, a colon and its secret part."""
    if not re.fullmatch(BOT_TOKEN, string(v)):
        raise Bad("a bot token like 123456:ABC-DEF... (from @BotFather)")
    return v


MIN_SECRET = 16  # characters: moonhook init writes 32 random ones


# ${NAME}, ${NAME:-default}, $NAME: a compose file's or a shell's reference, which moonhook does not expand
ENV_REFERENCE = r"^\s*(\$\{[A-Za-z_][A-Za-z0-9_]*([:]?[-=?+][^}]*)?\}|\$[A-Z_][A-Z0-9_]*)\s*$"


def secret(v: Any) -> str:
    """A secret a stranger cannot guess: the webhook takes guesses without a limit (TradingView's
    few addresses are shared by all its users, so limiting them would drop the trader's alerts).
    An environment variable's name written for it is refused: taken as written, it was the secret."""
    if not isinstance(v, str) or len(v.strip()) < MIN_SECRET:
        raise Bad(f"a string of at least {MIN_SECRET} characters (a shorter one can be guessed; "
                  "`moonhook init` writes 32 random ones)")
    if re.search(ENV_REFERENCE, v):
        raise Bad("the secret itself, not an environment variable's name (none is read in its place: "
                  "MOONHOOK_SECRET and MOONHOOK_API_TOKEN in the environment set the secret and the token)")
    return v


def currency(v: Any) -> str:
    """A currency's 3-letter code (``PaperConfig`` writes it in capitals)."""
    if not isinstance(v, str) or not re.fullmatch(CURRENCY, v):
        raise Bad("a 3-letter currency code, like \"USD\"")
    return v


CURRENCY = "[A-Za-z]{3}"
# What Telegram's setWebhook takes as its secret_token (SECRET_TOKEN), at least MIN_SECRET long
TELEGRAM_SECRET = SECRET_TOKEN.replace("{1,", f"{{{MIN_SECRET},")


def telegram_secret(v: Any) -> str:
    """``telegram.webhook_secret``: Telegram echoes it in every call, and takes only these characters.
    At least ``MIN_SECRET`` of them, as the webhook's: /telegram/<bot> takes guesses without a limit,
    and a right one posts an admin's commands for whoever knows an admin's user id."""
    if not isinstance(v, str) or not re.fullmatch(TELEGRAM_SECRET, v):
        raise Bad(f"{MIN_SECRET} to 256 characters from A-Z, a-z, 0-9, _ and - (a shorter one can be guessed; "
                  "what Telegram accepts)")
    return v


def boolean(v: Any) -> bool:
    if not isinstance(v, bool):
        raise Bad("true or false")
    return v


def choice(*options: str) -> Check:
    def check(v: Any) -> str:
        if v not in options:
            raise Bad(f"one of {', '.join(options)}")
        return v
    return made(check, choice, *options)


def folder(v: Any) -> Path:
    return Path(string(v)).expanduser()  # resolved against the config's folder in _build


def table(v: Any) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise Bad("a table")
    return v


def params(v: Any) -> dict[str, Any]:
    """``[plugins.NAME].params``: a table of anything but nan, at any depth (TOML writes it
    ``nan``): every comparison with it is false, so a guard's ``volume > params.max_lots``
    would never hold, and let every entry through."""
    def nan_at(value: Any, at: str) -> str | None:
        if isinstance(value, float) and math.isnan(value):
            return at
        items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        for key, item in items:
            if (found := nan_at(item, f"{at}.{key}" if isinstance(value, dict) else f"{at}[{key}]")) is not None:
                return found
        return None

    if (at := nan_at(table(v), "")) is not None:
        raise Bad("a number, not nan (every comparison with nan is false: a script's check of it never holds)",
                  math.nan, at=at)
    return v


def table_of(item: Check, what: str) -> Check:
    """A table whose every value passes ``item``; an error names the entry."""
    def check(v: Any) -> dict[str, Any]:
        out = {}
        for key, value in table(v).items():
            try:
                out[key] = item(value)
            except Bad:
                raise Bad(what, value, at=f".{key}") from None
        return out
    return made(check, table_of, item, what)


def per_symbol(item: Check, what: str) -> Check:
    """One value for every symbol (kept as ``{"*": value}``), or a table of them by symbol,
    ``"*"`` for the symbols it does not name; an error names the entry."""
    by_symbol = table_of(item, what)

    def check(v: Any) -> dict[str, Any]:
        if isinstance(v, dict):
            return by_symbol(v)
        try:
            return {"*": item(v)}
        except Bad:
            raise Bad(what) from None
    return made(check, per_symbol, item, what)


def networks(v: Any) -> tuple[str, ...]:
    what = "a list of IP addresses or networks, like [\"203.0.113.7\", \"10.0.0.0/8\"]"
    if not isinstance(v, list):
        raise Bad(what)
    for i, item in enumerate(v):
        try:
            if not isinstance(item, str):  # ip_network(1) is 0.0.0.1: a number is never meant
                raise TypeError
            ipaddress.ip_network(item)  # strict: 10.0.0.1/8 (host bits set) is a likely typo
        except (TypeError, ValueError):
            raise Bad("an IP address or network, like 203.0.113.7 or 10.0.0.0/8", item, at=f"[{i}]") from None
    return tuple(v)


def hosts(v: Any) -> tuple[str, ...]:
    if not isinstance(v, list):
        raise Bad("a list of names, like [\"trader.example.com\", \"mypc.local:8080\"]")
    for i, item in enumerate(v):
        if not isinstance(item, str) or host_name(item) is None:
            raise Bad("a name, or a name:port, like trader.example.com or mypc.local:8080", item, at=f"[{i}]")
    return tuple(v)


def listen_host(v: Any) -> str:
    """``server.host``: an IP address or a name to listen on, without a port; one with a port or a
    scheme stopped ``moonhook run`` only at the bind, past the file's line, its data folder made."""
    parsed = host_name(v) if isinstance(v, str) else None
    if parsed is None or parsed[1] is not None:
        raise Bad("an IP address or a name, like \"127.0.0.1\", \"0.0.0.0\", \"::\" or \"mypc.local\", without a "
                  "port (that is server.port)")
    return v.strip()


def url(v: Any) -> str:
    if not isinstance(v, str) or not v.startswith(("http://", "https://")) or len(v) < 10:
        raise Bad("an http:// or https:// URL")
    return v.rstrip("/")


def chat_id(v: Any) -> int | str:
    v = whole(v)
    if isinstance(v, int) and not isinstance(v, bool) and v != 0:
        return v
    if isinstance(v, str) and v.startswith("@") and len(v) > 1:
        return v
    raise Bad("a chat id (a number, negative for a group) or \"@channelname\"")


def ids_of(item: Check, example: str) -> Check:
    """A list whose every item passes ``item``; an error names the item's index."""
    def check(v: Any) -> tuple[int, ...]:
        if not isinstance(v, list):
            raise Bad(f"a list, like {example}")
        out = []
        for i, value in enumerate(v):
            try:
                out.append(item(value))
            except Bad as e:
                raise Bad(e.expected, value, at=f"[{i}]") from None
        return tuple(out)
    return made(check, ids_of, item, example)


def user_id(v: Any) -> int:
    """A person's Telegram user id. A chat id here (a group's negative id, "@channel") is what
    ``admins`` held before it meant people: refused, since it would let every member command."""
    v = whole(v)
    if isinstance(v, int) and not isinstance(v, bool) and v > 0:
        return v
    raise Bad("a person's user id, a positive number (admins are people, not chats: a group where "
               "they may command goes in telegram.command_chats)")


def group_id(v: Any) -> int:
    """A group's chat id (negative): where the admins' commands are also taken."""
    v = whole(v)
    if isinstance(v, int) and not isinstance(v, bool) and v < 0:
        return v
    raise Bad("a group's chat id, a negative number (an admin's private chat needs no listing)")


def chats(v: Any) -> tuple[ChatConfig, ...]:
    """Chat ids, or tables ``{ id = 123, events = ["trades", "errors"] }`` (default: every kind)."""
    what = "a list of chat ids or tables like { id = 123, events = [\"trades\"] }"
    if not isinstance(v, list):
        raise Bad(what)
    out = []
    for i, item in enumerate(v):
        if not isinstance(item, dict):
            try:
                out.append(ChatConfig(chat_id(item)))
            except Bad as e:
                raise Bad(e.expected, item, at=f"[{i}]") from None
            continue
        for key in item:
            if key not in ("id", "events"):
                raise Bad("one of id, events", key, at=f"[{i}].{key}")
        try:
            chat = chat_id(item.get("id"))
        except Bad as e:
            raise Bad(e.expected, item.get("id"), at=f"[{i}].id") from None
        events = item.get("events", list(KINDS))
        if not isinstance(events, list) or not all(e in KINDS for e in events):
            raise Bad(f"a list of events from {', '.join(KINDS)}", events, at=f"[{i}].events")
        out.append(ChatConfig(chat, frozenset(events)))
    return tuple(out)


def session_hours(v: Any) -> float:
    """How long a dashboard login lasts: hours above 0, at most MAX_SESSION_HOURS."""
    try:
        return number(0, MAX_SESSION_HOURS, above=True)(v)
    except Bad:
        raise Bad(f"a number of hours above 0 and at most {MAX_SESSION_HOURS}") from None


def anything_string(v: Any) -> str:
    if not isinstance(v, str):
        raise Bad("a string")
    return v


@dataclass(frozen=True)
class Array:
    """An array of tables, each read with ``schema`` (``[[telegram.bots]]``); ``required``: the keys
    each must hold, and what each is (a bot without its token is no bot)."""

    schema: Mapping[str, Any]
    example: str
    required: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Each:
    """A table of named sub-tables, each read with ``schema`` (``[plugins.NAME]``)."""

    schema: Mapping[str, Any]
