"""The Bot API stand-in (botapi.py) served from a thread of its own, for tests that drive ``moonhook run`` as a
subprocess and wait synchronously.

``with threaded_bot_api({TOKEN: "bot_name"}) as api:`` serves on ``api.url`` until the block ends. The stand-in
lives in that thread's Trio run: ``api.call(fn, *args)`` runs ``fn`` there (reads and pushes alike), so the test
never touches its state from another thread; ``api.wait(afn, *args)`` awaits ``afn`` there (``server.start``).
``api.texts(token, chat)``: what the bot sent the chat, as it shows (``shown=True``: edits applied).
``telegram_table(api.url, token, admin)``: the [telegram] table a walk's moonhook.toml is given, pointing at it.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator

import trio

from support.botapi import BotApiServer, bot_api_server, html_plain


class ThreadedBotApi:
    def __init__(self) -> None:
        self.server: BotApiServer | None = None
        self.url = ""
        self._token: trio.lowlevel.TrioToken | None = None
        self._done: trio.Event | None = None
        self._ready = threading.Event()
        self.error: BaseException | None = None

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` run in the stand-in's Trio run; its value."""
        return trio.from_thread.run_sync(fn, *args, trio_token=self._token)

    def wait(self, afn: Callable[..., Any], *args: Any) -> Any:
        """``await afn(*args)`` in the stand-in's Trio run (``server.start``, say); its value."""
        return trio.from_thread.run(afn, *args, trio_token=self._token)

    def texts(self, token: str, chat: int | str, *, shown: bool = False) -> list[str]:
        """The bot's messages to ``chat`` as the chat shows their text (``html_plain``), oldest first: each as
        sent, or with ``shown`` each as it shows now, edits applied."""
        read = self.server.shown if shown else self.server.messages
        return self.call(lambda: [html_plain(m.text) for m in read(token, chat)])

    def _serve(self, tokens: dict[str, str], options: dict[str, Any]) -> None:
        async def main() -> None:
            self._token, self._done = trio.lowlevel.current_trio_token(), trio.Event()
            async with bot_api_server(tokens, **options) as server:
                self.server, self.url = server, server.url
                self._ready.set()
                await self._done.wait()
        try:
            trio.run(main)
        except BaseException as e:  # the test reads it on leaving
            self.error = e
        finally:
            self._ready.set()


@contextmanager
def threaded_bot_api(tokens: dict[str, str], **options: Any) -> Iterator[ThreadedBotApi]:
    api = ThreadedBotApi()
    thread = threading.Thread(target=api._serve, args=(tokens, options), name="bot-api", daemon=True)
    thread.start()
    api._ready.wait(30)
    assert api.server is not None, f"the Bot API stand-in did not start: {api.error!r}"
    try:
        yield api
    finally:
        api.call(api._done.set)
        thread.join(30)
        assert not thread.is_alive() and api.error is None, api.error


def telegram_table(api_url: str, token: str, admin: int, *, chats: Iterable[Any] | None = None,
                   more: str = "") -> str:
    """moonhook.toml's [telegram] table for a walk: the Bot API at ``api_url`` (the stand-in's ``url``),
    ``admin`` its one admin, and one bot, ``token``, telling ``chats`` (TOML values; default: the admin's
    chat). ``more``: further lines of the table, each ending with a newline."""
    told = ", ".join(map(str, (admin,) if chats is None else chats))
    return (f'[telegram]\napi_url = "{api_url}"\nadmins = [{admin}]\n{more}'
            f'[[telegram.bots]]\ntoken = "{token}"\nchats = [{told}]')
