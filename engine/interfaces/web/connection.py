"""``App``: QuartTrio whose responses cannot be cut short by the client's disconnect message.

quart-trio runs each request as two tasks in one nursery: one reads ASGI messages and cancels
the nursery when ``http.disconnect`` arrives; the other runs the route and sends the answer.
Hypercorn's trio worker delivers ``http.disconnect`` from inside the app's last ``send``: that
call finishes the response, then recycles the keep-alive connection (h11's next cycle, the
reader's ``can_read`` event, the idle timer). The reader task runs at the channel hand-off and
cancels the nursery, so the rest of that bookkeeping is cut off by ``Cancelled``:

- always, the keep-alive idle timer is not restarted, so the connection never times out;
- when the route answered before Hypercorn's reader had passed the request's end to h11 (a POST
  whose body the route does not read), Hypercorn wanted to close the connection and did not;
  the reader then drops the request's end, h11 stays DONE/DONE, and the next request on that
  connection waits for ``can_read`` for ever: never answered.

Each ``send`` of the response therefore runs shielded. Hypercorn already shields its socket
write, so this adds no new way to block; a disconnect still cancels the route at its next
checkpoint outside ``send``. Seen with Quart 0.22, quart-trio 0.12, Hypercorn 0.18.
"""

from __future__ import annotations

import trio
from hypercorn.typing import ASGISendCallable, ASGISendEvent
from quart.wrappers import Request
from quart_trio import QuartTrio
from quart_trio.asgi import TrioASGIHTTPConnection


class ShieldedHTTPConnection(TrioASGIHTTPConnection):
    """quart-trio's HTTP connection with every ``send`` of the answer shielded from the cancel
    that the disconnect message triggers."""

    async def handle_request(self, nursery: trio.Nursery, request: Request,  # type: ignore[override]
                             send: ASGISendCallable) -> None:
        async def shielded(message: ASGISendEvent) -> None:
            with trio.CancelScope(shield=True):
                await send(message)

        await super().handle_request(nursery, request, shielded)


class App(QuartTrio):
    """QuartTrio with ``ShieldedHTTPConnection``; see the module's docstring for why."""

    asgi_http_class = ShieldedHTTPConnection
