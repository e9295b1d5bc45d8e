"""moonhook.toml written and read in the settings tests (tests/unit/app/test_settings*.py)."""

import re
from pathlib import Path

import pytest

from engine.app.settings import SettingsError, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "moonhook.toml"
    path.write_text(text)
    return path


def error(tmp_path: Path, text: str, env: dict | None = None) -> str:
    """The error's message without the line it names (test_an_error_names_the_line_of_its_key)."""
    with pytest.raises(SettingsError) as e:
        load_settings(write(tmp_path, text), env or {})
    return re.sub(r"^(.+?\.toml): line \d+: ", r"\1: ", str(e.value))
