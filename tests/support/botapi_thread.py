"""The Bot API stand-in (botapi.py) served from a thread of its own, for tests that drive ``moonhook run`` as a
subprocess and wait synchronously.

``with threaded_bot_api({TOKEN: "bot_name"}) as api:`` serves on ``api.url`` until the block ends. The stand-in
lives in that thread's Trio run: ``api.call(fn, *args)`` runs ``fn`` there (reads and pushes alike), so the test
never touches its state from another thread; ``api.wait(afn, *args)`` awaits ``afn`` there (``server.start``).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import trio

from support.botapi import BotApiServer, bot_api_server


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
