"""Alerts from a webhook body: TradingView's JSON, or the plain-text command grammar.

JSON: ``{"symbol": "OANDA:EURUSD", "action": "buy", "risk": 1, "sl": 1.08}`` (``ticker`` for
``symbol``, ``close`` for ``price``, ``lots`` for ``volume``, field names in any case, as in
text; numbers may be strings, as TradingView's placeholders give them). Text: ``buy EURUSD risk=1 sl=1.0800
tp=1.0900``, commas or spaces between parts, optionally preceded by an id
(``42,buy,EURUSD,risk=1``); ``trend EURUSD H1 up``.

Every check lives in ``_build``, shared by both forms (what each command takes: commands.py); a refusal
names the field.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timezone
from typing import Any, Collection

from engine.domain.alerts.body import check_json, check_not_json_string, check_text, read_body
from engine.domain.alerts.commands import check_as_sent, check_command
from engine.domain.alerts.model import ACTION_ALIASES, Action, Alert, AlertError
from engine.domain.alerts.secrets import HIDDEN, without_secrets
from engine.domain.alerts.strategy import check_size_without_position, read_strategy_order
from engine.domain.alerts.symbols import SymbolMap
from engine.domain.rules import MAX_PRICE

MAX_TEXT = 4096
# ttl: seconds; units: the size in units of the instrument, as TradingView's strategies count it
_NUMBERS = ("price", "volume", "risk", "risk_amount", "units", "sl", "tp", "sl_pips", "tp_pips", "ttl")
_STRINGS = {"id": 128, "comment": 256, "timeframe": 16, "state": 16, "position": 16}
_COUNTS = ("position_size",)  # numbers that may be 0
_PRICES = ("price", "sl", "tp")   # at most MAX_PRICE (engine/domain/rules.py), as every broker takes them
_TIMES = ("timenow",)  # when TradingView fired the alert: its {{timenow}} (2026-11-24T10:00:00Z) or Unix seconds
_DURATIONS = ("expiry",)  # how long a pending order waits: seconds, or 90m, 4h, 2d
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3_600, "d": 86_400}
MAX_EXPIRY = 366 * 86_400
_YEARS = tuple(datetime(year, 1, 1, tzinfo=timezone.utc).timestamp() for year in (2000, 2100))
_PARAMETERS = (*_NUMBERS, *_STRINGS, *_COUNTS, *_TIMES, *_DURATIONS)  # name=value in a text alert
_FIELDS = {"symbol", "action", *_PARAMETERS}
_KNOWN, _NUMERIC = frozenset(_PARAMETERS), frozenset(_NUMBERS)  # asked of each name=value of a text alert
# "lots" as in text: kept as an extra field, it would leave the entry to engine.default_volume
_JSON_ALIASES = {"ticker": "symbol", "close": "price", "lots": "volume"}
# name=value; spaces after '=' only before a value: "comment= sl=1.19" (an empty placeholder) is an empty comment
_TOKEN = re.compile(r'''\s*([A-Za-z_][A-Za-z0-9_]*)\s*=(?:\s+(?![A-Za-z_][A-Za-z0-9_]*\s*=))?'''
                    r'''("(?:[^"\\]|\\.)*"|[^,\s]*)|\s*([^,\s=]+)''')


def parse_body(body: bytes | str, symbols: SymbolMap | None = None) -> Alert:
    """Parses a webhook body, whatever its Content-Type: JSON if it is a JSON object, else text.
    Raises AlertError naming the field."""
    return parse_value(read_body(body), symbols)


def parse_value(value: Any, symbols: SymbolMap | None = None, secrets: Collection[str] = ()) -> Alert:
    """An alert from what ``read_body`` gave: text is a command, anything else must be a JSON object;
    without the secrets it carries (``secrets.py``: ``secrets`` are written ``***``)."""
    if isinstance(value, str):
        check_not_json_string(value)
        return parse_text(without_secrets(value, secrets), symbols)
    return parse_json(value, symbols, secrets)


def parse_json(obj: Any, symbols: SymbolMap | None = None, secrets: Collection[str] = ()) -> Alert:
    if not isinstance(obj, dict):
        raise AlertError(None, "a JSON alert must be an object")
    obj = without_secrets(obj, secrets)  # a plugin's changes come here too: no credential field is kept
    check_json(obj)
    fields: dict[str, Any] = {}
    given: dict[str, str] = {}  # each field's key as it came
    extra: dict[str, Any] = {}
    for key, value in obj.items():
        # Any case, and spaces around it, as in text: kept as an extra field, "SL" or "sl " would open
        # the entry without its stop
        name = _JSON_ALIASES.get(key.strip().lower(), key.strip().lower())
        if name in _FIELDS:
            if name in fields:
                raise AlertError(name, f"given twice (as {given[name]!r} and {key!r})")
            fields[name], given[name] = value, key
        else:
            extra[key] = value
    return _build(fields, "json", extra, symbols or SymbolMap())


def parse_text(text: str, symbols: SymbolMap | None = None) -> Alert:
    if len(text) > MAX_TEXT:
        raise AlertError(None, f"a text alert is at most {MAX_TEXT} characters")
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) != 1:
        raise AlertError(None, "one command per alert (the body has several lines)")
    words: list[str] = []
    fields: dict[str, Any] = {}
    pos = 0
    line = lines[0].strip()
    text_before: str | None = None  # a text field just before, unquoted: what follows may be the rest of it
    cut: tuple[str, list[str]] | None = None
    euro: tuple[str, str, str] | None = None  # a number that may be 1234.5 written as Europe does, cut at its comma
    while pos < len(line):
        if line[pos] == ",":
            pos, text_before = pos + 1, None
            continue
        m = _TOKEN.match(line, pos)
        if not m or m.end() == pos:
            raise AlertError(None, f"cannot read the command at {line[pos:pos + 20]!r}")
        pos = m.end()
        if m.group(1):
            key = m.group(1).lower()
            value = m.group(2)
            if value.startswith('"'):
                value = _quoted(key, value)
            if key == "lots":
                key = "volume"
            if key not in _KNOWN:
                raise AlertError(key, "unknown parameter (known: " + ", ".join(_PARAMETERS) + ")")
            if key in fields:
                raise AlertError(key, "given twice")
            comma = _COMMA_REST.match(line, pos) if key in _NUMERIC else None
            if comma and re.fullmatch(r"-?\d+", value):
                raise AlertError(key, _comma_hint(value, comma[1]))
            if comma and re.fullmatch(r"-?\d{1,3}(?:\.\d{3})+", value):  # 1.234,5; or 150.123 then a word 60
                euro = (key, value, comma[1])
            fields[key] = value
            text_before = key if key in _TEXTS and not m.group(2).startswith('"') else None
        elif m.group(3):
            words.append(m.group(3))
            if text_before is not None:
                cut = cut if cut is not None and cut[0] == text_before else (text_before, [])
                cut[1].append(m.group(3))
    if not words:
        raise AlertError("action", "missing: a text alert starts with a command such as buy or sell")
    if words[0].lower() not in ACTION_ALIASES and len(words) > 1 and words[1].lower() in ACTION_ALIASES:
        if "id" in fields:
            raise AlertError("id", "given twice")
        fields["id"] = words.pop(0)
    fields["action"] = words.pop(0)
    action = ACTION_ALIASES.get(fields["action"].lower())
    expected = ("symbol", "timeframe", "state") if action is Action.TREND else ("symbol",)
    if len(words) > len(expected):
        if euro is not None and words[len(expected)] == euro[2]:
            raise AlertError(euro[0], _comma_hint(euro[1], euro[2]))
        if cut is not None:
            key, rest = cut[0], " ".join(cut[1])
            template = f"{key}=\"{{{{strategy.order.{key}}}}}\""
            raise AlertError(key, f"{fields[key]!r} is followed by {rest!r}: a text with spaces goes in double quotes, "
                                  f"{key}=\"{fields[key]} {rest}\" ({template} in a template)")
        _unwritten_parameter(words[len(expected):])
        raise AlertError(None, f"unexpected words {' '.join(words[len(expected):])!r} after the command")
    for name, word in zip(expected, words):
        fields[name] = word
    return _build(fields, "text", {}, symbols or SymbolMap())


_TEXTS = ("comment",)   # text a template fills from TradingView, which may hold spaces
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')  # as _TOKEN reads a quoted value
_COMMA_REST = re.compile(r",(\d+(?:,\d+)*(?:\.\d*)?)")  # what follows a number cut at a comma: 1,0850 or 1,000.5


def _unwritten_parameter(stray: list[str]) -> None:
    """Refuses, naming it, a parameter among a text alert's stray words written without its '=', as other
    bots' messages write it (``sl:1.08``, ``sl 1.08``); returns when there is none."""
    for i, word in enumerate(stray):
        name, colon, value = word.partition(":")
        key = "volume" if name.lower() == "lots" else name.lower()
        if key in _KNOWN and (value or not colon and i + 1 < len(stray)):
            said, value = (word, value) if colon else (f"{word} {stray[i + 1]}", stray[i + 1])
            raise AlertError(key, f"{said!r} is not read: write {name}={value}, with '='")


