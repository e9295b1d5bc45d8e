"""A trader who changes account in the same folder: `[mt5] login` from a demo account to the live
one (each a terminal of its own here, with tickets numbered alike), on the same moonhook.db. What
the demo account left is history: nothing of it is acted on, or told, at the live account."""

from __future__ import annotations

from selenium.webdriver.common.by import By

from engine.adapters.brokers.mt5.orders import tag_for

from support.browser import browser, click, log_in, wait  # noqa: F401 (browser: a fixture)
from support.e2e_support import mt5_user, until
from support.mt5_standin import ORDER_TYPE_BUY_LIMIT, Terminal
from support.mt5_support import log_in_by_hand

SEEN_LIVE = ("not executed: journaled while moonhook traded on mt5 111@Standin-Demo, and moonhook trades on "
             "mt5 222@Standin-Live now")


def _at_the_live_account(run) -> None:
    """Waits until ``run`` is connected to the live account (/health)."""
    until(lambda: run.get("/health"), lambda h: h["broker_connected"] and "account 222 on Standin-Live" in
          h["broker_state"], "connected to the live account")


def _held(run, tv_id: str = "demo-held") -> int:
    """Paused, a buy comes and is held; its id."""
    assert run.client.post("/api/pause").status_code == 200
    held = run.webhook(f"buy EURUSD volume=0.1 price=1.08 sl=1.07 id={tv_id}")["id"]
    assert run.settled(held)["status"] == "paused"
    return held


def _resumed_with_the_missed(run, held: int) -> dict:
    """A resume with the missed alerts; the held alert's row once settled."""
    assert run.client.post("/api/resume", json={"execute_missed": True}).status_code == 200
    return run.settled(held)


def _on_the_demo(user, tmp_path):
    """No `[mt5] login`: the user's config on a terminal logged in to the demo (the live account's terminal
    beside it, to log in to by hand), with no age limit (an alert would run however late); the terminal."""
    terminal = Terminal(tmp_path / "terminal.db", login=111, server="Standin-Demo")
    Terminal(tmp_path / "live.db", login=222, server="Standin-Live")
    config = mt5_user(user, tmp_path / "terminal.db")
    config.replace("max_alert_age = 120", "max_alert_age = 0")
    return terminal, config


def _skipped_at_the_live_account(row: dict, terminal) -> None:
    """The demo's alert settled skipped, saying why, and nothing sent at the live account (``terminal``)."""
    assert row["status"] == "skipped", row
    assert row["outcome"]["reason"] == SEEN_LIVE, row
    assert terminal.sent() == 0 and terminal.positions() == []


def _to_the_live_account(config, demo: str, live: str) -> None:
    config.replace(f'path = "{demo}"', f'path = "{live}"')
    config.replace("login = 111", "login = 222")


def test_the_live_account_gets_its_own_magic_numbers_and_the_demos_orders_are_not_looked_for(user, tmp_path):
    """The demo gave the engine's orders magic number 7770001 and left a pending order. At the live
    account another moonhook project numbers its orders 7770001 (its alerts tagged as this one's
    are), and an order of its of the demo's ticket was cancelled: its position is not moonhook's
    (an alert's close leaves it), and that order is not told as moonhook's pending order cancelled."""
    demo = Terminal(tmp_path / "demo.db", login=111, server="Standin-Demo")
    live = Terminal(tmp_path / "live.db", login=222, server="Standin-Live")
    config = mt5_user(user, tmp_path / "demo.db")
    config.append("login = 111\n")
    run = user.start("run", config=config, cwd="bot")
    placed = run.settled(run.webhook("buylimit EURUSD volume=0.1 price=1.07 sl=1.06 id=demo-limit")["id"])
    assert placed["status"] == "done", placed
    (order,) = demo.orders()
    assert run.interrupt() == 0

    theirs = live.place_external("EURUSD", ORDER_TYPE_BUY_LIMIT, 0.2, 1.06)
    live.end_order(theirs)
    assert theirs == order["ticket"]  # the same ticket number, another's order at another account
    # Another moonhook project's entry of its alert 2, numbered as the demo numbered this one's
    other = live.open_external("EURUSD", "buy", 0.5, magic=order["magic"], comment=tag_for("a2-engine-open", 2))
    _to_the_live_account(config, tmp_path / "demo.db", tmp_path / "live.db")
    again = user.start("run", config=config, cwd="bot")
    (shown,) = again.get("/api/positions")["positions"]
    assert (shown["ticket"], shown["plugin"], shown["external"]) == (other, None, True), shown
    close = again.settled(again.webhook("closelong EURUSD id=live-close")["id"])
    assert [p["ticket"] for p in live.positions()] == [other], close  # the other bot's position stays open
    entry = again.settled(again.webhook("buy EURUSD volume=0.1 sl=1.07 id=live-buy")["id"])
    assert entry["status"] == "done", entry
    mine = next(p for p in live.positions() if p["ticket"] != other)
    assert mine["magic"] != order["magic"]  # a number of its own at this account
    assert again.interrupt() == 0
    assert f"pending order {theirs}" not in again.text()
    assert "account 222@Standin-Live, not 111@Standin-Demo this journal traded on" in again.text()
    assert [o["ticket"] for o in demo.orders()] == [order["ticket"]]  # the demo's order is left as it is


