"""``[shadow]`` in moonhook.toml (issue 22): its folder resolved as ``engine.scripts`` is, bad
values refused naming ``shadow.scripts``."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.app.settings import SettingsError, load_settings


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "conf" / "moonhook.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_no_shadow_table_is_no_shadow(tmp_path):
    engine = load_settings(config(tmp_path, "")).engine
    assert engine.shadow.scripts is None and not engine.shadow.enabled


def test_the_folder_is_relative_to_the_config_and_its_file_beside_the_journal(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    engine = load_settings(config(tmp_path, '[shadow]\nscripts = "scripts-next"\n')).engine
    assert engine.shadow.scripts == tmp_path / "conf" / "scripts-next"
    assert engine.shadow_database == tmp_path / "conf" / "data" / "moonhook-shadow.db"
    assert engine.shadow_database.parent == engine.database.parent


@pytest.mark.parametrize("text, expected", [
    ('[shadow]\nscripts = ""\n', "shadow.scripts: expected a non-empty string"),
    ('[shadow]\nscripts = 3\n', "shadow.scripts: expected a non-empty string, got 3"),
    ('[shadow]\nfolder = "x"\n', "shadow.folder: unknown key (known: scripts)"),
    ('[shadow]\nscripts = "scripts"\n', "shadow.scripts: must be another folder than engine.scripts"),
    ('[engine]\nscripts = "live"\n[shadow]\nscripts = "./live/"\n',
     "shadow.scripts: must be another folder than engine.scripts"),
])
def test_bad_values_name_shadow_scripts(tmp_path, text, expected):
    path = config(tmp_path, text)
    with pytest.raises(SettingsError) as caught:
        load_settings(path)
    assert str(caught.value).startswith(f"{path}: line "), str(caught.value)   # the key's line, then the key
    assert str(caught.value).split(": ", 2)[2].startswith(expected), str(caught.value)
