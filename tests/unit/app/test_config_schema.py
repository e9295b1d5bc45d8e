"""The JSON Schema of moonhook.toml: generated from settings.SCHEMA, every key in it, no
stricter than the engine's readers, and the config `moonhook init` writes valid against it."""

import re
import tomllib

import jsonschema
import tomli_w
import pytest

from engine.app import checks
from engine.app.config_schema import (DIRECTIVE, SCHEMA_NAME, UnknownReader, config_schema, reader_schema,
                                      render_schema)
from engine.app.scaffold import init_project
from engine.app.settings import SCHEMA, SettingsError, load_settings


def _leaves(schema, path=()):
    """(path, reader) for every key of SCHEMA; NAME stands for a plugin's name, [] for an array item."""
    if isinstance(schema, checks.Array):
        yield from _leaves(schema.schema, path + ("[]",))
    elif isinstance(schema, checks.Each):
        yield from _leaves(schema.schema, path + ("NAME",))
    elif isinstance(schema, dict):
        for key, value in schema.items():
            yield from _leaves(value, path + (key,))
    else:
        yield path, schema


def _at(node, path):
    for step in path:
        if step == "[]":
            node = node["items"]
        elif step == "NAME":
            node = node["additionalProperties"]
        else:
            assert node.get("additionalProperties") is False, f"{path}: unknown keys would pass"
            node = node["properties"][step]
    return node


def _validator(schema):
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def test_every_key_of_the_settings_is_in_the_schema():
    schema = config_schema()
    leaves = list(_leaves(SCHEMA))
    assert len(leaves) > 60
    for path, _ in leaves:
        assert _at(schema, path), path
    assert _at(schema, ("server", "port")) == {"type": "integer", "minimum": 0, "maximum": 65535,
                                               "description": "The port to listen on (0: any free port, which "
                                                              "moonhook run prints and send and status find in the "
                                                              "data folder); MOONHOOK_PORT overrides it."}
    assert _at(schema, ("engine", "broker"))["enum"] == ["paper", "mt5"]


def test_a_key_whose_reader_the_generator_does_not_know_fails(monkeypatch):
    monkeypatch.setitem(SCHEMA["server"], "new_key", lambda value: value)
    with pytest.raises(UnknownReader, match="lambda"):
        config_schema()


# Values of every shape a key may meet; for each key, every value its reader accepts must pass the schema.
_SAMPLES = [True, False, 0, 1, -1, 5, 0.5, 12.0, 70000, 2**40, -1001234567890, "", " ", "x", "@chan",
            "http://example.com", "10.0.0.0/8", "paper", "HTML", [], ["10.0.0.0/8"], [1], [-100],
            ["trades"], {}, {"a": "b"}, {"a": 1}, {"a": {"b": 1}}, [{"id": 5, "events": ["trades"]}]]


def test_the_schema_accepts_every_value_the_settings_accept():
    for path, reader in _leaves(SCHEMA):
        validator = _validator(reader_schema(reader))
        for value in _SAMPLES + _EDGES:
            try:
                reader(value)
            except checks.Bad:
                continue
            errors = [e.message for e in validator.iter_errors(value)]
            assert not errors, f"{'.'.join(path)} = {value!r}: the engine takes it, the schema says {errors}"


def test_the_config_init_writes_is_valid_and_points_at_the_schema(tmp_path):
    r = init_project(tmp_path)
    text = r.config.read_text()
    assert text.splitlines()[0] == DIRECTIVE == "#:schema ./moonhook.schema.json"
    validator = _validator(config_schema())
    assert not list(validator.iter_errors(tomllib.loads(text)))
    # Its commented examples too, uncommented.
    examples = re.sub(r"^# (\w+ = .*|\[+telegram.*|\[mt5\]|\[shadow\])$", r"\1", text, flags=re.M)
    assert examples != text and not list(validator.iter_errors(tomllib.loads(examples)))
    assert (tmp_path / SCHEMA_NAME).read_text() == render_schema()


