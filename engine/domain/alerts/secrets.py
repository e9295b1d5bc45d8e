"""What of an alert's body is never kept: the secrets it carries beyond its ``secret`` field.

A TradingView message copied from another bot's template often holds a ``passphrase`` or a
``password``, and a trader may paste the webhook's secret into another field (a comment, the
id a PineConnector-style text alert opens with). The alert is kept as its fields minus those:
journaled, shown by every view, told to Telegram and sent to the broker as a comment, a secret
there would be everywhere. This is the one place that takes them out, before the body is
parsed, so a refusal that quotes a field does not quote one either.
"""

from __future__ import annotations

import copy
from typing import Any, Collection

# Field names (in any case, at any depth of a JSON body) that hold a credential: never kept. A name is
# one when, in lower case without its punctuation and spaces, it ends in one of ENDINGS: templates write
# mt5_password, X-Api-Key, apiSecret, bot_token, and each was kept while password, api_key and token were not.
# CREDENTIALS: the names dropped until then, which the schema-25 upgrade looks for in older journals.
CREDENTIALS = frozenset({"secret", "passphrase", "password", "passwd", "token", "api_key", "apikey", "api_secret",
                         "api_token", "access_token", "private_key"})
ENDINGS = ("secret", "secretkey", "passphrase", "password", "passwd", "token", "apikey", "privatekey")
HIDDEN = "***"


def is_credential(name: str) -> bool:
    """Whether a field named ``name`` holds a credential (``ENDINGS``)."""
    return "".join(ch for ch in name.lower() if ch.isalnum()).endswith(ENDINGS)


def without_secrets(value: Any, secrets: Collection[str] = ()) -> Any:
    """``value`` (a body as ``read_body`` gives it: text, or a JSON value) without the fields
    named as credentials (``is_credential``), and with each of ``secrets`` (the webhook's secret, the API token)
    written ``***`` wherever it appears in a string, a key's name included. Raises nothing."""
    secrets = [s for s in secrets if s]
    return _clean(value, secrets) if secrets or isinstance(value, dict | list) else value


def _clean(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, HIDDEN)
        return value
    if isinstance(value, list):
        return [_clean(item, secrets) for item in value]
    if isinstance(value, dict):
        out = {} if type(value) is dict else copy.copy(value)   # the parser's mark of a key given twice stays
        out.clear()
        for key, item in value.items():
            if not (isinstance(key, str) and is_credential(key)):
                out[_clean(key, secrets)] = _clean(item, secrets)
        return out
    return value
