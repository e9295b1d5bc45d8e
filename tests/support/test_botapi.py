"""The Bot API stand-in (tests/support/botapi.py), exercised through real HTTP with httpx."""

from __future__ import annotations

import httpx
import pytest
import trio

from support.botapi import CONFLICT, bot_api_server
from support.ports import held
from support.waits import until

TOKEN = "123456:ABC-test"
OTHER = "654321:XYZ-test"
BLOCKED = 666


@pytest.fixture
async def api():
    async with bot_api_server({TOKEN: "bot_one", OTHER: "bot_two"}, blocked={BLOCKED}) as server:
        yield server


@pytest.fixture
async def client(api):
    async with httpx.AsyncClient(base_url=api.url, timeout=5) as client:
        yield client


async def call(client: httpx.AsyncClient, method: str, token: str = TOKEN, **params) -> httpx.Response:
    return await client.post(f"/bot{token}/{method}", json=params)


def error(response: httpx.Response) -> tuple[int, int, str]:
    body = response.json()
    assert body["ok"] is False
    return response.status_code, body["error_code"], body["description"]


async def test_get_me_and_send_message_are_answered_and_recorded(api, client):
    me = (await call(client, "getMe")).json()
    assert me["ok"] is True
    assert me["result"]["id"] == 123456 and me["result"]["is_bot"] is True
    assert me["result"]["username"] == "bot_one"

    markup = {"inline_keyboard": [[{"text": "Close", "callback_data": "close:1"}]]}
    answer = await call(client, "sendMessage", chat_id=42, text="hello", reply_markup=markup,
                        disable_notification=True)
    assert answer.status_code == 200
    message = answer.json()["result"]
    assert message["message_id"] == 1 and message["text"] == "hello"
    assert message["chat"] == {"id": 42, "type": "private"}
    assert message["reply_markup"] == markup and isinstance(message["date"], int)

    # form-encoded POST and GET query parameters, the chat id given as a string, a method name in other case
    form = await client.post(f"/bot{TOKEN}/sendMessage", data={"chat_id": "42", "text": "form"})
    query = await client.get(f"/bot{TOKEN}/SENDMESSAGE", params={"chat_id": "-100", "text": "query"})
    assert form.status_code == query.status_code == 200
    assert query.json()["result"]["chat"] == {"id": -100, "type": "group"}
    await call(client, "sendMessage", OTHER, chat_id=42, text="from the other bot")

    first, second, third = api.messages(TOKEN)
    assert (first.token, first.chat_id, first.text, first.parse_mode) == (TOKEN, 42, "hello", None)
    assert first.reply_markup == markup and first.disable_notification is True
    assert (second.chat_id, second.text, second.message_id) == (42, "form", 2)
    assert (third.chat_id, third.text) == (-100, "query")
    assert first.at <= second.at <= third.at <= trio.current_time()
    assert [m.text for m in api.messages(chat=42)] == ["hello", "form", "from the other bot"]
    assert [m.text for m in api.messages(OTHER)] == ["from the other bot"]
    assert [(r.method, r.status) for r in api.calls(token=TOKEN)] == [
        ("getMe", 200), ("sendMessage", 200), ("sendMessage", 200), ("SENDMESSAGE", 200)]


async def test_text_must_be_1_to_4096_characters(api, client):
    assert (await call(client, "sendMessage", chat_id=1, text="é" * 4096)).status_code == 200
    too_long = await call(client, "sendMessage", chat_id=2, text="x" * 4097)
    assert error(too_long) == (400, 400, "Bad Request: message is too long")
    for params in ({"text": ""}, {"text": "   "}, {}):
        empty = await call(client, "sendMessage", chat_id=3, **params)
        assert error(empty) == (400, 400, "Bad Request: message text is empty")
    # the limit counts UTF-16 code units, as Telegram does: an emoji outside the BMP counts 2
    assert (await call(client, "sendMessage", chat_id=4, text="🟢" * 2048)).status_code == 200
    assert error(await call(client, "sendMessage", chat_id=5, text="🟢" * 2048 + "x")) == (
        400, 400, "Bad Request: message is too long")
    no_chat = await call(client, "sendMessage", text="where to?")
    assert error(no_chat) == (400, 400, "Bad Request: chat_id is empty")
    assert [m.chat_id for m in api.messages()] == [1, 4]


