"""The press of a question's button (a callback query): Confirm, Cancel (Keep them, Keep paused),
/resume's Resume and Resume and run them. Only the admin who asked, in the chat it was asked in,
within ``confirm_seconds``, settles a question (confirm.py); every press is answered, so the
phone's spinner stops, and the question's message is edited to say how it was settled, its
buttons gone.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from engine.app.operations import HeldChanged
from engine.interfaces.telegram import resume
from engine.interfaces.telegram.access import ALLOWED, STRANGER
from engine.interfaces.telegram.confirm import ANSWERED, CANCELLED, NO, THEIRS, TIMED_OUT, UNKNOWN
from engine.interfaces.telegram.message import as_dict as _dict, is_id as _is_id, is_int as _is_int
from engine.interfaces.telegram.message import loggable as _loggable, who as _who
from engine.interfaces.telegram.reply import Reply
from engine.interfaces.telegram.tables import ago as _ago, cut as _cut, escape as _e

if TYPE_CHECKING:
    from engine.app.operations import Operations
    from engine.interfaces.telegram.access import Access
    from engine.interfaces.telegram.confirm import Question, Questions

log = logging.getLogger("moonhook.telegram")
EXPIRED = ("⌛ Expired: asked before moonhook restarted, or over an hour ago. Nothing was done; send the command "
           "again if you still mean it.")


class ButtonPresses:
    """Mixed into ``Commands``, whose state and methods these use."""

    if TYPE_CHECKING:  # the commands'
        _ops: Operations
        _access: Access
        _questions: Questions
        _confirm: float

        def _twins(self, chat_id: int | str, question: Question) -> list[Reply]: ...
        def _switch_off(self, name: str, user: int | str) -> str: ...
        def _resume_question(self, chat_id: int | str, user: int, held: tuple[int, ...]) -> Reply: ...
        async def _execute(self, question: Question) -> str: ...

    async def _press(self, query: dict) -> list[Reply]:
        """One button press -> its answer (and the edit of the question's message); [] for one malformed or a
        stranger's (logged)."""
        query_id, data = query.get("id"), query.get("data")
        message = _dict(query.get("message"))
        chat = _dict(message.get("chat"))
        chat_id = chat.get("id")
        if not isinstance(query_id, str) or not isinstance(data, str) or not _is_id(chat_id):
            return []
        action, _, token = data.partition(":")
        verdict, user = self._access.check(chat, query.get("from"))
        if verdict == STRANGER:
            log.warning("telegram: button %s from chat %s (%s) ignored: not an admin", _loggable(action),
                        chat_id, _who(query.get("from")))
            return []
        message_id = message.get("message_id") if _is_int(message.get("message_id")) else None

        twins: list[Reply] = []   # the edits of the questions settled with the one pressed

        def answer(short: str, text: str = "") -> list[Reply]:
            # With text: the question's message shows it instead (its buttons go), or, when
            # the press does not say which message it was, a new message does.
            return [Reply(chat_id, text, edit_message_id=message_id if text else None,
                          callback_query_id=query_id, callback_text=short), *twins]

        if verdict != ALLOWED:
            log.warning("telegram: button %s from admin %s ignored: commands are not taken in chat %s",
                        _loggable(action), user, chat_id)
            return answer("commands are not taken in this chat")
        if action not in ("close", "cancel", "disable", "resume", resume.RUN, NO):
            return answer("unknown button")
        outcome, question = self._questions.press(token, chat_id, user, action)  # marks it
        if outcome == UNKNOWN:
            command = "resume" if action == resume.RUN else action
            # One this run never asked, or forgot: its buttons go, as a late press's do. A known token pressed
            # with another button's action (forged) leaves its question, still open, as it is.
            return answer("expired: send the command again" if action == NO else f"expired: send /{command} again",
                          "" if self._questions.knows(token) else EXPIRED)
        # The whole command, as the question's message says it (/close alone is answered with its usage).
        shown = _cut(f"/{question.command} {question.target}".strip(), 64)
        again = f"send {shown} again"
        if outcome == THEIRS:
            return answer("asked by another admin")
        if outcome == ANSWERED:
            return answer({"done": "already done", "cancelled": "already cancelled"}.get(question.state,
                                                                                         f"expired: {again}"))
        nothing = {"close": "nothing closed", "cancel": "nothing cancelled", "resume": "moonhook stays paused"}.get(
            question.command, f"{_e(question.target)} stays enabled")
        if outcome == TIMED_OUT:
            return answer(f"expired: {again}", f"⌛ Not confirmed within {_ago(self._confirm)}: {nothing}. "
                                               f"Send <code>{_e(shown)}</code> again.")
        twins[:] = self._twins(chat_id, question)
        if outcome == CANCELLED:
            log.info("telegram: admin %s cancelled %s", user, shown)
            return answer("cancelled", f"Cancelled: {nothing}.")
        log.info("telegram: admin %s confirmed %s", user, shown)
        if question.command == "disable":
            return answer("done", self._switch_off(question.target, user))
        if question.command == "resume":
            try:
                return answer("done", await resume.resumed(self._ops, action == resume.RUN, f"telegram:{user}",
                                                           question.shown))
            except HeldChanged as e:   # others held now: none skipped or run unshown
                return [replace(self._resume_question(chat_id, user, e.held), edit_message_id=message_id,
                                callback_query_id=query_id, callback_text="the alerts held changed since: asked again"),
                        *twins]
        try:
            text = await self._execute(question)
        except Exception as e:
            log.exception("telegram: %s failed", shown)
            look = "/positions" if question.command == "close" else "/orders"
            text = f"/{question.command} failed: {_e(type(e).__name__)}: {_e(str(e)[:200])}. Check {look}."
        return answer("done", text)
