"""Constant-time checks of the webhook secret and the API's bearer token."""

from __future__ import annotations

import hmac


def same(given: str | None, expected: str | None) -> bool:
    """True when ``given`` is ``expected``, compared in constant time; never with no ``expected``."""
    if not expected or given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode("utf-8"))


def bearer(header: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def refusal(api_token: str | None, given: list[str]) -> tuple[dict[str, str], int, dict[str, str]] | None:
    """The 401 answer to a request without ``Authorization: Bearer <api_token>`` (the API's
    and /metrics' check), its ``Authorization`` headers ``given``; None when it has it. Two are
    refused whatever they hold: the first was read, so which counted hung on their order."""
    if not api_token:
        return {"error": "no API token is configured on this server: the API is closed"}, 401, {}
    if len(given) > 1:
        return ({"error": "more than one Authorization header: send one, Bearer <api_token>"}, 401,
                {"WWW-Authenticate": "Bearer"})
    if not same(bearer(given[0] if given else None), api_token):
        return {"error": "missing or wrong bearer token"}, 401, {"WWW-Authenticate": "Bearer"}
    return None