async def test_markdown_v2_needs_reserved_characters_escaped(api, client):
    for text, wrong in [("EURUSD 1.0850", "."), ("buy (0.1 lot)", "("), ("P&L +5", "+"), ("a-b", "-"),
                        ("[link](http://x)", "[")]:
        refused = await call(client, "sendMessage", chat_id=1, text=text, parse_mode="MarkdownV2")
        status, code, description = error(refused)
        assert (status, code) == (400, 400)
        assert description.startswith("Bad Request: can't parse entities: ")
        assert f"Character '{wrong}' is reserved" in description
    unclosed = await call(client, "sendMessage", chat_id=1, text="\\. *bold", parse_mode="MarkdownV2")
    assert error(unclosed)[2] == "Bad Request: can't parse entities: Can't find end of Bold entity at byte offset 3"
    assert api.messages() == []

    text = "*EURUSD* buy 1\\.0850 \\(0\\.1\\) _now_ __u__ ~s~ ||sp|| `code.x()` \\#1 \\\\"
    accepted = await call(client, "sendMessage", chat_id=1, text=text, parse_mode="MarkdownV2")
    assert accepted.status_code == 200
    assert accepted.json()["result"]["text"] == "EURUSD buy 1.0850 (0.1) now u s sp code.x() #1 \\"
    assert [(m.text, m.parse_mode) for m in api.messages()] == [(text, "MarkdownV2")]
    # the 4096 limit counts the text after entity parsing
    assert (await call(client, "sendMessage", chat_id=1, text="*" + "x" * 4096 + "*",
                       parse_mode="MarkdownV2")).status_code == 200


async def test_html_and_parse_mode_checks(client):
    ok = await call(client, "sendMessage", chat_id=1, text="<b>buy</b> 1 &lt; 2", parse_mode="HTML")
    assert ok.json()["result"]["text"] == "buy 1 < 2"
    for text in ("<foo>x</foo>", "<b>x", "a < b", "<b>x</i>"):
        assert error(await call(client, "sendMessage", chat_id=1, text=text, parse_mode="HTML"))[0] == 400
    bad_mode = await call(client, "sendMessage", chat_id=1, text="x", parse_mode="Textile")
    assert error(bad_mode) == (400, 400, "Bad Request: unsupported parse_mode")


async def test_unknown_token_method_and_blocked_chat(api, client):
    assert error(await call(client, "sendMessage", "999:nope", chat_id=1, text="x")) == (401, 401, "Unauthorized")
    assert error(await call(client, "sendRocket")) == (404, 404, "Not Found")
    blocked = await call(client, "sendMessage", chat_id=BLOCKED, text="x")
    assert error(blocked) == (403, 403, "Forbidden: bot was blocked by the user")
    assert api.messages() == []
    assert [r.status for r in api.calls()] == [401, 404, 403]


async def test_a_group_upgraded_to_a_supergroup_answers_400_with_its_new_id():
    # Bot API: ResponseParameters.migrate_to_chat_id, "the group has been migrated to a
    # supergroup with the specified identifier"; the old id is refused, the new one works.
    async with bot_api_server({TOKEN: "bot_one"}, migrated={-4001: -1001000004001}) as api, \
            httpx.AsyncClient(base_url=api.url, timeout=5) as client:
        refused = await call(client, "sendMessage", chat_id=-4001, text="x")
        assert refused.status_code == 400 and refused.json() == {
            "ok": False, "error_code": 400, "description": "Bad Request: group chat was upgraded to a supergroup chat",
            "parameters": {"migrate_to_chat_id": -1001000004001}}
        moved = await call(client, "sendMessage", chat_id=-1001000004001, text="x")
        assert moved.json()["result"]["chat"] == {"id": -1001000004001, "type": "supergroup"}
        assert [m.chat_id for m in api.messages()] == [-1001000004001]


async def test_per_chat_burst_then_429_and_a_penalty_for_the_whole_bot(mock_clock):
    # Counted on the stand-in's clock (trio's), which moves only when told: on real time a loaded machine
    # spaced the burst's four sends past a quarter of a second and the chat's bucket had a token for the fourth.
    async with bot_api_server({TOKEN: "bot_one", OTHER: "bot_two"}, chat_burst=3, chat_per_second=4) as api, \
            httpx.AsyncClient(base_url=api.url) as client:
        for n in range(3):
            assert (await call(client, "sendMessage", chat_id=1, text=f"burst {n}")).status_code == 200
        refused = await call(client, "sendMessage", chat_id=1, text="one too many")
        assert refused.status_code == 429
        assert refused.json() == {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
                                  "parameters": {"retry_after": 1}}
        penalised = await call(client, "sendMessage", chat_id=2, text="another chat, same bot")
        assert penalised.status_code == 429 and penalised.json()["parameters"]["retry_after"] == 1
        assert (await call(client, "sendMessage", OTHER, chat_id=1, text="other bot")).status_code == 200
        assert (api.rate_limited(TOKEN), api.rate_limited(OTHER)) == (2, 0)
        assert len(api.messages(TOKEN)) == 3

        mock_clock.jump(1.05)  # retry_after has passed
        assert (await call(client, "sendMessage", chat_id=2, text="after the wait")).status_code == 200
        assert (await call(client, "sendMessage", chat_id=1, text="refilled")).status_code == 200
        assert [m.text for m in api.messages(TOKEN)][3:] == ["after the wait", "refilled"]
        assert api.rate_limited(TOKEN) == 2


