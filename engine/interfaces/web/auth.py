"""Who may use the API: ``refuse`` is the one check every ``/api`` route and ``/metrics`` make.

Today it takes the bearer token; the dashboard's session (docs/dashboard.md) joins it here."""

from __future__ import annotations

from quart import request

from engine.domain.config import ServerConfig
from engine.interfaces.web.tokens import refusal


def refuse(server: ServerConfig):
    """The 401 answer for the request in hand when it may not use the API; None when it may."""
    return refusal(server.api_token, request.headers.get("Authorization"))
