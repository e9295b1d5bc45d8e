"""A local stand-in for Telegram's Bot API server, for tests: real HTTP (h11 on trio sockets) on 127.0.0.1.

``async with bot_api_server({"123:ABC": "bot_one"}) as server:`` serves ``{server.url}/bot{TOKEN}/{method}`` in
the caller's Trio run (its own nursery; no threads). ``server.stop()`` refuses connections at once and cuts open
requests; ``await server.start()`` serves again on the same port, which the stand-in holds meanwhile
(``support/ports.py``: no other process can take it during the outage). Records and pending updates survive.

Reproduced: POST with a JSON or form body, or GET query parameters; method names in any case; answers
``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N, "description": ...}`` with HTTP status N;
401 "Unauthorized" (unknown token), 404 "Not Found" (unknown method). ``getMe``. ``sendMessage``: text of 1..4096
characters after entity parsing, counted as Telegram counts them, in UTF-16 code units (an emoji outside the BMP
is 2), ``parse_mode`` MarkdownV2 / HTML / Markdown, 403 for the ``blocked`` chats, a
Message object back; to a group in ``migrated`` ({group id: supergroup id}: a group upgraded to a supergroup)
400 "Bad Request: group chat was upgraded to a supergroup chat" with ``parameters.migrate_to_chat_id``, the
supergroup's id, where the message is to be sent instead. ``editMessageText`` (with the real "not found" / "not modified" 400s),
``answerCallbackQuery``. ``getUpdates`` long polling: ``offset`` (positive confirms the earlier
updates, negative keeps the last -offset; one more than 10 past the id the next update gets is "in the future",
and the answer comes from the head of the queue, confirming nothing, as telegram-bot-api's TQueue does), ``limit``,
``timeout``, ``allowed_updates`` (remembered between calls); ``renumber`` numbers the next updates anew, as
Telegram does after a week without any;
a newer getUpdates terminates the pending one, which gets 409 "Conflict: terminated by other getUpdates request;
..." (the real server's behaviour, by its wording and users' reports). Flood limits per token, token buckets on
trio's clock (real time under the default clock): overall (``per_second``), per chat (``chat_burst`` refilled at
``chat_per_second``), per group (negative chat id, ``group_per_minute``). Over a limit: 429 "Too Many Requests:
retry after N", ``parameters.retry_after`` N (whole seconds, >= 1); the bot's sends to any chat then get 429 until
those N seconds have passed.

Simplified or not reproduced: MarkdownV2 knows ``*bold*``, ``_italic_``, ``__underline__``, ``~strike~``,
``||spoiler||`` and code (inline or ``` blocks, whose content needs no escaping); every other reserved character
``_*[]()~`>#+-=|{}.!`` must be escaped, so links, mentions and quotes are refused, and nesting is not checked.
HTML: only stray '<', unknown and unbalanced tags are refused. Legacy Markdown is not checked. ``setWebhook`` / ``deleteWebhook`` and ``setMyCommands`` are recorded (``webhook(token)``; getUpdates then
answers 409) but the server never calls the URL. No media or other methods; only sendMessage is rate limited; the limits
are the folklore numbers (Telegram publishes none); only the ``missing`` chats are "not found"; a client that drops a
long poll is not noticed (its poll simply ends at its timeout or when a newer poll terminates it).

For tests: ``messages(token, chat)``, ``shown(token, chat)`` (edits applied), ``calls(method, token)``, ``requests``
(each with its parameters, a held one's too), ``rate_limited(token)``, ``edits``, ``answered``;
``push_message`` / ``push_edit`` (a user's edit of their message) / ``push_callback`` queue updates;
``hang()`` / ``release()`` hold sendMessage unanswered;
``fail(status)`` / ``recover()`` answer every request with a 5xx (``delivered=True``: each sendMessage
carried out first); ``lose_answers()`` takes each sendMessage (recorded:
the message arrived) and withholds its answer until ``release()`` or the connection is cut; ``flood(seconds)`` gives
every bot's sends 429 with that retry_after (or a shorter one: ``retry_after``; ``recover()`` ends it);
``refuse(fragment, description)`` refuses for good (400) every sendMessage whose text holds ``fragment``.

Its parts: this module serves it over HTTP (and re-exports what tests import); botapi_methods.py answers the Bot
API's methods; botapi_model.py holds the records, the queued updates and the switches; botapi_text.py the error
answer and the parsing of a message's entities.
"""

from __future__ import annotations

import json
import re
import socket
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any, AsyncIterator
from urllib.parse import parse_qsl, unquote

import h11
import trio

from support.botapi_methods import BotApiMethods
from support.botapi_model import Request, Sent
from support.botapi_text import CONFLICT, NOT_MODIFIED, ApiError, html_plain, markdown_v2_plain
from support.ports import held_socket

__all__ = ["CONFLICT", "NOT_MODIFIED", "ApiError", "BotApiServer", "Request", "Sent", "bot_api_server", "html_plain",
           "markdown_v2_plain"]