def _quoted(key: str, value: str) -> str:
    """A text alert's value in double quotes, read as JSON reads a string; AlertError naming ``key``
    for one not closed (``comment="Long entry``, a template's quote left open) or not readable."""
    if not _QUOTED.fullmatch(value):
        raise AlertError(key, f'the quoted text has no closing " ({key}="Long entry")')
    try:
        return json.loads(value)
    except json.JSONDecodeError as e:  # an escape JSON has not: "C:\path"
        raise AlertError(key, f"cannot read the quoted text {_show(value)}: {e.msg} at its character {e.pos + 1} "
                              "(a \\ in it is written \\\\)") from None


def _comma_hint(whole: str, rest: str) -> str:
    """Why ``whole,rest`` is refused. Three digits after the comma may be thousands (units=1,000):
    "write 1.000" would then size a thousandth of what was meant. A point before it marks thousands
    (1.234,5, as continental Europe writes 1234.5)."""
    if "." in whole and "." not in rest and "," not in rest:
        return (f"{whole},{rest} is not a number: write {whole.replace('.', '')}.{rest}, decimals after a point and "
                "no thousands separator")
    if "." in rest or "," in rest:  # 44,100.5 or 1,000,000: commas can only separate thousands
        return f"{whole},{rest} is not a number: write {whole}{rest.replace(',', '')}, without the commas"
    if len(rest) == 3:
        return (f"{whole},{rest} is not a number: write {whole}{rest} (thousands) or {whole}.{rest} (decimals), "
                "without the comma")
    return f"{whole},{rest} is not a number: write decimals with a point ({whole}.{rest})"


