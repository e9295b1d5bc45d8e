"""The editor's file routes serve scripts/ only: a link in it to a file elsewhere (moonhook.toml, which holds
the Telegram token and the MT5 password the API token never gives) is neither shown nor saved over through
`moonhook run`'s API; a link to a script inside scripts/ opens as that script."""

from __future__ import annotations

import os

from support.e2e_support import init


def test_a_link_out_of_scripts_is_not_opened_nor_saved_over(user):
    config, _ = init(user, "bot")
    config.append('[telegram]\n[[telegram.bots]]\ntoken = "5150:bot-token-SECRET-part"\nchats = [4242]')
    scripts = user.home / "bot" / "scripts"
    os.symlink("../moonhook.toml", scripts / "outside.lua")
    os.symlink("demo.lua", scripts / "alias.lua")
    before = config.path.read_bytes()
    run = user.start("run", config=config, cwd="bot")

    shown = run.client.get("/api/scripts/outside.lua")
    assert shown.status_code == 400, shown.text
    assert "a link to a file outside scripts/" in shown.json()["error"]
    assert b"SECRET" not in shown.content and config.values["server"]["api_token"] not in shown.text
    saved = run.client.put("/api/scripts/outside.lua", content=b"-- mine now\n", headers={"If-Match": "*"})
    assert saved.status_code == 400, saved.text
    assert os.readlink(scripts / "outside.lua") == "../moonhook.toml" and config.path.read_bytes() == before

    alias = run.get("/api/scripts/alias.lua")
    assert alias["text"] == (scripts / "demo.lua").read_text()
    assert run.interrupt() == 0