async def test_group_and_overall_limits(mock_clock):
    # The stand-in's clock (trio's) stands still: the limits are counted in its time, whatever the machine's load
    # (on real time a loaded machine spaced the sends apart and the buckets refilled between them).
    async with bot_api_server({TOKEN: "bot_one", OTHER: "bot_two"}, chat_burst=100, chat_per_second=100,
                              group_per_minute=3, per_second=5) as api, \
            httpx.AsyncClient(base_url=api.url) as client:
        for n in range(3):
            assert (await call(client, "sendMessage", chat_id=-500, text=f"group {n}")).status_code == 200
        refused = await call(client, "sendMessage", chat_id=-500, text="fourth in a minute")
        assert refused.status_code == 429
        assert refused.json()["parameters"] == {"retry_after": 20}  # 3 per minute: one more in 20 s
        assert refused.json()["description"] == "Too Many Requests: retry after 20"

        for chat in range(1, 6):  # the other bot: 5 per second overall, over distinct private chats
            assert (await call(client, "sendMessage", OTHER, chat_id=chat, text="x")).status_code == 200
        overall = await call(client, "sendMessage", OTHER, chat_id=6, text="sixth in a second")
        assert overall.status_code == 429 and overall.json()["parameters"]["retry_after"] == 1
        assert (api.rate_limited(TOKEN), api.rate_limited(OTHER)) == (1, 1)


async def test_get_updates_long_poll_returns_an_injected_update_promptly_and_honours_offset(api, client):
    assert (await call(client, "getUpdates", timeout=0)).json() == {"ok": True, "result": []}
    results = []

    async def poll():  # a long poll of 30 s
        answer = await client.post(f"/bot{TOKEN}/getUpdates", json={"timeout": 30}, timeout=60)
        results.append((answer.json(), trio.current_time()))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(poll)
        await until(lambda: api.calls("getUpdates")[-1].status is None and len(api.calls("getUpdates")) == 2)
        assert results == []  # held open while there is nothing to deliver
        pushed = trio.current_time()
        api.push_message(TOKEN, 42, "/status EURUSD", user_id=7, username="alice")
    (body, answered), = results
    # The update, pushed while the poll was held, ends it: promptly, not at its timeout (30 s;
    # 10 s leave a busy machine room).
    assert answered - pushed < 10
    update, = body["result"]
    assert update["update_id"] == 1
    message = update["message"]
    assert (message["text"], message["from"]["id"]) == ("/status EURUSD", 7)
    assert message["chat"] == {"id": 42, "type": "private"}
    assert message["entities"] == [{"type": "bot_command", "offset": 0, "length": 7}]

    # not confirmed yet: delivered again; offset = last update_id + 1 confirms it
    assert [u["update_id"] for u in (await call(client, "getUpdates")).json()["result"]] == [1]
    await call(client, "sendMessage", chat_id=42, text="Close?", reply_markup={"inline_keyboard": []})
    pushed = api.push_callback(TOKEN, 42, "close:1", user_id=7)
    result = (await call(client, "getUpdates", offset=2)).json()["result"]
    assert result == [pushed] and result[0]["update_id"] == 2
    query = result[0]["callback_query"]
    assert query["data"] == "close:1" and query["message"]["text"] == "Close?"
    assert (await call(client, "getUpdates", offset=3)).json()["result"] == []
    assert (await call(client, "getUpdates", offset=0)).json()["result"] == []  # 1 and 2 were dropped

    answered = await call(client, "answerCallbackQuery", callback_query_id=query["id"], text="closed")
    assert answered.json() == {"ok": True, "result": True}
    assert api.answered == [{"callback_query_id": query["id"], "text": "closed"}]
    assert error(await call(client, "answerCallbackQuery", callback_query_id="nope"))[0] == 400

    # allowed_updates filters, limit caps, and the other bot's queue is separate
    api.push_message(TOKEN, 42, "text")
    api.push_callback(TOKEN, 42, "button")
    api.push_message(OTHER, 9, "to the other bot")
    only = (await call(client, "getUpdates", offset=3, allowed_updates=["callback_query"])).json()["result"]
    assert [u["update_id"] for u in only] == [4]
    both = (await call(client, "getUpdates", offset=3, allowed_updates=[], limit=1)).json()["result"]
    assert [u["update_id"] for u in both] == [3]
    assert [u["message"]["text"] for u in (await call(client, "getUpdates", OTHER)).json()["result"]] == [
        "to the other bot"]


