"""`moonhook run` on MetaTrader 5 (the stand-in terminal, tests/support/mt5_standin.py) as its session with the
terminal begins and ends: a start without MetaTrader is told, the first connection after it "connected",
"connected again" only after a loss was told (Telegram's servers are the Bot API stand-in), and a Ctrl-C while a
poll is in the terminal is a stop, not a fault: nothing warned of in the log."""

from __future__ import annotations

from support.botapi_thread import telegram_table, threaded_bot_api
from support.e2e_support import mt5_user, until
from support.mt5_standin import Terminal
from support.telegram_support import notices

TOKEN = "5150:walk-bot-SECRET-part"
ADMIN = 4242


def test_a_terminal_found_after_the_start_is_told_connected_and_again_only_after_a_loss(user, tmp_path):
    terminal = Terminal(tmp_path / "terminal.db")
    terminal.disconnect()                                   # MetaTrader not up yet when moonhook starts
    with threaded_bot_api({TOKEN: "moonhook_bot"}) as api:
        def said() -> list[str]:
            return notices(api.texts(TOKEN, ADMIN, shown=True))

        config = mt5_user(user, tmp_path / "terminal.db")
        config.append(telegram_table(api.url, TOKEN, ADMIN))
        run = user.start("run", config=config, cwd="bot")
        assert not run.get("/health")["broker_connected"]
        until(said, lambda texts: any(t.startswith("broker not reachable") for t in texts), "the failed start told")
        terminal.reconnect()
        until(said, lambda texts: any(t.startswith("broker connected") for t in texts), "the connection told")
        assert [t.split(";")[0].split(":")[0] for t in said() if t.startswith("broker")] == [
            "broker not reachable at the start", "broker connected"], said()
        terminal.disconnect()                               # lost while moonhook runs: told, then found again
        until(said, lambda texts: any(t.startswith("broker disconnected") for t in texts), "the loss told")
        terminal.reconnect()
        until(said, lambda texts: any(t.startswith("broker connected again") for t in texts), "found again, told")
        told = [t.split(";")[0].split(":")[0] for t in said() if t.startswith("broker")]
        assert told == ["broker not reachable at the start", "broker connected", "broker disconnected",
                        "broker connected again"], said()
        assert run.interrupt() == 0
        assert "Traceback" not in run.text()


def test_a_ctrl_c_while_a_poll_is_in_the_terminal_warns_of_nothing(user, tmp_path):
    # The stop cancels the poll's call mid-way, and the link kills its worker: that was a WARNING ("terminal_info was
    # cancelled before its answer; worker N was killed") at every such stop, for a stop moonhook made.
    terminal = Terminal(tmp_path / "terminal.db")
    config = mt5_user(user, tmp_path / "terminal.db")
    config.append("timeout = 600\n")                        # the held poll is ended by the stop, not its deadline
    run = user.start("run", config=config, cwd="bot")
    until(lambda: run.get("/health"), lambda h: h["broker_connected"], "the broker connected")
    terminal.script("terminal_info", "hang")
    until(lambda: terminal.hung("terminal_info"), lambda n: n == 1, "a poll held in the terminal")
    assert run.interrupt() == 0
    log = run.text()
    assert not [line for line in log.splitlines() if " WARNING moonhook.mt5" in line or " ERROR " in line], log
    assert "terminal_info was cancelled before its answer" in log and "Traceback" not in log


