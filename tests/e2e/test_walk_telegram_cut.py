"""A command cut by a kill while moonhook obeys it, walked: the admin's /pause is killed (SIGKILL, at the
commit that pauses: support/crash_point.py) before its answer. Obeyed at most once, the offset stored first,
the command was neither answered nor refused: the admin heard nothing. Now the next start tells the chat
that moonhook stopped while obeying it, once; a restart after does not tell it again. So too a /pause obeyed
to its end and killed while its answer was on its way to Telegram (held by the stand-in, never carried out):
the next start tells the chat it was done, once."""

from __future__ import annotations

import signal

from support import crash_point
from support.botapi_thread import telegram_table, threaded_bot_api
from support.e2e_support import DEADLINE, init, until

TOKEN = "5150:cut-SECRET-part"
ADMIN = 4242
# Killed right after the pause is committed, before its answer: the run's first switch written, with no plugin
# (a plugin's load writes switches of its own) and the account known (its first run writes it: run once before).
KILLED_AT_THE_PAUSE = {"CRASH_POINT_AT": "INSERT INTO switches#1"}


def _said(api) -> list[str]:
    return api.texts(TOKEN, ADMIN)


def _not_told_again(user, config, api, word: str) -> None:
    """One start more: the admin's /status answered, and ``word`` (the notice, once told) not told again."""
    run = user.start("run", config=config, cwd="bot")
    api.call(lambda: api.server.push_message(TOKEN, ADMIN, "/status"))
    until(lambda: _said(api), lambda texts: "moonhook ⏸ paused" in texts[-1], "the answer to /status after a restart")
    assert len([text for text in _said(api) if word in text]) == 1, _said(api)
    assert run.interrupt() == 0


def test_a_command_killed_while_obeyed_is_told_to_the_admin_once_at_the_next_start(user):
    crash_point.install(user.home / "site")
    user.on_path(user.home / "site")
    with threaded_bot_api({TOKEN: "moonhook_bot"}) as api:
        config, _ = init(user, "bot")
        (user.home / "bot" / "scripts" / "demo.lua").unlink()
        config.append(telegram_table(api.url, TOKEN, ADMIN))

        def said() -> list[str]:
            return _said(api)

        def told() -> list[str]:
            return [text for text in said() if "stopped while obeying" in text]

        assert user.start("run", config=config, cwd="bot").interrupt() == 0
        run = user.start("run", config=config, cwd="bot", env=KILLED_AT_THE_PAUSE)
        api.call(lambda: api.server.push_message(TOKEN, ADMIN, "/pause"))
        assert run.process.wait(timeout=DEADLINE) == -signal.SIGKILL
        run.kill()                                    # its workers too
        assert not [text for text in said() if "Paused" in text]      # killed before its answer: nothing heard

        run = user.start("run", config=config, cwd="bot")
        assert run.get("/api/plugins")["pause"]["paused"]              # obeyed before the kill, not again since
        (text,) = until(told, lambda found: len(found) == 1, "the admin told of the /pause cut")
        assert text.startswith("⚠ moonhook stopped while obeying /pause (received ") and "UTC); it may or may " \
            "not have been done: /status shows whether moonhook is paused; send it again if needed." in text, text
        assert run.interrupt() == 0

        _not_told_again(user, config, api, "stopped while obeying")    # told once, not at every start
    logs = "".join(r.text() for r in user.runs)
    assert "SECRET" not in logs and "moonhook stopped while obeying /pause from chat 4242" in logs


def test_a_command_killed_after_obeyed_before_its_answer_was_taken_is_told_done_once_at_the_next_start(user):
    # Crossed off once obeyed, its answer only queued: killed before Telegram took it, the admin heard nothing.
    with threaded_bot_api({TOKEN: "moonhook_bot"}) as api:
        config, _ = init(user, "bot")
        config.append(telegram_table(api.url, TOKEN, ADMIN))

        def held() -> list:
            return api.call(lambda: [r for r in api.server.calls("sendMessage", TOKEN)
                                     if r.status is None and "Paused" in str(r.params.get("text"))])

        def told() -> list[str]:
            return [text for text in _said(api) if "finished /pause" in text]

        run = user.start("run", config=config, cwd="bot")
        api.call(api.server.hang)                        # sendMessage held: taken by no one, answered never
        api.call(lambda: api.server.push_message(TOKEN, ADMIN, "/pause"))
        until(held, bool, "the answer to /pause on its way to Telegram")
        run.kill()                                       # SIGKILL, the whole process group
        api.call(api.server.stop)                        # the held request cut: its message never carried out
        api.call(api.server.release)
        api.wait(api.server.start)
        assert not [text for text in _said(api) if "Paused" in text]   # the admin heard nothing

        run = user.start("run", config=config, cwd="bot")
        assert run.get("/api/plugins")["pause"]["paused"]
        (text,) = until(told, lambda found: len(found) == 1, "the admin told the /pause was done")
        assert text.startswith("ℹ moonhook finished /pause (received ") and "UTC), then stopped before its answer " \
            "was confirmed sent: /status shows whether moonhook is paused." in text, text
        assert run.interrupt() == 0

        _not_told_again(user, config, api, "finished /pause")
        assert not [text for text in _said(api) if "stopped while" in text], _said(api)
    logs = "".join(r.text() for r in user.runs)
    assert "SECRET" not in logs and "moonhook stopped after obeying /pause from chat 4242, before Telegram took its answer" in logs