def _build(fields: dict[str, Any], source: str, extra: dict[str, Any], symbols: SymbolMap) -> Alert:
    values: dict[str, Any] = {}
    if isinstance(fields.get("id"), str) and fields["id"].strip() in ("", HIDDEN):
        del fields["id"]  # empty, or wholly a secret (PineConnector's licence id): every alert's, none of its own

    raw_action = fields.get("action")
    action: Action | None = None
    if raw_action is not None:
        if not isinstance(raw_action, str):
            raise AlertError("action", f"must be a string, got {_show(raw_action)}")
        check_text("action", raw_action)
        _no_placeholder("action", raw_action)
        action = ACTION_ALIASES.get(raw_action.strip().lower())
        if action is None:
            known = ", ".join(a.value for a in Action)
            raise AlertError("action", f"unknown command {raw_action!r} (known: {known}, long, short)")

    for name in _NUMBERS:
        if fields.get(name) is not None:
            values[name] = _number(name, fields[name])
            if name in _PRICES and values[name] > MAX_PRICE:
                raise AlertError(name, "must be at most 1e15 (no market's price is near it), "
                                       f"got {_show(fields[name])}")
    for name in _COUNTS:  # signed: {{strategy.position_size}} is a short's size below 0 (strategy.py)
        if fields.get(name) is not None:
            values[name] = _number(name, fields[name], zero=True, signed=True)
    for name, limit in _STRINGS.items():
        if fields.get(name) is not None:
            values[name] = _string(name, fields[name], limit)
    for name in _TIMES:
        if fields.get(name) is not None:
            values[name] = _time(name, fields[name])
    for name in _DURATIONS:
        if fields.get(name) is not None:
            values[name] = _duration(name, fields[name])

    raw_symbol = fields.get("symbol")
    if raw_symbol is not None:
        if not isinstance(raw_symbol, str):
            raise AlertError("symbol", f"must be a string, got {_show(raw_symbol)}")
        check_text("symbol", raw_symbol)
        _no_placeholder("symbol", raw_symbol)
        values["raw_symbol"] = raw_symbol
        values["symbol"] = symbols.normalize(raw_symbol)

    if action is not None:
        check_as_sent(action, values)
    if "position" in values:
        action = read_strategy_order(action, values)
    else:
        check_size_without_position(action, values)
    if action is not None:
        check_command(action, values)
    return Alert(action=action, source=source, extra=extra, **values)


