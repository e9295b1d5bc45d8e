"""What the bot offers: the commands with what each does, for ``/help`` and for the command
menu Telegram's apps show an admin who types "/" (``setMyCommands``)."""

from __future__ import annotations

HELP = (("/status", "engine, broker, account"), ("/plugins", "plugins and their stats"),
        ("/enable NAME", "switch a plugin on"), ("/disable NAME", "switch a plugin off (a guard: asks first)"),
        ("/pause [REASON]", "journal alerts, execute none"),
        ("/resume", "execute alerts again (asks first when some were held)"),
        ("/positions [SYMBOL]", "open positions, or a symbol's"), ("/orders", "pending orders"),
        ("/trades [DAYS]", "trades closed today, or in the last DAYS"),
        ("/close SYMBOL", "close a symbol (asks first)"), ("/close all", "close everything (asks first)"),
        ("/cancel SYMBOL", "cancel a symbol's pending orders (asks first)"),
        ("/cancel all", "cancel every pending order (asks first)"),
        ("/check ALERT", "what an alert would do now, sending nothing"), ("/help", "this list"))


def _menu() -> tuple[tuple[str, str], ...]:
    """The bot's command menu (setMyCommands): each command once, its arguments before what it does."""
    menu: dict[str, str] = {}
    for command, what in HELP:
        name, _, args = command.partition(" ")
        menu.setdefault(name[1:], f"{args} – {what}" if args else what)
    return tuple(menu.items())


MENU = _menu()