class BotApiServer(BotApiMethods):
    """The stand-in served over HTTP on 127.0.0.1, in the caller's nursery: ``bot_api_server`` makes one."""

    def __init__(self, nursery: trio.Nursery, tokens: dict[str, str], **options: Any) -> None:
        super().__init__(tokens, **options)
        self._nursery, self.port = nursery, 0
        self._scope, self._serving, self._sockets = trio.CancelScope(), False, set()
        self._listener: trio.socket.SocketType | None = None   # bound at the first start, held until close_port
        self._stopped = trio.Event()
        self._stopped.set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- HTTP ----------------------------------------------------------------------------------------------------
    async def _answer(self, request: h11.Request, body: bytes) -> tuple[int, dict]:
        path, _, query = request.target.decode("latin-1").partition("?")
        if not (match := re.fullmatch(r"/bot([^/]+)/(\w+)", path)):
            return 404, ApiError(404, "Not Found").payload
        record = Request(unquote(match[1]), match[2], trio.current_time())
        self.requests.append(record)
        try:
            if self._failing and not (self._failing_delivered and record.method.lower() == "sendmessage"):
                raise self._failure()
            if (bot := self._bots.get(record.token)) is None:
                raise ApiError(401, "Unauthorized")
            handler = self._handler(record.method)
            if handler is None:
                raise ApiError(404, "Not Found")
            params = dict(parse_qsl(query))
            kind = dict(request.headers).get(b"content-type", b"")
            if body and kind.startswith(b"application/json"):
                try:
                    params.update(json.loads(body))
                except (ValueError, TypeError):
                    raise ApiError(400, "Bad Request: can't parse JSON object") from None
            elif body and kind.startswith(b"application/x-www-form-urlencoded"):
                params.update(parse_qsl(body.decode()))
            record.params = params
            status, payload = 200, {"ok": True, "result": await handler(bot, params)}
            if self._failing:   # delivered, and answered as failed all the same
                raise self._failure()
        except ApiError as error:
            status, payload = error.code, error.payload
        record.status = status
        return status, payload

    def _failure(self) -> ApiError:
        return ApiError(self._failing, next((s.phrase for s in HTTPStatus if s == self._failing), "Server Error"))

    async def _connection(self, stream: trio.SocketStream) -> None:
        conn = h11.Connection(h11.SERVER)
        self._sockets.add(stream.socket)

        async def next_event():
            while (event := conn.next_event()) is h11.NEED_DATA:
                conn.receive_data(await stream.receive_some(65536))
            return event

        try:
            while isinstance(request := await next_event(), h11.Request):
                body = b""
                while isinstance(part := await next_event(), h11.Data):
                    body += part.data
                status, payload = await self._answer(request, body)
                data = json.dumps(payload).encode()
                headers = [("content-type", "application/json"), ("content-length", str(len(data)))]
                for event in (h11.Response(status_code=status, headers=headers), h11.Data(data), h11.EndOfMessage()):
                    await stream.send_all(conn.send(event))
                if conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    break
                conn.start_next_cycle()
        except (trio.BrokenResourceError, trio.ClosedResourceError, h11.ProtocolError):
            pass
        finally:
            self._sockets.discard(stream.socket)
            await stream.aclose()

    async def _serve(self, *, task_status=trio.TASK_STATUS_IGNORED) -> None:
        self._stopped = trio.Event()
        try:
            with self._scope:
                if self._listener is None:
                    self._listener = trio.socket.from_stdlib_socket(held_socket())
                    self.port = self._listener.getsockname()[1]
                self._listener.listen(128)
                task_status.started()
                try:
                    await self._accept(trio.SocketListener(self._listener))
                except* trio.ClosedResourceError:
                    pass  # stop() closed the listener under an accept that was already under way
        finally:
            self._stopped.set()

    async def _accept(self, listener: trio.SocketListener) -> None:
        """Takes connections until cancelled; not ``trio.serve_listeners``, which closes its listeners."""
        async with trio.open_nursery() as connections:
            while True:
                connections.start_soon(self._connection, await listener.accept())

    async def start(self) -> None:
        """Serves (again) on ``self.port``; the first start picks a free port."""
        if self._serving:
            raise RuntimeError("the Bot API stand-in is already serving")
        await self._stopped.wait()  # the previous run has let go of the port
        self._scope, self._serving = trio.CancelScope(), True
        try:
            await self._nursery.start(self._serve)
        except BaseException:
            self._serving = False
            raise

    def stop(self) -> None:
        """Stops serving now: the port refuses connections, open requests are cut. Records are kept,
        and the port: a ``start`` serves on it again."""
        self._serving = False
        self._scope.cancel()   # first: the accept waiting on the listener is cancelled, never failed
        if self._listener is not None:
            try:
                self._listener.shutdown(socket.SHUT_RDWR)   # no longer listening; still bound
            except OSError:   # not listening yet (a start that failed)
                pass
        for sock in list(self._sockets):
            sock.close()
        self._sockets.clear()

    def close_port(self) -> None:
        """Lets the port go, for good (the stand-in's end)."""
        if self._listener is not None:
            self._listener.close()


@asynccontextmanager
async def bot_api_server(tokens: dict[str, str], **options: Any) -> AsyncIterator[BotApiServer]:
    """A ``BotApiServer`` for ``tokens`` ({token: bot username}) serving on 127.0.0.1, on a free port it holds."""
    async with trio.open_nursery() as nursery:
        server = BotApiServer(nursery, tokens, **options)
        await server.start()
        try:
            yield server
        finally:
            server.stop()
            server.close_port()