_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?(?:inf|infinity|nan)", re.I)


def _number(name: str, raw: Any, zero: bool = False, signed: bool = False) -> float:
    if isinstance(raw, bool):
        raise AlertError(name, f"must be a number, got {_show(raw)}")
    if isinstance(raw, str):
        _no_placeholder(name, raw)
        if not _DECIMAL.fullmatch(raw.strip()):  # float() would read 1_0 as 10, and digits of any script
            # "0,1" or "1.234,5", as text tells them
            if comma := re.fullmatch(r"\s*(-?\d+(?:\.\d{3})*)" + _COMMA_REST.pattern + r"\s*", raw):
                raise AlertError(name, _comma_hint(comma[1], comma[2]))
            if name == "risk" and raw.strip().endswith("%") and _DECIMAL.fullmatch(raw.strip()[:-1].rstrip()):
                raise AlertError(name, f"is a percent already: write {raw.strip()[:-1].rstrip()}, without %")
            raise AlertError(name, f"must be a number, got {_show(raw)}")
        value = float(raw.strip())
    elif isinstance(raw, (int, float)):
        try:
            value = float(raw)
        except OverflowError:
            raise AlertError(name, f"must be a number within range, got {_show(raw)}") from None
    else:
        raise AlertError(name, f"must be a number, got {_show(raw)}")
    if not math.isfinite(value) or (value < 0 and not signed) or (value == 0 and not zero):
        raise AlertError(name, f"must be a {'non-negative' if zero else 'positive'} number, got {_show(raw)}")
    return value


def _duration(name: str, raw: Any) -> float:
    """Seconds from a number of seconds or a string with a unit: "90m", "4h", "2d"."""
    if isinstance(raw, str) and (found := re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([smhdSMHD]?)\s*", raw)):
        seconds = float(found[1]) * _UNITS[found[2].lower()]
    elif isinstance(raw, str) and not raw.strip().lstrip("-").replace(".", "", 1).isdigit():
        _no_placeholder(name, raw)
        raise AlertError(name, f"must be seconds or a duration such as 90m, 4h or 2d, got {_show(raw)}")
    else:
        seconds = _number(name, raw)
    if not 0 < seconds <= MAX_EXPIRY:
        raise AlertError(name, f"must be more than 0 and at most 366 days, got {_show(raw)}")
    return seconds


def _time(name: str, raw: Any) -> float:
    """Unix seconds from TradingView's {{timenow}} (ISO 8601, UTC when no offset is given) or
    from a number of seconds (milliseconds past 1e11, as JavaScript's clocks give them)."""
    expected = AlertError(name, "must be a time such as TradingView's {{timenow}} (2026-11-24T10:00:00Z) or Unix "
                                f"seconds, got {_show(raw)}")
    if isinstance(raw, str):
        _no_placeholder(name, raw)
    try:
        value = _number(name, raw)
    except AlertError:
        if not isinstance(raw, str):
            raise expected from None
        try:
            at = datetime.fromisoformat(raw.strip())
        except ValueError:
            raise expected from None
        value = (at if at.tzinfo else at.replace(tzinfo=timezone.utc)).timestamp()
    if value > 1e11:
        value /= 1000
    if not _YEARS[0] <= value < _YEARS[1]:
        raise AlertError(name, f"must be a time between the years 2000 and 2100, got {_show(raw)}")
    return value


def _string(name: str, raw: Any, limit: int) -> str:
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise AlertError(name, f"must be a string, got {_show(raw)}")
    text = raw if isinstance(raw, str) else json.dumps(raw)
    check_text(name, text)
    _no_placeholder(name, text)
    if len(text) > limit:
        raise AlertError(name, f"at most {limit} characters, got {len(text)}")
    return text


def _no_placeholder(name: str, text: str) -> None:
    if "{{" in text:
        why = ("{{strategy.*}} placeholders are filled in a strategy's order alerts only, not in an "
               "indicator's or a drawing's" if "{{strategy." in text else "check the alert's message")
        raise AlertError(name, f"the TradingView placeholder {text.strip()!r} was not replaced; {why}")


def _show(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