def test_an_alert_held_while_paused_on_paper_is_not_traded_by_a_resume_on_metatrader(user, tmp_path):
    """Paused on paper, an alert comes and is held; the trader sets broker = "mt5" and starts (still
    paused), then resumes with the missed alerts: the paper test's alert is not bought on the
    MetaTrader account. It is skipped at the start, saying why."""
    terminal = Terminal(tmp_path / "terminal.db", login=12345678)
    config = mt5_user(user, tmp_path / "terminal.db")
    config.replace('broker = "mt5"', 'broker = "paper"')
    config.replace("max_alert_age = 120", "max_alert_age = 0")  # no age limit: it would run however late
    run = user.start("run", config=config, cwd="bot")
    held = _held(run, "paper-held")
    assert run.interrupt() == 0

    config.replace('broker = "paper"', 'broker = "mt5"')
    again = user.start("run", config=config, cwd="bot")
    row = _resumed_with_the_missed(again, held)
    assert row["status"] == "skipped", row
    assert row["outcome"]["reason"] == ("not executed: journaled while moonhook traded on paper, and this start "
                                        "trades on mt5 12345678@Standin-Demo"), row
    assert again.interrupt() == 0
    assert terminal.sent() == 0 and terminal.positions() == []


def test_an_alert_held_on_the_demo_is_not_traded_at_the_live_account_the_terminal_was_logged_in_to(user, tmp_path):
    """No `[mt5] login`: moonhook trades the account the terminal is logged in to. Paused on the demo,
    an alert is held; the trader logs the terminal in to the live account by hand (another terminal
    here), starts, and resumes with the missed alerts: the demo's alert is not bought with real money."""
    demo = Terminal(tmp_path / "demo.db", login=111, server="Standin-Demo")
    live = Terminal(tmp_path / "live.db", login=222, server="Standin-Live")
    config = mt5_user(user, tmp_path / "demo.db")
    config.replace("max_alert_age = 120", "max_alert_age = 0")  # no age limit: it would run however late
    run = user.start("run", config=config, cwd="bot")
    held = _held(run)
    assert run.interrupt() == 0

    config.replace(f'path = "{tmp_path / "demo.db"}"', f'path = "{tmp_path / "live.db"}"')
    again = user.start("run", config=config, cwd="bot")
    row = _resumed_with_the_missed(again, held)
    assert row["status"] == "skipped", row
    assert row["outcome"]["reason"] == ("not executed: journaled while moonhook traded on mt5 111@Standin-Demo, "
                                        "and this start trades on mt5 222@Standin-Live"), row
    assert again.interrupt() == 0
    assert live.sent() == 0 and live.positions() == [] and demo.positions() == []


def test_an_alert_held_on_the_demo_is_not_traded_at_the_live_account_a_terminal_down_at_the_start_comes_up_on(
        user, tmp_path):
    """No `[mt5] login`. Paused on the demo, an alert is held; the terminal is down when moonhook starts
    again, and comes up logged in to the live account: a resume with the missed alerts bought the demo's
    alert there (the account was compared only at the start, when the terminal said none)."""
    terminal, config = _on_the_demo(user, tmp_path)
    run = user.start("run", config=config, cwd="bot")
    held = _held(run)
    assert run.interrupt() == 0

    for suffix in ("", "-wal", "-shm"):   # the terminal down
        (tmp_path / f"terminal.db{suffix}").unlink(missing_ok=True)
    again = user.start("run", config=config, cwd="bot")
    assert not again.get("/health")["broker_connected"]
    log_in_by_hand(tmp_path / "terminal.db", tmp_path / "live.db")
    _at_the_live_account(again)
    row = _resumed_with_the_missed(again, held)
    assert again.interrupt() == 0
    _skipped_at_the_live_account(row, terminal)


