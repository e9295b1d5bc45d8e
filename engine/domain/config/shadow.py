"""``[shadow]``: another folder of scripts run live beside the real ones, on a private paper
broker, whose decisions are recorded and compared (docs/shadow.md)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ShadowConfig:
    """``scripts``: the shadow's folder (resolved against the config file's folder); None: no
    shadow, and nothing of it runs."""

    scripts: Path | None = None

    @property
    def enabled(self) -> bool:
        return self.scripts is not None
