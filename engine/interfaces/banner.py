"""What ``moonhook run`` prints once it listens: the port, the plugins served, what needs the
trader's eye (scripts not loaded, a pause kept, no account limits, the settings warnings
``moonhook check`` gives), and a command to try."""

from __future__ import annotations

import shlex
import sys
from logging import WARNING
from pathlib import Path
from typing import TYPE_CHECKING

from engine.domain.config import Settings
from engine.domain.words import counted
from engine.app.logs import say
from engine.app.scaffold import CONFIG_NAME, TRY_ALERT
from engine.interfaces.remote import local_host

if TYPE_CHECKING:
    from engine.app import Operations

DEFAULT_CONFIG = Path(CONFIG_NAME)   # the file `moonhook` reads without --config


def banner(ops: Operations, settings: Settings, port: int, path: Path) -> None:
    from engine.app.checker import settings_findings   # here: send and status import this module, not the engine

    serving = ops.serving()
    names = ", ".join(serving) or "none"
    host = f"[{settings.server.host}]" if ":" in settings.server.host else settings.server.host
    say(f"listening on http://{host}:{port}/webhook; {counted(len(serving), 'plugin')} "
        f"from {settings.engine.scripts}/ ({names}); {settings.engine.broker} broker; "
        f"journal {settings.engine.database}")
    for file, error in sorted(ops.load_errors().items()):
        say(f"not serving {file}: {error}", WARNING)
    for stray in ops.stray_tables():
        say(f"{path.name}: {stray}", WARNING)
    if ops.paused:
        pause = ops.pause_state()
        say(f"PAUSED by {pause.get('by')}{': ' + pause['reason'] if pause.get('reason') else ''}; "
            "alerts are journaled, not executed, until a resume (the dashboard, POST /api/resume, /resume)",
            WARNING)
    engine = settings.engine
    if engine.broker != "paper" and engine.max_order_volume is None and engine.max_open_positions is None:
        say("no account limits: set engine.max_order_volume and engine.max_open_positions in "
            f"{path} before trading real money (docs/security.md)", WARNING)
    for finding in settings_findings(settings, str(path)):   # as check says them: a trader may never run it
        say(finding, WARNING)
    if not settings.server.api_token:   # fail closed, as without a secret: said, not met as 401s
        say("no server.api_token is set: the API, the dashboard and /metrics refuse everyone, and "
            "`moonhook send` and `status` cannot read the engine. Run `moonhook init` or set MOONHOOK_API_TOKEN.",
            WARNING)
    if not settings.server.secret:
        say("no server.secret is set: every webhook is refused. Run `moonhook init` or set "
            "MOONHOOK_SECRET.", WARNING)
    else:
        if (note := refused_here(settings)) is not None:
            say(note, WARNING)
        say(f"try it: {try_command(path)}")


def refused_here(settings: Settings) -> str | None:
    """What the webhook will answer the ``try it`` line, when ``server.allow_ips`` leaves out the
    address ``moonhook send`` comes from (README: TradingView's addresses alone); else None."""
    from engine.interfaces.web.clients import Gate, address   # the web server's, loaded by run alone

    here = local_host(settings)
    if (found := address(here)) is None or Gate(settings.server.allow_ips, ()).allows(found):
        return None   # a name: where it resolves is not told here
    return (f"server.allow_ips leaves out {here}, where `moonhook send` comes from: the webhook refuses the "
            f'line below (403 address {here} is not allowed); add "{here}" to allow_ips to keep it')


def try_command(path: Path) -> str:
    """The command the banner suggests: ``send`` of TRY_ALERT, with ``--config`` when ``run``
    was given another file than ./moonhook.toml, so that pasted into another terminal in the
    same folder it reaches this engine."""
    program = sys.argv[0] if sys.argv[0].endswith("moonhook") else "moonhook"
    config = "" if path == DEFAULT_CONFIG else f" --config {shlex.quote(str(path))}"
    return f'{program} send{config} "{TRY_ALERT}"'
