"""Admin commands from Telegram: what each does to the engine, and the short answer it gets.

``await Commands(engine, admins, command_chats=groups).handle(update)`` takes one update (from
getUpdates or the webhook) and returns the replies to send; sending them is the caller's
(``updates.send_reply``). Only admins (user ids) are obeyed, in their private chat with the bot
or in a listed group (access.py); anyone else gets nothing and the attempt is logged. A command
addressed to another bot (``/pause@other_bot``, seen in a group where the bot reads everything)
is not for us and is ignored (message.py). A command queued while moonhook was down (older
than ``max_age``) is refused rather than run late, and neither ``/close``, ``/cancel`` nor the
``/disable`` of a guard acts at once: each shows what it would do and acts on a button press,
or on the same command sent again after the question, by the admin who asked, within
``confirm_seconds`` (confirm.py); a button press is buttons.py's.

Answers are HTML (parse_mode HTML), tables in ``<pre>`` at most about 32 characters wide so a
phone shows them without wrapping; every engine or user text in them is escaped.
"""

from __future__ import annotations

import logging
import time
from functools import partial
from typing import Any, Callable, Iterable

from engine.domain.alerts import AlertError, without_secrets
from engine.app.operations import HeldChanged, NotLoaded, Operations
from engine.interfaces.telegram.buttons import ButtonPresses
from engine.interfaces.telegram.access import ALLOWED, STRANGER, Access
from engine.interfaces.telegram.confirm import NO, Question, Questions
from engine.interfaces.telegram import resume
from engine.interfaces.telegram.check import check_answer
from engine.interfaces.telegram.positions import positions_answer
from engine.interfaces.telegram.menu import HELP
from engine.interfaces.telegram.reply import Reply
from engine.interfaces.telegram.message import as_dict as _dict, command_of as _parse, forwarded as _forwarded
from engine.interfaces.telegram.message import is_date as _is_number, Seen
from engine.interfaces.telegram.message import is_id as _is_id, is_int as _is_int, loggable as _loggable, who as _who
from engine.interfaces.telegram.tables import MAX_ROWS as _MAX_ROWS, no_plugin, plugins_text as _plugins_text
from engine.interfaces.telegram.tables import ago as _ago, cut as _cut, escape as _e, status_text
from engine.interfaces.telegram.tables import none_ours as _none_ours, order_table as _order_table
from engine.interfaces.telegram.tables import position_table as _position_table, results_lines as _results_lines
from engine.interfaces.telegram.tables import results_text as _results_text, trades_text as _trades_text

log = logging.getLogger("moonhook.telegram")

PLUGIN = "telegram"          # the orders' plugin: what the ledger and on_order hooks see
# on_order runs in every plugin except the one named ``origin`` (the order's author). No plugin
# can be named "telegram:/close" (names are a letter, then letters, digits, _ or -): all see it.
ORIGIN = "telegram:/{}"
_NOT_HERE = "Commands are not taken in this chat: write to me privately."
_FORWARDED = "A forwarded command is not obeyed: type it, or tap it in the menu."
_ANONYMOUS = ("Sent anonymously: who sent it cannot be told, so it is not obeyed. Turn off Remain anonymous "
              "in your admin rights to command here, or write to me privately.")
UNLOGGED = {"check"}        # its argument is an alert, which may hold the webhook's secret: never logged or quoted


