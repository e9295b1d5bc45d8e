"""How the API's blueprints answer what the facade raises: one status for each kind of error,
its message as ``{"error": "..."}``. A blueprint lists its kinds once, in a table."""

from __future__ import annotations

from typing import Mapping, Union

from quart import Blueprint

# A status, or a status and the message's template ("{}" is the error's own text).
Answer = Union[int, tuple[int, str]]
# A BrokerError: the broker cannot answer (the MetaTrader terminal lost), nothing was sent.
BROKER_DOWN: Answer = (503, "the broker cannot answer: {}")


def answer_errors(bp: Blueprint, answers: Mapping[type[Exception], Answer]) -> None:
    """Registers on ``bp`` a handler for each kind of error in ``answers``."""
    for kind, answer in answers.items():
        status, template = answer if isinstance(answer, tuple) else (answer, "{}")
        bp.register_error_handler(kind, _handler(status, template))


def _handler(status: int, template: str):
    async def handle(e: Exception):
        return {"error": template.format(e)}, status
    return handle
