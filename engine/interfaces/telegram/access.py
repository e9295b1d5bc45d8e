"""Who may command moonhook from Telegram: a person, in a chat where commands are taken.

An admin is a Telegram user id (``telegram.admins``), never a chat: in a group every member,
and anyone invited later, writes from the same chat id, so the chat says nothing about who is
writing. A command or a button press is obeyed only when

- its sender (``message.from.id``, ``callback_query.from.id``) is an admin, and
- it comes from that admin's private chat with the bot (whose chat id is the admin's own user
  id), or from a group listed in ``telegram.command_chats``.

A message sent on behalf of a chat (``sender_chat``: an anonymous group admin, a channel) or by
a bot has no person behind it that can be checked: never obeyed (an anonymous admin of a command
chat is told so: ``anonymous``). A private chat is its person,
so there the chat's id stands for a sender that is left out.
"""

from __future__ import annotations

from typing import Any, Iterable

ALLOWED = "allowed"        # an admin, in their private chat or a command chat
STRANGER = "stranger"      # not a known person: no action, no answer
ELSEWHERE = "elsewhere"    # an admin, in a chat where commands are not taken


class Access:
    """The admins' user ids and the command chats (groups), both compared as text so that a
    configured ``"4242"`` matches Telegram's ``4242``."""

    def __init__(self, admins: Iterable[int | str], command_chats: Iterable[int | str] = ()):
        self._admins = frozenset(str(a) for a in admins)
        self._chats = frozenset(str(c) for c in command_chats)

    def check(self, chat: dict, sender: Any, sender_chat: Any = None) -> tuple[str, int | None]:
        """(ALLOWED, STRANGER or ELSEWHERE; the sender's user id, or None when there is no
        person to name) for a message or press from ``sender`` (its ``from``) in ``chat``."""
        user = sender_id(chat, sender, sender_chat)
        if user is None or str(user) not in self._admins:
            return STRANGER, user
        if str(chat.get("id")) == str(user) or str(chat.get("id")) in self._chats:
            return ALLOWED, user
        return ELSEWHERE, user

    def anonymous(self, chat: dict, sender_chat: Any) -> bool:
        """Whether a message was sent on behalf of ``chat`` itself (by one of its admins, anonymous),
        ``chat`` being a command chat: not obeyed, but its sender is told why."""
        return (isinstance(sender_chat, dict) and str(sender_chat.get("id")) == str(chat.get("id"))
                and str(chat.get("id")) in self._chats)


def sender_id(chat: dict, sender: Any, sender_chat: Any = None) -> int | None:
    """The user id of the person who sent a message or pressed a button; None for a message on
    behalf of a chat, by a bot, or with no sender a private chat does not name."""
    if sender_chat is not None:
        return None
    if sender is None and chat.get("type") == "private":
        sender = {"id": chat.get("id")}
    if not isinstance(sender, dict) or sender.get("is_bot") is True:
        return None
    uid = sender.get("id")
    return uid if isinstance(uid, int) and not isinstance(uid, bool) and uid > 0 else None
