"""The dashboard against a stranger's web page open in the trader's browser: the real `moonhook
run`, a real headless Chromium (tests/support/browser.py), and the stranger's page served from
another site (127.0.0.2, another origin and another site to the browser). Whatever that page
sends, the browser sends as the trader's: it must not get in the trader's way.
"""

from __future__ import annotations

import socket
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import httpx

from selenium.webdriver.common.by import By

from support.browser import answered, browser, chromium, log_in, wait  # noqa: F401 (browser: a fixture)
from support.e2e_support import init

GUESSES = 6  # one more than the failed logins that close the door (session.LOGIN_FAILURES)


@contextmanager
def stranger_site(page: str, host: str = "127.0.0.2") -> Iterator[str]:
    """``page`` (HTML) served at http://<host>:<port>/ until the block ends; yields its address.
    127.0.0.2 is another site to the browser; 127.0.0.1 at another port the same site (another
    program of this machine), to which it sends the SameSite=Strict cookie."""
    body = page.encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer((host, 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def guessing_page(base: str) -> str:
    """A page that posts wrong tokens to the dashboard's login as a plain form would (a simple
    request: the browser sends it cross-site without asking), then says so in its title."""
    return f"""<!doctype html><title>guessing</title><script>
(async () => {{
  for (let i = 0; i < {GUESSES}; i++) {{
    await fetch("{base}/login", {{method: "POST", mode: "no-cors", body: new URLSearchParams({{token: "guess" + i}})}})
      .catch(() => null);
  }}
  document.title = "sent";
}})();
</script>"""


def test_a_stranger_s_page_cannot_lock_the_trader_out_of_the_dashboard(user, browser):
    """Failed logins close the door to their address for 5 minutes, the right token too. A
    stranger's page posting wrong tokens from the trader's browser comes from the trader's own
    address: were its guesses counted, any page could keep the trader from logging in (to close
    a position) for as long as it stays open. The browser marks them cross-site: refused, uncounted."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    base = f"http://127.0.0.1:{run.port}"
    with stranger_site(guessing_page(base)) as stranger:
        browser.get(stranger)
        wait(browser, lambda d: d.title == "sent", "the stranger's guesses sent")
    trader = httpx.post(f"{base}/login", json={"token": config.values["server"]["api_token"]}, timeout=10)
    assert trader.status_code == 204, (trader.status_code, trader.text)
    assert "wrong token" not in run.text()  # never taken for a guess of the token
    assert run.interrupt() == 0


def test_a_stranger_s_name_pointed_at_this_machine_cannot_lock_the_trader_out(user):
    """DNS rebinding: a stranger's page at http://rebind.example:<port>/ has its name answer
    127.0.0.1 after loading, so its requests are same-origin to the browser and reach moonhook
    from the trader's own address. Sent here as that browser sends them (Host and Origin the
    stranger's name, Sec-Fetch-Site same-origin): refused, uncounted, and the trader logs in."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    base = f"http://127.0.0.1:{run.port}"
    rebound = {"Host": f"rebind.example:{run.port}", "Origin": f"http://rebind.example:{run.port}",
               "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"}
    guesses = [httpx.post(f"{base}/login", data={"token": f"guess{i}"}, headers=rebound, timeout=10)
               for i in range(GUESSES)]
    assert {g.status_code for g in guesses} == {403}, [(g.status_code, g.text) for g in guesses]
    assert "rebind.example" in guesses[0].json()["error"]
    trader = httpx.post(f"{base}/login", json={"token": config.values["server"]["api_token"]}, timeout=10)
    assert trader.status_code == 204, (trader.status_code, trader.text)
    local = httpx.post(f"http://localhost:{run.port}/login", json={"token": "wrong but typed at localhost"}, timeout=10)
    assert local.status_code == 401  # the trader's own names are never taken for a stranger's
    assert run.interrupt() == 0


def test_the_trader_at_a_name_of_this_machine_is_told_why_the_page_is_refused(user, tmp_path):
    """The trader who opens the dashboard under a name of their own for this machine (an
    /etc/hosts line) is refused as a stranger's rebound name would be: the page says why, where
    to open it instead, and the setting that lists the name."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    (tmp_path / "profile").mkdir()
    driver = chromium(tmp_path / "profile", flags=("--host-resolver-rules=MAP moonhook.test 127.0.0.1",))
    try:
        driver.get(f"http://moonhook.test:{run.port}/")
        said = wait(driver, lambda d: d.find_element(By.TAG_NAME, "body").text, "the refusal")
    finally:
        driver.quit()
    assert "moonhook.test" in said and "127.0.0.1 or localhost" in said and "server.hosts" in said, said
    assert run.interrupt() == 0


def lan_address() -> str:
    """This machine's address on its network, as a phone on the LAN reaches it (no packet is
    sent: the kernel only picks the source address); 127.0.0.1 on a machine with no network."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError:
            return "127.0.0.1"
        return probe.getsockname()[0]


def on_every_address(user):
    """``moonhook init`` with ``host = "0.0.0.0"`` (the dashboard reached from a phone on the LAN)."""
    config, _ = init(user, "bot")
    config.replace('host = "127.0.0.1"', 'host = "0.0.0.0"')
    return config


def test_a_stranger_s_name_pointed_at_the_lan_address_gets_nothing_but_the_webhook(user):
    """DNS rebinding to the LAN address of an engine on 0.0.0.0: the stranger's page, same-origin
    to the trader's browser, reaches moonhook from the trader's own address. Every route but the
    webhook refuses its name before running (its guesses at the token never lock the trader out);
    the webhook, guarded by its secret, answers at any name, as TradingView calls the public one.
    The start and `moonhook check` say which names are answered."""
    config = on_every_address(user)
    run = user.start("run", config=config, cwd="bot")
    base = f"http://{lan_address()}:{run.port}"
    rebound = {"Host": f"evil.example:{run.port}", "Origin": f"http://evil.example:{run.port}",
               "Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors"}
    refused = [httpx.get(f"{base}{path}", headers=rebound, timeout=10) for path in ("/", "/health", "/api/session")]
    guesses = [httpx.post(f"{base}/login", data={"token": f"guess{i}"}, headers=rebound, timeout=10)
               for i in range(GUESSES)]
    secret = config.values["server"]["secret"]
    alert = httpx.post(f"{base}/webhook/{secret}", content=b"buy EURUSD volume=0.01", headers=rebound, timeout=10)
    trader = httpx.post(f"{base}/login", json={"token": config.values["server"]["api_token"]}, timeout=10)
    assert {r.status_code for r in [*refused, *guesses]} == {403}, [(r.status_code, r.text) for r in refused]
    assert "evil.example" in refused[0].json()["error"] and "server.hosts" in refused[0].json()["error"]
    assert alert.status_code == 200 and alert.json()["status"] == "accepted", alert.text
    assert trader.status_code == 204, (trader.status_code, trader.text)
    assert "server.hosts is empty" in run.banner
    assert run.interrupt() == 0
    checked = user.moonhook("check", cwd="bot")
    said = "moonhook.toml: warning: server.host is '0.0.0.0' and server.hosts is empty"
    assert said in checked.stdout, checked.stdout


def test_a_name_listed_in_server_hosts_is_answered_and_no_other(user):
    """The trader's own LAN name, listed, opens the dashboard; a stranger's is still refused."""
    config = on_every_address(user)
    config.replace("hosts = []", 'hosts = ["moonhook.test"]')
    run = user.start("run", config=config, cwd="bot")
    base = f"http://{lan_address()}:{run.port}"
    token = config.values["server"]["api_token"]
    own = httpx.post(f"{base}/login", json={"token": token}, headers={"Host": f"moonhook.test:{run.port}"}, timeout=10)
    stranger = httpx.get(f"{base}/", headers={"Host": f"evil.example:{run.port}"}, timeout=10)
    assert own.status_code == 204, (own.status_code, own.text)
    assert stranger.status_code == 403
    assert "server.hosts is empty" not in run.banner
    assert run.interrupt() == 0


def forging_page(base: str) -> str:
    """A page that, with the trader logged in to the dashboard in the same browser, tries to read
    the session's CSRF token and to pause the engine: by fetch (credentials included, any content
    type) and by a plain form posted into a hidden frame. Its title says what it could read."""
    return f"""<!doctype html><title>forging</title>
<iframe name="sink" hidden></iframe>
<form id="form" method="POST" action="{base}/api/pause" target="sink" enctype="text/plain">
<input name='{{"reason": "forged", "x": "' value='"}}'></form>
<script>
(async () => {{
  let read = "unreadable";
  try {{
    const answer = await fetch("{base}/api/session", {{credentials: "include"}});
    read = "read " + answer.status + " " + (await answer.text());
  }} catch (e) {{}}
  for (const type of ["text/plain", "application/x-www-form-urlencoded"]) {{
    await fetch("{base}/api/pause", {{method: "POST", mode: "no-cors", credentials: "include",
      headers: {{"Content-Type": type}}, body: '{{"reason": "forged"}}'}}).catch(() => null);
  }}
  document.querySelector("iframe").onload = () => {{ document.title = "sent: " + read; }};
  document.getElementById("form").submit();
}})();
</script>"""


def test_a_stranger_s_page_cannot_read_the_session_nor_change_anything(user, browser):
    """The trader is logged in; a stranger's page in another tab of the same browser reads
    nothing (no route answers CORS) and its posts, by fetch or form, carry no session (the cookie
    is SameSite=Strict) and no CSRF token: the engine is not paused."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    base = f"http://127.0.0.1:{run.port}"
    log_in(browser, base, config.values["server"]["api_token"])
    with stranger_site(forging_page(base)) as stranger:
        browser.get(stranger)
        title = wait(browser, lambda d: d.title.startswith("sent") and d.title, "the stranger's requests sent")
    assert title == "sent: unreadable", title
    assert run.get("/api/plugins")["pause"]["paused"] is False
    browser.get(f"{base}/")  # the trader's own tab still logged in
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#overview .panel"), "the overview")
    assert run.interrupt() == 0


def logging_out_page(base: str) -> str:
    """A page that posts to the dashboard's logout as a plain form would, navigating to it (a
    top-level navigation: the browser takes the answer's cookies, even another site's), as a
    link followed or a page opened is enough to send."""
    return f"""<!doctype html><title>logging out</title>
