"""The dashboard's page at ``/`` and its files under ``/static`` (docs/dashboard.md)."""

from __future__ import annotations

from quart import Blueprint

from engine.app.operations import Operations
from engine.domain.config import ServerConfig


def dashboard_blueprint(ops: Operations, server: ServerConfig) -> Blueprint:
    bp = Blueprint("dashboard", __name__)
    return bp


__all__ = ["dashboard_blueprint"]