def test_an_alert_held_is_not_traded_at_the_account_the_terminal_is_logged_in_to_while_moonhook_runs(user, tmp_path):
    """No `[mt5] login`. Paused on the demo, an alert is held; the trader logs the terminal in to the live
    account by hand while moonhook runs, and resumes with the missed alerts: the connection was made again
    there, and the demo's alert bought with real money. It is skipped, and the trader told why."""
    terminal, config = _on_the_demo(user, tmp_path)
    run = user.start("run", config=config, cwd="bot")
    held = _held(run)
    log_in_by_hand(tmp_path / "terminal.db", tmp_path / "live.db")
    _at_the_live_account(run)
    row = _resumed_with_the_missed(run, held)
    assert run.interrupt() == 0
    _skipped_at_the_live_account(row, terminal)
    assert "the broker trades on mt5 222@Standin-Live now, not mt5 111@Standin-Demo" in run.text()


def test_the_plugins_page_asked_about_the_demos_alert_does_not_run_the_live_one_held_in_its_place(
        user, tmp_path, browser):
    """Paused on the demo, an alert held; the Plugins page asks "Resume and run the alert received while
    paused?". Before Yes, the terminal is logged in to the live account by hand: the demo's alert is skipped,
    and a live alert is held. One held, as the page said, and Yes bought the live alert, never shown."""
    terminal, config = _on_the_demo(user, tmp_path)
    run = user.start("run", config=config, cwd="bot")
    demo = _held(run)
    log_in(browser, f"http://127.0.0.1:{run.port}", config.values["server"]["api_token"])
    browser.get(f"http://127.0.0.1:{run.port}/#/plugins")
    click(browser, "#resume-run", "Resume and run them")
    asked = wait(browser, lambda d: d.find_element(By.ID, "plugins").text, "the question")
    assert "Resume and run the alert received while paused" in asked, asked
    log_in_by_hand(tmp_path / "terminal.db", tmp_path / "live.db")
    _at_the_live_account(run)
    until(lambda: run.get(f"/api/alerts/{demo}"), lambda row: row["status"] == "skipped", "the demo's alert skipped")
    live = _held(run, "live-held")
    click(browser, "#resume-run-yes", "Yes")
    said = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "p.error[role=alert]").text, "the refusal")
    assert f"alert {live} held since, alert {demo} no longer held; 1 held now" in said, said
    assert run.get("/api/plugins")["pause"]["paused"] is True and run.settled(live)["status"] == "paused"
    assert run.interrupt() == 0
    assert terminal.sent() == 0 and terminal.positions() == []


def test_an_alert_between_a_login_by_hand_and_the_next_poll_is_not_sent_to_the_account_logged_in_to(user, tmp_path):
    """No `[mt5] login`. The trader logs the terminal in to the live account by hand while moonhook runs, and
    an alert comes before the next poll has seen it: its buy went to the live account. The account is
    compared before each send: the order is refused, naming both accounts, and the connection is made
    again at the live account, as a poll seeing the login would make it."""
    terminal, config = _on_the_demo(user, tmp_path)
    config.replace("poll_seconds = 0.2", "poll_seconds = 3600")   # no poll sees the login by hand first
    run = user.start("run", config=config, cwd="bot")
    log_in_by_hand(tmp_path / "terminal.db", tmp_path / "live.db")
    row = run.settled(run.webhook("buy EURUSD volume=0.1 sl=1.07 id=after-login")["id"])
    (order,) = row["outcome"]["orders"]
    assert row["status"] == "failed" and order["error"] == (
        "not sent: the terminal is logged in to account 222@Standin-Live now, not 111@Standin-Demo, the account "
        "moonhook traded on"), row
    _at_the_live_account(run)
    assert run.interrupt() == 0
    assert terminal.sent() == 0 and terminal.positions() == []  # the live account
    assert "the broker trades on mt5 222@Standin-Live now, not mt5 111@Standin-Demo" in run.text()