async def test_updates_numbered_anew_come_from_the_head_to_an_offset_in_the_future_until_confirmed(api, client):
    # After a week without updates Telegram numbers them from a random id: an offset asked for before is
    # "in the future" of its queue, which answers from its head and confirms nothing (telegram-bot-api's TQueue).
    api.renumber(TOKEN, 5_000)
    api.push_message(TOKEN, 42, "/pause")
    assert [u["update_id"] for u in (await call(client, "getUpdates", offset=5_001)).json()["result"]] == []
    api.renumber(TOKEN, 1_000)                       # a quiet week: numbered anew, below the offset
    pushed = api.push_message(TOKEN, 42, "/resume")
    for _ in range(2):                               # not confirmed by the offset asked for
        assert (await call(client, "getUpdates", offset=5_001)).json()["result"] == [pushed]
    assert (await call(client, "getUpdates", offset=1_000)).json()["result"] == [pushed]
    assert (await call(client, "getUpdates", offset=1_001)).json()["result"] == []        # confirmed


async def test_a_second_poll_terminates_the_pending_one_with_409(api, client):
    answers = {}

    async def poll(name):  # long polls of 30 s
        answer = await client.post(f"/bot{TOKEN}/getUpdates", json={"timeout": 30}, timeout=60)
        answers[name] = (answer, trio.current_time())

    # Each poll ends promptly, by the event it waits for, not at its timeout (30 s; 10 s
    # leave a busy machine room).
    async with trio.open_nursery() as nursery:
        nursery.start_soon(poll, "first")
        await until(lambda: len(api.calls("getUpdates")) == 1)
        polled = trio.current_time()
        nursery.start_soon(poll, "second")
        await until(lambda: "first" in answers)
        first, answered = answers["first"]
        assert error(first) == (409, 409, CONFLICT) and answered - polled < 10
        assert "second" not in answers  # still holding
        pushed = trio.current_time()
        api.push_message(TOKEN, 1, "hi")
    second, answered = answers["second"]
    assert second.status_code == 200 and second.json()["result"][0]["message"]["text"] == "hi"
    assert answered - pushed < 10


async def test_stop_then_start_on_the_same_port_keeps_records(api, client):
    url = api.url
    assert (await call(client, "sendMessage", chat_id=1, text="before")).status_code == 200
    cut = []

    async def poll():
        try:
            await call(client, "getUpdates", timeout=5)
        except httpx.TransportError as exc:
            cut.append(exc)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(poll)
        await until(lambda: len(api.calls("getUpdates")) == 1)
        api.stop()
        with pytest.raises(httpx.ConnectError):
            await call(client, "sendMessage", chat_id=1, text="during the outage")
    assert len(cut) == 1  # the open long poll was cut
    api.push_message(TOKEN, 1, "sent during the outage")

    await api.start()
    assert api.url == url
    assert (await call(client, "sendMessage", chat_id=1, text="after")).status_code == 200
    assert [(m.text, m.message_id) for m in api.messages()] == [("before", 1), ("after", 3)]
    updates = (await call(client, "getUpdates", timeout=5)).json()["result"]
    assert [(u["update_id"], u["message"]["text"]) for u in updates] == [(1, "sent during the outage")]
    assert [r.method for r in api.calls()] == ["sendMessage", "getUpdates", "sendMessage", "getUpdates"]
    api.stop()
    await api.start()
    assert api.url == url and (await call(client, "getMe")).status_code == 200


async def test_a_stopped_stand_in_holds_its_port_for_its_next_start(api, client):
    # It closed its socket at a stop and bound the port again at the start: another process
    # could take the port meanwhile ("address in use" at the start, or its answers for Telegram's).
    api.stop()
    assert held(api.port)
    with pytest.raises(httpx.ConnectError):   # an outage still: refused
        await call(client, "getMe")
    await api.start()
    assert (await call(client, "getMe")).status_code == 200


