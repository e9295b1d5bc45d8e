"""How the API's blueprints answer what the facade raises: one status for each kind of error,
its message as ``{"error": "..."}``. A blueprint lists its kinds once, in a table.

An error answer quotes what it could not read (a body's start, a parameter), and a caller may have
put the webhook's secret or the API token there (a form's ``token=...`` sent as JSON): each is
written ``***`` in every error answer of the app (``hide_secrets``), and before a quote is cut
(``quoted``), since a secret cut short is no longer found whole."""

from __future__ import annotations

import json
from typing import Collection, Mapping, Union

from quart import Blueprint, Quart, Response, current_app

from engine.domain.alerts import without_secrets

# A status, or a status and the message's template ("{}" is the error's own text).
Answer = Union[int, tuple[int, str]]
# A BrokerError: the broker cannot answer (the MetaTrader terminal lost), nothing was sent.
BROKER_DOWN: Answer = (503, "the broker cannot answer: {}")
SECRETS = "moonhook.secrets"   # the app's extension: the secrets no error answer quotes


def answer_errors(bp: Blueprint, answers: Mapping[type[Exception], Answer]) -> None:
    """Registers on ``bp`` a handler for each kind of error in ``answers``."""
    for kind, answer in answers.items():
        status, template = answer if isinstance(answer, tuple) else (answer, "{}")
        bp.register_error_handler(kind, _handler(status, template))


def _handler(status: int, template: str):
    async def handle(e: Exception):
        return {"error": template.format(e)}, status
    return handle


def quoted(text: str, most: int) -> str:
    """At most ``most`` characters of ``text``, given by a caller, for an error answer to quote:
    the app's secrets written ``***`` first. Raises nothing."""
    return without_secrets(text, current_app.extensions.get(SECRETS, ()))[:most]


def hide_secrets(app: Quart, secrets: Collection[str]) -> None:
    """Writes each of ``secrets`` (the webhook's, the API token) ``***`` in the ``error`` of every
    answer of ``app`` from 400 up, whichever route or handler gave it, and keeps them for ``quoted``."""
    app.extensions[SECRETS] = secrets = tuple(s for s in secrets if s)

    @app.after_request
    async def without_quoted_secrets(response: Response) -> Response:
        if response.status_code < 400 or not response.is_json or not secrets:
            return response
        body = await response.get_json()
        if isinstance(body, dict) and isinstance(said := body.get("error"), str):
            if (clean := without_secrets(said, secrets)) != said:
                response.set_data(json.dumps({**body, "error": clean}))
        return response
