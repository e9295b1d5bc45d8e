"""The dashboard against a stranger's web page open in the trader's browser: the real `moonhook
run`, a real headless Chromium (tests/support/browser.py), and the stranger's page served from
another site (127.0.0.2, another origin and another site to the browser). Whatever that page
sends, the browser sends as the trader's: it must not get in the trader's way.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import httpx

from selenium.webdriver.common.by import By

from support.browser import browser, chromium, wait  # noqa: F401 (browser: a fixture)
from support.e2e_support import init

GUESSES = 6  # one more than the failed logins that close the door (session.LOGIN_FAILURES)


@contextmanager
def stranger_site(page: str) -> Iterator[str]:
    """``page`` (HTML) served at http://127.0.0.2:<port>/ until the block ends; yields its address."""
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

    server = ThreadingHTTPServer(("127.0.0.2", 0), Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.2:{server.server_address[1]}/"
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


def test_the_trader_at_a_name_of_this_machine_is_told_why_the_login_is_refused(user, tmp_path):
    """The trader who opens the dashboard under a name of their own for this machine (an
    /etc/hosts line) is refused as a stranger's rebound name would be: the page says why and
    where to open it instead, never "Wrong token." for the right one."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    (tmp_path / "profile").mkdir()
    driver = chromium(tmp_path / "profile", flags=("--host-resolver-rules=MAP moonhook.test 127.0.0.1",))
    try:
        driver.get(f"http://moonhook.test:{run.port}/")
        field = wait(driver, lambda d: d.find_element(By.ID, "token"), "the login form")
        field.send_keys(config.values["server"]["api_token"])
        driver.find_element(By.ID, "login-button").click()
        said = wait(driver, lambda d: d.find_element(By.ID, "login-error").text, "the refusal")
    finally:
        driver.quit()
    assert "Wrong token" not in said, said
    assert "moonhook.test" in said and "127.0.0.1 or localhost" in said, said
    assert run.interrupt() == 0