def test_a_login_the_trade_server_refuses_names_the_account_and_the_settings_and_never_the_password(user, tmp_path):
    # MetaTrader says only "Authorization failed" (-6), for a wrong login, password or server alike: moonhook says
    # which account at which server it asked for and where each is set; the password itself nowhere.
    Terminal(tmp_path / "terminal.db", login=31337, password="right-pass-4417", server="Standin-Demo")
    config = mt5_user(user, tmp_path / "terminal.db")
    config.append('login = 31337\nserver = "Standin-Live"\n')
    env = {"MOONHOOK_MT5_PASSWORD": "right-pass-4417"}
    for password, server in (("right-pass-4417", "Standin-Live"), ("wrong-pass-9902", "Standin-Demo")):
        config.replace('server = "Standin-Live"', f'server = "{server}"')
        run = user.start("run", config=config, cwd="bot", env={**env, "MOONHOOK_MT5_PASSWORD": password})
        said = (f"MetaTrader 5 refused the login to account 31337 on Standin-{server[8:]} (MetaTrader error -6: "
                "Terminal: Authorization failed): check mt5.login, mt5.server (as the terminal's login window "
                "names the server) and the password (MOONHOOK_MT5_PASSWORD or mt5.password)")
        health = run.get("/health")
        assert not health["broker_connected"] and health["broker_state"].startswith(
            f"disconnected: {said}; refused once; the next try at "), health
        assert "(in 5 min), then less often, up to once an hour" in health["broker_state"], health
        status = user.moonhook("status", cwd="bot")
        assert said in status.stdout and "the next try at" in status.stdout, status.stdout
        assert run.interrupt() == 0
        assert f"ERROR moonhook.mt5: MetaTrader 5: {said}; trying again in 5 min" in run.text()
        assert password not in run.text() + status.stdout + status.stderr + str(health)
        config.replace(f'server = "{server}"', 'server = "Standin-Live"')


def test_a_refused_login_is_told_once_with_its_next_try_and_a_restart_with_the_right_password_connects_at_once(
        user, tmp_path):
    # Tried again at once, then every 1, 2 ... 60 s: a broker that locks an account after a few failed logins
    # locked it. Now the next try is minutes away, told once to the admins; the corrected password, at a restart.
    terminal = Terminal(tmp_path / "terminal.db", login=31337, password="right-pass-4417", server="Standin-Demo")
    with threaded_bot_api({TOKEN: "moonhook_bot"}) as api:
        def said() -> list[str]:
            return notices(api.texts(TOKEN, ADMIN, shown=True))

        config = mt5_user(user, tmp_path / "terminal.db")
        config.append('login = 31337\nserver = "Standin-Demo"\n' + telegram_table(api.url, TOKEN, ADMIN))
        run = user.start("run", config=config, cwd="bot", env={"MOONHOOK_MT5_PASSWORD": "wrong-pass-9902"})
        told = until(said, lambda texts: any(t.startswith("broker not reachable") for t in texts), "the refusal told")
        assert [t for t in told if t.startswith("broker")] == [told[0]] and "refused the login to account 31337" in \
            told[0] and "the next try at" in told[0] and "(in 5 min)" in told[0], told
        assert terminal.calls("initialize") == 1, "tried again at once"
        assert run.interrupt() == 0
        assert "wrong-pass-9902" not in run.text() + " ".join(said())
        run = user.start("run", config=config, cwd="bot", env={"MOONHOOK_MT5_PASSWORD": "right-pass-4417"})
        assert until(lambda: run.get("/health"), lambda h: h["broker_connected"], "connected at once")
        assert run.interrupt() == 0


def test_a_refused_login_corrected_in_moonhook_toml_is_tried_at_the_save(user, tmp_path):
    # The next try minutes away, the trader fixed mt5.password and saved: "[mt5] at the next start".
    Terminal(tmp_path / "terminal.db", login=31337, password="right-pass-4417", server="Standin-Demo")
    with threaded_bot_api({TOKEN: "moonhook_bot"}) as api:
        def said() -> list[str]:
            return notices(api.texts(TOKEN, ADMIN, shown=True))

        config = mt5_user(user, tmp_path / "terminal.db")
        config.append('login = 31337\nserver = "Standin-Demo"\npassword = "wrong-pass-9902"\n'
                      + telegram_table(api.url, TOKEN, ADMIN))
        run = user.start("run", config=config, cwd="bot")
        until(lambda: run.get("/health"), lambda h: "refused once" in h["broker_state"], "the login refused")
        config.replace('password = "wrong-pass-9902"', 'password = "right-pass-4417"')
        assert until(lambda: run.get("/health"), lambda h: h["broker_connected"], "connected at the save")
        told = until(said, lambda texts: any("tried at once" in t for t in texts), "the save told")
        (saved,) = [t for t in told if "tried at once" in t]
        assert "in force now: [mt5]'s login, tried at once (MetaTrader 5 refused the last)" in saved, told
        assert not [t for t in told if "at the next start" in t], told
        assert run.interrupt() == 0
        for secret in ("wrong-pass-9902", "right-pass-4417"):
            assert secret not in run.text() + " ".join(said())