async def test_hang_mode_holds_send_message_until_released(api, client):
    api.hang()
    with pytest.raises(httpx.ReadTimeout):
        await client.post(f"/bot{TOKEN}/sendMessage", json={"chat_id": 1, "text": "lost"}, timeout=0.2)
    answers = []

    async def send():
        answers.append(await call(client, "sendMessage", chat_id=1, text="held"))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(send)
        await until(lambda: len(api.calls("sendMessage")) == 2)
        # The server records a request and runs its method in one step: one not held would be
        # answered and its message recorded by now.
        assert api.calls("sendMessage")[-1].status is None and api.messages() == [] and answers == []
        assert (await call(client, "getMe")).status_code == 200  # only sendMessage hangs
        api.release()
    assert answers[0].status_code == 200
    # the request whose answer the client never saw was delivered too, as Telegram may do
    assert sorted(m.text for m in api.messages()) == ["held", "lost"]


async def test_fail_mode_answers_5xx_until_recovered(api, client):
    api.fail(502)
    assert error(await call(client, "getMe")) == (502, 502, "Bad Gateway")
    assert error(await call(client, "sendMessage", chat_id=1, text="x"))[0] == 502
    api.recover()
    assert (await call(client, "sendMessage", chat_id=1, text="x")).status_code == 200
    assert len(api.messages()) == 1


async def test_fail_mode_can_deliver_a_message_before_answering_5xx(api, client):
    api.fail(502, delivered=True)
    assert error(await call(client, "sendMessage", chat_id=1, text="arrived")) == (502, 502, "Bad Gateway")
    assert error(await call(client, "getMe"))[0] == 502
    api.recover()
    assert (await call(client, "sendMessage", chat_id=1, text="answered")).status_code == 200
    assert [m.text for m in api.messages()] == ["arrived", "answered"]


async def test_a_flood_can_ask_back_too_soon_and_ends_at_recover(api, client):
    api.flood(3600, retry_after=1)
    for _ in range(2):
        flooded = await call(client, "sendMessage", chat_id=1, text="flooded")
        assert flooded.status_code == 429 and flooded.json()["parameters"]["retry_after"] == 1
    api.recover()
    assert (await call(client, "sendMessage", chat_id=1, text="after")).status_code == 200
    assert [m.text for m in api.messages()] == ["after"]


async def test_edit_message_text(api, client):
    sent = (await call(client, "sendMessage", chat_id=5, text="Close EURUSD?")).json()["result"]
    edited = await call(client, "editMessageText", chat_id=5, message_id=sent["message_id"], text="*Closed*",
                        parse_mode="MarkdownV2")
    assert edited.status_code == 200
    assert edited.json()["result"]["text"] == "Closed" and "edit_date" in edited.json()["result"]
    same = await call(client, "editMessageText", chat_id=5, message_id=sent["message_id"], text="*Closed*",
                      parse_mode="MarkdownV2")
    assert error(same)[2].startswith("Bad Request: message is not modified")
    missing = await call(client, "editMessageText", chat_id=5, message_id=99, text="x")
    assert error(missing) == (400, 400, "Bad Request: message to edit not found")
    assert [(m.message_id, m.text) for m in api.edits] == [(sent["message_id"], "*Closed*")]
    assert [m.text for m in api.messages()] == ["Close EURUSD?"]


async def test_lost_answers_flood_and_refusals_for_good():
    async with bot_api_server({TOKEN: "bot_one"}, missing={404}) as api, \
            httpx.AsyncClient(base_url=api.url, timeout=5) as client:
        api.lose_answers()   # carried out, answered only on release
        with pytest.raises(httpx.ReadTimeout):
            await client.post(f"/bot{TOKEN}/sendMessage", json={"chat_id": 1, "text": "arrived"}, timeout=0.2)
        # Waited for: the client's 0.2 s can run out, on a busy machine, before the stand-in has read the request.
        await until(lambda: [m.text for m in api.messages()] == ["arrived"])
        api.release()
        assert (await call(client, "sendMessage", chat_id=1, text="answered")).status_code == 200

        assert error(await call(client, "sendMessage", chat_id=404, text="x")) == (400, 400,
                                                                                  "Bad Request: chat not found")
        api.refuse("bad", "Bad Request: can't parse entities: stand-in")
        assert error(await call(client, "sendMessage", chat_id=1, text="a bad one"))[2].startswith("Bad Request: can't")
        api.flood(60)
        flooded = await call(client, "sendMessage", chat_id=1, text="flooded")
        assert flooded.status_code == 429 and 1 <= flooded.json()["parameters"]["retry_after"] <= 60
        assert [m.text for m in api.messages()] == ["arrived", "answered"]
