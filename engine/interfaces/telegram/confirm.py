"""The confirmation a /close, a /cancel or the /disable of a guard waits for: asked once,
answered once, by the admin who asked it, and only by what was sent after it.

``Questions.ask`` records what the command would do and returns the token its buttons carry.
The question is confirmed, within ``confirm_seconds``, by

- a press of its Confirm button by the admin who asked, in the chat it was asked in, or
- the same command sent again by that admin in that chat, dated after the question: after
  Telegram's date for the question's message (``sent``, from sendMessage's answer). A question
  Telegram did not take (an outage) was never seen: a repeat, the admin sending again what
  seemed lost, confirms nothing and asks anew. Two copies of a command
  queued while moonhook was down (or sent in one double tap) are both older than the question
  the first one asks, so neither confirms it; a repeat older than the engine's start is older
  than every question, since none outlives a restart.

A repeat's answer is a new message, so the question's own message (``message_id``, kept from
sendMessage's answer, with its ``text``) is edited by the caller to say how it was settled,
its buttons gone, as a press replaces it with its answer.

Every check and change of a question's state happens in one plain (not async) call, so two
presses handled at the same moment cannot both pass: nothing runs between the check and the
mark, and the second finds the question answered.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any, Callable

KEPT = 3600.0      # an answered question is remembered this long, to answer "already done"
_MOST = 256        # questions remembered at most

# press outcomes: CONFIRMED and CANCELLED changed the question; the others did not
CONFIRMED, CANCELLED, TIMED_OUT = "confirmed", "cancelled", "timed out"
UNKNOWN, THEIRS, ANSWERED = "unknown", "theirs", "answered"
NO = "no"          # the dismissing button's action ("cancel" is a command's name)


@dataclass
class Question:
    """A command waiting for its confirmation."""

    chat: str
    user: str                    # the admin who asked: the only one who confirms
    command: str                 # "close", "cancel" or "disable"
    target: str                  # close, cancel: a symbol, or "all"; disable: the plugin
    shown: tuple                 # what the question showed, acted on: (symbol, ticket) to close, tickets to cancel,
                                 # the held alerts' ids to resume on
    asked_at: float              # clock() when asked
    after: float                 # a repeat confirms when dated after this (Telegram's clock)
    state: str = "open"          # open | done | cancelled | expired
    told: bool = False           # Telegram took the question's message: the admin may have seen it
    also: tuple = ()             # the other buttons that confirm it, another way (/resume's "run")
    text: str = ""               # what it asked (HTML), without how to answer: what its message keeps once settled
    message_id: int | None = None   # its message, once Telegram took it: edited when the command again settles it


class Questions:
    """The open (and recently answered) questions, by token. ``clock`` is wall time,
    as Telegram's message dates are."""

    def __init__(self, confirm_seconds: float, clock: Callable[[], float]):
        self.confirm_seconds = confirm_seconds
        self._clock = clock
        self._by_token: dict[str, Question] = {}

    def ask(self, chat: int | str, user: int, command: str, target: str, shown: tuple = (),
            also: tuple = (), text: str = "") -> str:
        """Records a question (``text``: what it asks, kept for its message once settled) and returns
        its token (URL-safe, for the buttons' data)."""
        now = self._clock()
        self._forget(now)
        token = secrets.token_urlsafe(8)
        self._by_token[token] = Question(str(chat), str(user), command, target, shown, now, now, also=also, text=text)
        return token

    def sent(self, token: str, message: Any) -> None:
        """Telegram's answer to the question's sendMessage: its ``date`` becomes the date a
        repeat must pass (Telegram's clock, like the repeat's; the engine's may be off). Until
        then no repeat confirms the question. Its ``message_id`` is kept: the message a repeat edits."""
        question = self._by_token.get(token)
        if question is None:
            return
        question.told = True
        message = message if isinstance(message, dict) else {}
        date, message_id = message.get("date"), message.get("message_id")
        if isinstance(date, int) and not isinstance(date, bool):
            question.after = date
        if isinstance(message_id, int) and not isinstance(message_id, bool):
            question.message_id = message_id

    def repeat(self, chat: int | str, user: int, command: str, target: str, date: float) -> Question | None:
        """The open question this repeat (``date``: the message's) confirms, now marked done;
        None when it confirms none (then it asks anew)."""
        now = self._clock()
        self._forget(now)
        for question in self._by_token.values():
            if (question.state == "open" and question.told and (question.chat, question.user) == (str(chat), str(user))
                    and (question.command, question.target) == (command, target)
                    and now - question.asked_at <= self.confirm_seconds and date > question.after):
                question.state = "done"
                return question
        return None

    def press(self, token: str, chat: int | str, user: int, action: str) -> tuple[str, Question | None]:
        """A press of Confirm (``action``: the question's command, or one of its ``also``) or of its dismissal (NO) ->
        (outcome, the question). CONFIRMED or CANCELLED: the question is marked so now, before
        the caller awaits anything. TIMED_OUT: too late (marked expired); UNKNOWN: no such
        question in this chat, or a Confirm for another command; THEIRS: another admin asked it;
        ANSWERED: done, cancelled or expired already (its ``state`` says which)."""
        now = self._clock()
        self._forget(now)
        question = self._by_token.get(token)
        if question is None or question.chat != str(chat) or action not in (question.command, NO, *question.also):
            return UNKNOWN, None
        if question.user != str(user):
            return THEIRS, question
        if question.state != "open":
            return ANSWERED, question
        if now - question.asked_at > self.confirm_seconds:
            question.state = "expired"
            return TIMED_OUT, question
        confirm = action != NO
        question.state = "done" if confirm else "cancelled"
        return (CONFIRMED if confirm else CANCELLED), question

    def knows(self, token: str) -> bool:
        """Whether this run asked the question of ``token`` and remembers it (not one asked before a restart)."""
        return token in self._by_token

    def twins(self, question: Question) -> list[Question]:
        """The other open questions asking what ``question`` asked (its admin, chat, command and target: a
        double tap asks twice, neither repeat confirming the other), now marked expired: settled with it."""
        twins = [q for q in self._by_token.values() if q is not question and q.state == "open" and
                 (q.chat, q.user, q.command, q.target) == (question.chat, question.user, question.command,
                                                           question.target)]
        for twin in twins:
            twin.state = "expired"
        return twins

    def _forget(self, now: float) -> None:
        """Drops questions long past: an unknown token is answered "expired" all the same."""
        for token in [t for t, q in self._by_token.items() if now - q.asked_at > self.confirm_seconds + KEPT]:
            del self._by_token[token]
        while len(self._by_token) > _MOST:
            del self._by_token[next(iter(self._by_token))]
