"""``[telegram]``: the bots, the chats each serves and what each chat wants to hear, and who
may command the engine: the ``admins`` (people, by user id), in their private chat with a bot
or in a group listed in ``command_chats`` (see access.py).

A chat is served by one bot, the one it is listed under: people start a conversation with a
bot (or add it to a group) before it may write to them, so the pairing is theirs to make.
Load spreads across bots by spreading the chats.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

KINDS = ("trades", "errors", "admin", "plugin")
DEFAULT_API = "https://api.telegram.org"
PARSE_MODES = ("HTML", "MarkdownV2")
SECRET_TOKEN = "[A-Za-z0-9_-]{1,256}"  # what setWebhook accepts as secret_token
BOT_TOKEN = r"\d+:[A-Za-z0-9_-]+"  # as @BotFather gives it; Telegram finds no bot (404) for others


@dataclass(frozen=True)
class ChatConfig:
    """A chat (a user's id, a group's negative id or "@channel") and the kinds it wants."""

    id: int | str
    events: frozenset[str] = frozenset(KINDS)

    def __post_init__(self) -> None:
        unknown = set(self.events) - set(KINDS)
        if unknown:
            raise ValueError(f"chat {self.id}: unknown events {', '.join(sorted(unknown))} "
                             f"(known: {', '.join(KINDS)})")

    @property
    def key(self) -> str:
        return str(self.id)


@dataclass(frozen=True)
class BotConfig:
    token: str
    chats: tuple[ChatConfig, ...] = ()

    @property
    def id(self) -> str:
        """The bot's numeric id: the token's public part, what logs and the database show."""
        return self.token.split(":", 1)[0]

    def __repr__(self) -> str:  # the token never reaches a log through a repr
        return f"BotConfig(id={self.id!r}, chats={self.chats!r})"


@dataclass(frozen=True)
class TelegramConfig:
    api_url: str = DEFAULT_API
    bots: tuple[BotConfig, ...] = ()
    admins: tuple[int, ...] = ()         # the people (user ids) whose commands are obeyed
    command_chats: tuple[int, ...] = ()  # groups where they are; an admin's private chat always is
    parse_mode: str = "HTML"             # how messages are formatted (and escaped)
    throttle_seconds: float = 60.0       # one message per event key in this window
    command_max_age: float = 120.0       # older commands (queued while moonhook was down) are refused
    webhook_url: str | None = None       # set: updates arrive at {webhook_url}/telegram/{bot id}
    webhook_secret: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.parse_mode not in PARSE_MODES:
            raise ValueError(f"telegram.parse_mode: expected one of {', '.join(PARSE_MODES)}, got {self.parse_mode!r}")
        ids, served = set(), {}
        for i, bot in enumerate(self.bots):
            if not re.fullmatch(BOT_TOKEN, bot.token):
                raise ValueError(f"telegram.bots[{i}].token: expected a bot token like 123456:ABC-DEF... "
                                 "(from @BotFather)")
            if bot.id in ids:
                raise ValueError(f"telegram.bots[{i}]: the same bot (id {bot.id}) is listed twice")
            ids.add(bot.id)
            for j, chat in enumerate(bot.chats):
                if chat.key in served:
                    raise ValueError(f"telegram.bots[{i}].chats[{j}]: chat {chat.id} is already served by "
                                     f"telegram.bots[{served[chat.key]}] (one chat, one bot)")
                served[chat.key] = i
        if self.webhook_url and not self.webhook_secret:
            # named by webhook_url, the key written: the error's first key places it (a missing one, at [telegram])
            raise ValueError("telegram.webhook_url: needs telegram.webhook_secret (Telegram echoes it "
                             "in every call, so strangers cannot post commands)")
        if self.webhook_secret is not None and not re.fullmatch(SECRET_TOKEN, self.webhook_secret):
            raise ValueError("telegram.webhook_secret: expected 1 to 256 characters from A-Z, a-z, 0-9, _ and - "
                             "(what Telegram accepts)")

    @property
    def enabled(self) -> bool:
        return bool(self.bots)