<form id="form" method="POST" action="{base}/logout"></form>
<script>document.getElementById("form").submit();</script>"""


def fetching_logout_page(base: str) -> str:
    """A page that posts to the dashboard's logout by fetch, with credentials, then says so in its title."""
    return f"""<!doctype html><title>logging out</title><script>
fetch("{base}/logout", {{method: "POST", mode: "no-cors", credentials: "include"}})
  .catch(() => null).then(() => {{ document.title = "sent"; }});
</script>"""


def still_logged_in(driver, base: str) -> None:
    """The trader's dashboard, opened again, shows the overview, not the login."""
    driver.get(f"{base}/")
    shown = wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "#overview .panel, #token"), "the page")
    assert shown[0].get_attribute("id") != "token", "logged out"
    assert driver.find_elements(By.CSS_SELECTOR, "#overview .panel")


def test_a_stranger_s_page_cannot_log_the_trader_out(user, tmp_path):
    """POST /logout took no CSRF token. Another site's page navigating to it with a form (the
    cookie is not sent, being SameSite=Strict, but its clearing in the answer was taken, as the
    answer to a top-level navigation), and a page of another program on this machine (the same
    site to the browser: the cookie is sent) posting to it by fetch, both logged the trader out."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    base = f"http://127.0.0.1:{run.port}"
    (tmp_path / "profile").mkdir()
    driver = chromium(tmp_path / "profile", network=True)
    try:
        log_in(driver, base, config.values["server"]["api_token"])
        with stranger_site(logging_out_page(base)) as stranger:
            driver.get(stranger)
            assert answered(driver, f"{base}/logout", "the stranger's form posted") == 204  # nothing to forget
        still_logged_in(driver, base)
        with stranger_site(fetching_logout_page(base), host="127.0.0.1") as neighbour:
            driver.get(neighbour)
            wait(driver, lambda d: d.title == "sent", "the neighbour's logout sent")
        still_logged_in(driver, base)
    finally:
        driver.quit()
    assert run.interrupt() == 0
