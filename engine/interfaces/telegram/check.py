"""/check ALERT: what an alert would do now, sending nothing, as ``moonhook send --dry-run`` says it, in
one message (the lines past it counted). The alert's text is the caller's to keep out of the log: it may
hold the webhook's secret (commands.UNLOGGED)."""

from __future__ import annotations

from engine.app.check_text import check_text
from engine.app.operations import Operations
from engine.domain.alerts import AlertError, read_body
from engine.interfaces.telegram.tables import cut, escape, fit


async def check_answer(ops: Operations, arg: str) -> str:
    """The answer (HTML) to ``/check arg``: its usage when ``arg`` is empty, why it is not an alert, or what
    it would do. Raises what the broker raises."""
    if not arg:
        return "Usage: /check ALERT, as TradingView sends it: <code>/check buy EURUSD risk=1 sl_pips=20</code>"
    try:
        alert = ops.parse(read_body(arg.encode("utf-8")))
    except AlertError as e:
        return f"Not an alert: {escape(cut(str(e), 300))}"
    *lines, last = check_text(await ops.check(alert)).split("\n")   # last: nothing was sent
    return "<pre>" + escape("\n".join(fit(lines, "moonhook send --dry-run says it all") + [last])) + "</pre>"
