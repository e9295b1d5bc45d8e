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
import sys
from datetime import datetime, timezone
from typing import Any, Collection

from engine.domain.alerts.commands import check_as_sent, check_command
from engine.domain.alerts.model import ACTION_ALIASES, Action, Alert, AlertError
from engine.domain.alerts.secrets import HIDDEN, without_secrets
from engine.domain.alerts.strategy import check_size_without_position, read_strategy_order
from engine.domain.alerts.symbols import SymbolMap

MAX_TEXT = 4096
MAX_DEPTH = 32  # levels of JSON nesting an alert may have
# ttl: seconds; units: the size in units of the instrument, as TradingView's strategies count it
_NUMBERS = ("price", "volume", "risk", "risk_amount", "units", "sl", "tp", "sl_pips", "tp_pips", "ttl")
_STRINGS = {"id": 128, "comment": 256, "timeframe": 16, "state": 16, "position": 16}
_COUNTS = ("position_size",)  # numbers that may be 0
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


def read_body(body: bytes | str) -> Any:
    """A body as the JSON value it holds, or as its stripped text when it is not JSON.
    Raises AlertError for a body that is not UTF-8, is empty, or looks like JSON and is not."""
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError as e:
            raise AlertError(None, f"the body is not UTF-8 text (byte {e.start})") from None
    text = body.strip().lstrip("\ufeff").strip()  # a file saved on Windows: a BOM, then a line break
    if not text:
        raise AlertError(None, "the body is empty")
    if not text.startswith(("{", "[")) or text.startswith("{{"):  # a text alert may open with a placeholder
        return text
    try:
        return json.loads(text, object_pairs_hook=_object)
    except json.JSONDecodeError as e:
        raise AlertError(None, f"the body looks like JSON but is not valid: {e.msg} at line {e.lineno} "
                               f"column {e.colno}") from None
    except RecursionError:
        raise AlertError(None, f"the body is nested more than {MAX_DEPTH} levels deep") from None
    except ValueError:  # an integer of more digits than Python converts
        raise AlertError(None, f"the body holds a number of more than {sys.get_int_max_str_digits():,} digits") \
            from None


class _Twice(dict):
    """A JSON object in which ``key`` was given twice: refused by ``check_json`` (after the web
    layer has read the secret, so the sender is told what is wrong rather than "no secret")."""
    key: str


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # With a key given twice, which value counts would be a guess (json keeps the last, another
    # reader the first): refused, as a field given twice in text is.
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out and not isinstance(out, _Twice):
            out = _Twice(out)
            out.key = key
        out[key] = value
    return out


def parse_value(value: Any, symbols: SymbolMap | None = None, secrets: Collection[str] = ()) -> Alert:
    """An alert from what ``read_body`` gave: text is a command, anything else must be a JSON object;
    without the secrets it carries (``secrets.py``: ``secrets`` are written ``***``)."""
    if isinstance(value, str):
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
        # Any case, as in text: kept as an extra field, "SL" would open the entry without its stop
        name = _JSON_ALIASES.get(key.lower(), key.lower())
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
                value = json.loads(value)
            if key == "lots":
                key = "volume"
            if key not in _KNOWN:
                raise AlertError(key, "unknown parameter (known: " + ", ".join(_PARAMETERS) + ")")
            if key in fields:
                raise AlertError(key, "given twice")
            comma = _COMMA_REST.match(line, pos) if key in _NUMERIC else None
            if comma and re.fullmatch(r"-?\d+", value):
                raise AlertError(key, _comma_hint(value, comma[1]))
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
        if cut is not None:
            key, rest = cut[0], " ".join(cut[1])
            template = f"{key}=\"{{{{strategy.order.{key}}}}}\""
            raise AlertError(key, f"{fields[key]!r} is followed by {rest!r}: a text with spaces goes in double quotes, "
                                  f"{key}=\"{fields[key]} {rest}\" ({template} in a template)")
        raise AlertError(None, f"unexpected words {' '.join(words[len(expected):])!r} after the command")
    for name, word in zip(expected, words):
        fields[name] = word
    return _build(fields, "text", {}, symbols or SymbolMap())


_TEXTS = ("comment",)   # text a template fills from TradingView, which may hold spaces
_COMMA_REST = re.compile(r",(\d+(?:,\d+)*(?:\.\d*)?)")  # what follows a number cut at a comma: 1,0850 or 1,000.5


def _comma_hint(whole: str, rest: str) -> str:
    """Why ``whole,rest`` is refused. Three digits after the comma may be thousands (units=1,000):
    "write 1.000" would then size a thousandth of what was meant."""
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
        _check_text("action", raw_action)
        _no_placeholder("action", raw_action)
        action = ACTION_ALIASES.get(raw_action.strip().lower())
        if action is None:
            known = ", ".join(a.value for a in Action)
            raise AlertError("action", f"unknown command {raw_action!r} (known: {known}, long, short)")

    for name in _NUMBERS:
        if fields.get(name) is not None:
            values[name] = _number(name, fields[name])
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
        _check_text("symbol", raw_symbol)
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
            if comma := re.fullmatch(r"\s*(-?\d+)" + _COMMA_REST.pattern + r"\s*", raw):  # "0,1", as text tells it
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
    _check_text(name, text)
    _no_placeholder(name, text)
    if len(text) > limit:
        raise AlertError(name, f"at most {limit} characters, got {len(text)}")
    return text


def check_json(value: Any, path: str | None = None, depth: int = 0) -> None:
    """Refuses what JSON decoding lets through but the journal, the API and the sandbox cannot
    carry: nesting deeper than MAX_DEPTH, NaN and infinities, integers beyond 64 bits, and text
    with lone surrogates (``"\\ud800"``). Raises AlertError naming the field's path."""
    if depth > MAX_DEPTH:  # named by its top-level field: the whole path would be as deep
        raise AlertError(re.split(r"[.\[]", path or "", maxsplit=1)[0] or None,
                         f"nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, str):
        _check_text(path, value)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise AlertError(path, f"must be a finite number, got {value}")
    elif isinstance(value, int):
        if not -2**63 <= value < 2**63:
            raise AlertError(path, "a whole number beyond 64 bits")
    elif isinstance(value, dict):
        if isinstance(value, _Twice):
            raise AlertError(f"{path}.{value.key}" if path else value.key, "given twice in the JSON object")
        for key, item in value.items():
            _check_text(path, key)
            check_json(item, f"{path}.{key}" if path else key, depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_json(item, f"{path or ''}[{i}]", depth + 1)


def _check_text(name: str | None, text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise AlertError(name, f"holds an unpaired surrogate (\\u{ord(text[e.start]):04x}), which is not text") \
            from None


def _no_placeholder(name: str, text: str) -> None:
    if "{{" in text:
        why = ("{{strategy.*}} placeholders are filled in a strategy's order alerts only, not in an "
               "indicator's or a drawing's" if "{{strategy." in text else "check the alert's message")
        raise AlertError(name, f"the TradingView placeholder {text.strip()!r} was not replaced; {why}")


def _show(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