class Commands(ButtonPresses):
    """Obeys the ``admins`` (user ids) in their private chats and in the ``command_chats``
    (groups); ids are compared as text. ``clock`` is wall time, as Telegram's message dates are.
    ``secrets`` (the bots' tokens, Telegram's webhook secret), with the operations' (the webhook's
    secret, the API token), are written ``***`` in what a command is given (a token pasted by
    mistake is no pause's reason) and in the log."""

    def __init__(self, ops: Operations, admins: Iterable[int | str], *, command_chats: Iterable[int | str] = (),
                 confirm_seconds: float = 30.0, max_age: float = 120.0, clock: Callable[[], float] = time.time,
                 secrets: Iterable[str | None] = ()):
        self._ops = ops
        self._secrets = tuple(s for s in (*ops.secrets, *secrets) if s)
        self._access = Access(admins, command_chats)
        self._confirm = confirm_seconds
        self._max_age = max_age
        self._clock = clock
        self._questions = Questions(confirm_seconds, clock)
        self._seen_before = Seen()   # a message seen twice (through two of our bots) runs once

    def answer_time(self, update: Any) -> float:
        """How long the answers to ``update`` may still be sent: ``max_age`` less the command's age
        (the whole of it for an update without a date: a button press)."""
        message = update.get("message") if isinstance(update, dict) else None
        date = message.get("date") if isinstance(message, dict) else None
        return self._max_age - (self._age(date) if _is_number(date) else 0.0)

    def _age(self, date: float) -> float:
        return max(0.0, self._clock() - date)

    async def handle(self, update: dict, bot_username: str | None = None) -> list[Reply]:
        """One getUpdates/webhook update -> the replies to send ([]: nothing to say).
        Anything malformed or not for us (plain text, a command addressed to another bot) is
        ignored; an admin's edit of a command is not obeyed, and answered so (``_edited``).
        ``bot_username``: the username (getMe) of the bot the update came through; None when
        unknown, and then no command with an @suffix is taken."""
        if not isinstance(update, dict):
            return []
        if "message" in update:
            return await self._message(_dict(update.get("message")), bot_username)
        if "edited_message" in update:
            return self._edited(_dict(update.get("edited_message")), bot_username)
        if "callback_query" in update:
            return await self._press(_dict(update.get("callback_query")))
        return []

    # -- messages ---------------------------------------------------------------------------

    async def _message(self, message: dict, bot_username: str | None) -> list[Reply]:
        chat = _dict(message.get("chat"))
        chat_id, text = chat.get("id"), message.get("text")
        if not _is_id(chat_id) or not isinstance(text, str):
            return []
        # Before _seen_before: another of our bots in the group, to which it is addressed, runs it.
        name, arg = _parse(text, bot_username)
        if name is None:
            return []
        arg = arg if name in UNLOGGED else without_secrets(arg, self._secrets)   # /check's alert is read as sent
        # What the log and a refusal may quote: /check's alert may hold the webhook's secret, a typo of it too.
        said = text.strip() if name not in UNLOGGED else f"/{name} ({len(arg)} characters)"
        shown = _loggable(said := without_secrets(said, self._secrets))
        verdict, user = self._access.check(chat, message.get("from"), message.get("sender_chat"))
        if verdict == STRANGER:
            log.warning("telegram: %s from chat %s (%s) ignored: not an admin", shown, chat_id,
                        _who(message.get("from"), message.get("sender_chat")))
            anonymous = self._access.anonymous(chat, message.get("sender_chat"))
            return [Reply(chat_id, _ANONYMOUS)] if anonymous and not self._seen_before(
                chat, message.get("message_id"), bot_username) else []
        if self._seen_before(chat, message.get("message_id"), bot_username):
            return []
        if verdict != ALLOWED:
            log.warning("telegram: %s from admin %s ignored: commands are not taken in chat %s (not in "
                        "telegram.command_chats)", shown, user, chat_id)
            return [Reply(chat_id, _NOT_HERE)]
        if _forwarded(message):
            log.warning("telegram: %s from admin %s ignored: a forwarded message", shown, user)
            return [Reply(chat_id, _FORWARDED)]
        date = message.get("date")
        if not _is_number(date):
            return []
        age = self._age(date)
        if age > self._max_age:
            log.warning("telegram: %s from chat %s refused: sent %s ago", shown, chat_id, _ago(age))
            return [Reply(chat_id, f"Ignored <code>{_e(said[:64])}</code>: sent {_ago(age)} ago, while "
                                   f"moonhook was not listening. Commands older than {_ago(self._max_age)} are not "
                                   "obeyed; send it again if you still mean it.")]
        log.info("telegram: chat %s (%s): %s", chat_id, _who(message.get("from")), shown)
        try:
            done = await self._run(name, arg, chat_id, user, date)
            return done if isinstance(done, list) else [done]
        except Exception as e:
            log.exception("telegram: %s failed", shown)
            return [Reply(chat_id, f"/{_e(name)} failed: {_e(type(e).__name__)}: {_e(str(e)[:200])}")]

    def _edited(self, message: dict, bot_username: str | None) -> list[Reply]:
        """An edit of a message to a command: never obeyed (it may be of a command obeyed already, or
        one sent days ago), but the admin is told so, as of a forward, not left to believe it is being done."""
        chat = _dict(message.get("chat"))
        chat_id, text = chat.get("id"), message.get("text")
        if not _is_id(chat_id) or not isinstance(text, str):
            return []
        name, arg = _parse(text, bot_username)
        if name is None or self._access.check(chat, message.get("from"), message.get("sender_chat"))[0] != ALLOWED:
            return []
        edited = message.get("edit_date") if _is_int(message.get("edit_date")) else None
        if self._seen_before(chat, message.get("message_id"), bot_username, edited):
            return []
        again = without_secrets(f"/{name} {arg}".strip() if name not in UNLOGGED else f"/{name} ...", self._secrets)
        log.info("telegram: an edit to %s in chat %s ignored: not obeyed", _loggable(again), chat_id)
        return [Reply(chat_id, f"An edited command is not obeyed: send <code>{_e(_cut(again, 64))}</code> as a new "
                               "message (an edit may be of a command done already).")]

    async def _run(self, name: str, arg: str, chat_id: int | str, user: int, date: float) -> Reply | list[Reply]:
        ops = self._ops
        if name == "status":
            return Reply(chat_id, status_text(await ops.status(), ops.pause_state()))
        if name == "plugins":
            return Reply(chat_id, _plugins_text(ops.plugin_rows()))
        if name in ("enable", "disable"):
            if not arg:
                return Reply(chat_id, f"Usage: /{name} NAME (/plugins lists them)")
            if name == "disable" and any(r["name"] == arg and r.get("guard") and r.get("enabled") is not False
                                         for r in ops.plugin_rows()):
                return self._disable_guard(chat_id, user, arg, date)
            try:
                row = ops.set_enabled(arg, name == "enable", by=f"telegram:{user}")
            except KeyError as e:
                return Reply(chat_id, no_plugin(arg, loads=not isinstance(e, NotLoaded)))
            return Reply(chat_id, f"Plugin <b>{_e(row['name'])}</b> {name}d.")
        if name == "pause":
            if not ops.pause(by=f"telegram:{user}", reason=arg):
                return Reply(chat_id, "Already paused. /resume to execute alerts again.")
            return Reply(chat_id, "⏸ <b>Paused</b>: alerts are journaled, not executed, and no "
                                  "plugin opens a position (closes go on). /resume to go on.")
        if name == "resume":
            return await self._resume(chat_id, user, date)
        if name == "positions":
            return Reply(chat_id, await positions_answer(self._ops, arg))
        if name == "trades":
            return Reply(chat_id, await self._trades(arg))
        if name == "orders":
            return Reply(chat_id, await self._orders())
        if name in ("close", "cancel"):
            return await self._ask(name, chat_id, user, arg, date)
        if name == "check":
            return Reply(chat_id, await check_answer(self._ops, arg))
        if name in ("help", "start"):  # plain lines: a phone wraps them, and makes each /command a link
            return Reply(chat_id, "<b>moonhook commands</b>\n" + "\n".join(f"{c} – {_e(what)}" for c, what in HELP))
        return Reply(chat_id, f"Unknown command /{_e(name[:32])}. /help lists them.")

    async def _orders(self) -> str:
        orders = await self._ops.pending()
        if not orders:
            return "No pending orders."
        return f"<b>{len(orders)} pending order{'s' * (len(orders) != 1)}</b>\n" + _order_table(orders)

    async def _trades(self, arg: str) -> str:
        day = self._ops.limits()["trading_day"]  # the clock whose midnight begins today
        if arg and not (arg.isdecimal() and 1 <= int(arg) <= 365):
            return f"Usage: /trades (today, from 00:00 {day}) or /trades DAYS (1 to 365)."
        days = int(arg) if arg else None   # any decimal digits (٧ too): said back in ASCII
        view = await self._ops.closed_since(days, limit=_MAX_ROWS)
        return _trades_text(view, f"in the last {days} day{'s' * (days != 1)}" if days else f"today ({day})")

    # -- /close, /cancel ------------------------------------------------------------------

    async def _ask(self, command: str, chat_id: int | str, user: int, arg: str, date: float) -> Reply:
        """/close or /cancel TARGET: confirms the admin's open question when this is its
        repeat, or shows what it would act on and asks."""
        if not arg:
            return Reply(chat_id, f"Usage: /{command} SYMBOL or /{command} all (asks for confirmation first).")
        if arg.lower() == "all":
            target = "all"
        else:
            try:
                target = self._ops.symbol(arg)
            except AlertError:
                return Reply(chat_id, f"{_e(arg[:40])} is not a symbol. Usage: /{command} SYMBOL or /{command} all.")
        question = self._questions.repeat(chat_id, user, command, target, date)  # marked done: nothing awaited yet
        if question is not None:
            log.info("telegram: admin %s confirmed /%s %s by sending it again", user, command, target)
            return [Reply(chat_id, await self._execute(question)), *self._settled(chat_id, question)]
        symbol = None if target == "all" else target
        if command == "close":
            positions = await self._ops.positions(symbol, ours=True)   # a close leaves those opened by hand
            if not positions:
                return Reply(chat_id, _none_ours(command, symbol, len(await self._ops.positions(symbol))))
            shown: tuple = tuple((p["symbol"], p["ticket"]) for p in positions)   # closed by ticket: these only
            n = len(positions)
            text = f"<b>Close {n} position{'s' * (n != 1)}?</b>\n{_position_table(positions)}"
        else:
            orders = await self._ops.pending(symbol, ours=True)
            if not orders:
                return Reply(chat_id, _none_ours(command, symbol, len(await self._ops.pending(symbol))))
            shown, n = tuple(o["ticket"] for o in orders), len(orders)
            text = f"<b>Cancel {n} pending order{'s' * (n != 1)}?</b>\n{_order_table(orders)}"
        token = self._questions.ask(chat_id, user, command, target, shown, text=text)
        return self._question(chat_id, token, text, command, target)

    def _disable_guard(self, chat_id: int | str, user: int, name: str, date: float) -> Reply | list[Reply]:
        """/disable GUARD: switching a guard off lets through what it refuses, so it is asked
        first, as a /close is (the dashboard asks too)."""
        if (question := self._questions.repeat(chat_id, user, "disable", name, date)) is not None:
            log.info("telegram: admin %s confirmed /disable %s by sending it again", user, name)
            return [Reply(chat_id, self._switch_off(name, user)), *self._settled(chat_id, question)]
        text = f"<b>Disable the guard {_e(name)}?</b> The entries it refuses will go through."
        return self._question(chat_id, self._questions.ask(chat_id, user, "disable", name, text=text), text,
                              "disable", name)

    async def _resume(self, chat_id: int | str, user: int, date: float) -> Reply | list[Reply]:
        """/resume: at once with no alert held from the pause; else it asks, as the dashboard does
        (resume.py), and the command sent again confirms a plain resume, which skips them."""
        held = self._ops.pause_state()["held"]
        question = self._questions.repeat(chat_id, user, "resume", "", date) if held else None
        try:
            said = await resume.resumed(self._ops, False, f"telegram:{user}", question.shown if question else ())
            return [Reply(chat_id, said), *(self._settled(chat_id, question) if question is not None else ())]
        except HeldChanged as e:   # held and not asked, or others held than it showed: asked (anew)
            if question is None:
                return self._resume_question(chat_id, user, e.held)
            question.state = "expired"   # not done: the question asked anew (after: not its twin) takes its place
            settled = self._settled(chat_id, question, "Not resumed: other alerts are held than it showed; asked "
                                                       "again below.")
            return [self._resume_question(chat_id, user, e.held), *settled]

    def _resume_question(self, chat_id: int | str, user: int, held: tuple[int, ...]) -> Reply:
        """The question on the alerts ``held`` (their ids, kept with it here: its buttons carry its token only)."""
        token = self._questions.ask(chat_id, user, "resume", "", held, also=(resume.RUN,), text=resume.asked(len(held)))
        return Reply(chat_id, resume.question(len(held), self._confirm), reply_markup=resume.keyboard(token, NO),
                     on_sent=partial(self._questions.sent, token))

    def _question(self, chat_id: int | str, token: str, text: str, command: str, target: str) -> Reply:
        """The question's message: what it would do, and its Confirm and Cancel buttons."""
        again = f"/{command} {target}"
        text += f"\nPress Confirm, or send <code>{_e(again)}</code> again, within {_ago(self._confirm)}."
        keep = "Keep them" if command == "cancel" else "Cancel"   # not two buttons saying cancel
        keyboard = [[{"text": f"Confirm {command}", "callback_data": f"{command}:{token}"},
                     {"text": keep, "callback_data": f"{NO}:{token}"}]]
        return Reply(chat_id, text, reply_markup={"inline_keyboard": keyboard},
                     on_sent=partial(self._questions.sent, token))

    def _settled(self, chat_id: int | str, question: Question, how: str = "") -> list[Reply]:
        """The edits taking the buttons off ``question``'s message, settled by its command sent again, as a press
        does: what it asked, then ``how`` (HTML; by default, confirmed); and off its twins' (``_twins``).
        ``chat_id`` as the command gave it: its answers' queue is the chat's (answer.py), in order."""
        again = f"/{question.command} {question.target}".strip()
        how = how or f"✔ Confirmed: <code>{_e(again)}</code> sent again; its answer follows."
        mine = [] if question.message_id is None else [
            Reply(chat_id, f"{question.text}\n{how}", edit_message_id=question.message_id)]
        return mine + self._twins(chat_id, question)

    def _twins(self, chat_id: int | str, question: Question) -> list[Reply]:
        """The edits of the questions asking what ``question`` asked (a double tap), settled with it: expired."""
        return [Reply(chat_id, f"{twin.text}\nAsked twice: settled once, on the other question.",
                      edit_message_id=twin.message_id) for twin in self._questions.twins(question)
                if twin.message_id is not None]

    def _switch_off(self, name: str, user: int | str) -> str:
        try:
            row = self._ops.set_enabled(name, False, by=f"telegram:{user}")
        except KeyError:
            return f"No plugin {_e(name)} any more; /plugins lists them."
        return (f"Guard <b>{_e(row['name'])}</b> disabled: the entries it refuses now go through. "
                f"/enable {_e(row['name'])} to guard again.")

    async def _execute(self, question: Question) -> str:
        """Closes the question's symbols, or cancels its orders, through the operations facade
        (every plugin's on_order sees each order, the ledger records it, and it runs even while
        the engine is paused)."""
        how = dict(plugin=PLUGIN, origin=ORIGIN.format(question.command), comment=f"telegram /{question.command}")
        if question.command == "cancel":
            results: list = await self._ops.cancel(list(question.shown), **how)
        else:   # the positions shown, by their tickets: one opened since the question stays
            closed = await self._ops.close_positions([ticket for _, ticket in question.shown], **how)
            results = [(shown, result) for shown, (_, result) in zip(question.shown, closed)]
        lines = _results_lines(question.command, results)
        log.warning("telegram /%s %s: %s", question.command, question.target, "; ".join(lines))
        return _results_text(question.command, question.target, lines)