@pytest.mark.parametrize("fragment, where", [
    ('[server]\nport = "x"', "'x' is not of type 'integer'"),
    ("[server]\nport = 70000", "70000 is greater than the maximum of 65535"),
    ("[server]\nprot = 8080", "'prot' was unexpected"),
    ('[engine]\nbroker = "ib"', "'ib' is not one of ['paper', 'mt5']"),
    ("[sandbox]\nworkers = 0", "0 is less than the minimum of 1"),
    ('[plugins.demo]\nenabled = "yes"', "'yes' is not of type 'boolean'"),
    ("[plugins.demo.budget]\ntimeout = 0", "0 is less than the minimum of 0.001"),
    ("[plugins.demo.budget]\ntimeout = 5", "5 is greater than the maximum of 1"),
    ("[[telegram.bots]]\ntoken = \"1:t\"\nchats = [0]", "is not valid under any of the given schemas"),
    ("[telegram]\nadmins = [-5]", "-5 is less than the minimum of 1"),
    ("[[telegram.bots]]\nchats = [5]", "'token' is a required property"),
    # the slips the engine refuses at the start, flagged as they are typed
    ('[server]\nhost = "127.0.0.1:8080"', "'127.0.0.1:8080' does not match"),
    ('[server]\nhosts = ["https://trader.example.com"]', "'https://trader.example.com' does not match"),
    ('[server]\nhosts = ["trader.example.com/"]', "'trader.example.com/' does not match"),
    ('[server]\nallow_ips = ["tradingview.com"]', "'tradingview.com' does not match"),
    ('[server]\ntrusted_proxies = ["127.0.0.1:80"]', "'127.0.0.1:80' does not match"),
    ('[engine]\nmax_daily_loss_pct = 100', "100 is greater than or equal to the maximum of 100"),
    ('[server]\nsecret = "${WEBHOOK_SECRET}"', "should not be valid under"),
    # refused by the engine at the start, and were shown valid in the editor
    ("[paper]\nsymbols = { EURUSD = { stop_level = 10 } }", "'stop_level' was unexpected"),
    ("[paper]\nsymbols = { EURUSD = { digits = 9 } }", "9 is greater than the maximum of 8"),
    ('[paper]\nsymbols = { EURUSD = { quote = "dollar" } }', "'dollar' does not match"),
    ('[[telegram.bots]]\ntoken = "AAH4-xyz"', "'AAH4-xyz' does not match"),
    ('[telegram]\nwebhook_url = "https://example.org/h"', "'webhook_secret' is a dependency of 'webhook_url'"),
])
def test_a_wrong_value_does_not_validate(fragment, where):
    errors = [e.message for e in _validator(config_schema()).iter_errors(tomllib.loads(fragment))]
    assert errors and where in errors[0], errors


# Keys whose check the schema cannot hold, as it weighs one key alone: a symbol table's fields, a
# clock's name, a key measured against another (max_spread_wait against max_alert_age, a spread's
# symbol against symbol_map), an IP network's host bits.
_LOOSER = {"paper.symbols", "paper.spreads", "engine.trading_day", "mt5.server_clock", "engine.max_spread_wait",
           "engine.max_spread_pips", "engine.symbol_map", "mt5.symbols", "server.allow_ips", "server.trusted_proxies",
           "server.hosts", "shadow.scripts"}
_EDGES = [50, 99.5, 100, 100.5, 150, 1e6, "USD", "usd", "US$", "EURO", "abc_DEF-123", "a b", "127.0.0.1:8080", "::", "[::1]", "0.0.0.0", "mypc.local", "x" * 300,
          " " * 15 + "x", "0123456789abcdef", "${WEBHOOK_SECRET}", "$MOONHOOK_API_TOKEN", "123:ABC",
          "https://ab", 64.0, 12.5, ["10.0.0.0/255.0.0.0", "::1/128", "fe80::/10"], ["[::1]:8080", "mypc.local.:80"]]


def _config_with(path, value):
    """The smallest moonhook.toml holding ``value`` at ``path`` (NAME a plugin, [] a bot)."""
    node = value
    for step in reversed(path):
        node = {"demo": node} if step == "NAME" else [{"token": "1:x", "chats": [], **node}] if step == "[]" \
            else {step: node}
    return node


def test_the_settings_accept_every_value_the_schema_accepts(tmp_path):
    """The reverse of the test above: a value an editor shows as valid stops the start no more."""
    validator = _validator(config_schema())
    config = tmp_path / "moonhook.toml"
    wrong = []
    for path, _ in _leaves(SCHEMA):
        if ".".join(path) in _LOOSER:
            continue
        for value in _SAMPLES + _EDGES:
            data = _config_with(path, value)
            if list(validator.iter_errors(data)):
                continue
            config.write_text(tomli_w.dumps(data))
            try:
                load_settings(config, {})
            except SettingsError as e:
                wrong.append(f"{'.'.join(path)} = {value!r}: the schema takes it, the engine says {e}")
    assert not wrong, "\n".join(wrong)


def test_a_paper_symbols_fields_are_the_engines():
    """The fields an editor completes under paper.symbols are those the paper broker reads."""
    from dataclasses import fields
    from engine.domain.instruments import SymbolSpec
    node = _at(config_schema(), ("paper", "symbols"))["additionalProperties"]
    assert set(node["properties"]) == {f.name for f in fields(SymbolSpec)} - {"name"}
