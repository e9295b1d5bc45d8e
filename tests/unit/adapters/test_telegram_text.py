"""Telegram's text rules and a bot's sending limits (the limits on Trio's test clock)."""

import pytest
import trio

from engine.adapters.notify.limits import BotLimits, Limits
from engine.adapters.notify.bot import MAX_TEXT, escape, message_parts, split_text, text_length


def test_markdown_v2_and_html_escape_every_reserved_character():
    assert escape("1.5% of [EURUSD] -> done! (x_y*z) a\\b", "MarkdownV2") == \
        "1\\.5% of \\[EURUSD\\] \\-\\> done\\! \\(x\\_y\\*z\\) a\\\\b"
    assert escape("P&L <b> 5 > 4", "HTML") == "P&amp;L &lt;b&gt; 5 &gt; 4"
    assert escape("as typed_*", None) == "as typed_*"
    with pytest.raises(ValueError, match="parse_mode"):
        escape("x", "Markdown")


def test_long_text_is_split_at_line_breaks_and_nothing_is_lost():
    lines = [f"line {i}: " + "x" * 50 for i in range(200)]
    text = "\n".join(lines)
    parts = split_text(text)
    assert len(parts) == 3 and all(len(p) <= MAX_TEXT for p in parts)
    assert "\n".join(parts) == text                  # cut at line breaks, none dropped mid-line
    assert split_text("y" * 9000) == ["y" * 4096, "y" * 4096, "y" * 808]  # no break: cut anywhere
    assert split_text("") == [""]


def test_escaping_never_pushes_a_part_over_the_limit():
    text = "." * 5000                                  # every character doubles when escaped
    parts = message_parts(text, "MarkdownV2")
    assert all(len(p) <= MAX_TEXT for p in parts) and "".join(parts) == "\\." * 5000


async def test_a_chat_gets_its_burst_then_one_a_second(autojump_clock):
    clock = trio.lowlevel.current_clock()
    limits = BotLimits(Limits(per_second=30, per_chat=1, chat_burst=3))
    start = clock.current_time()
    times = []
    for _ in range(6):
        await limits.acquire(42)
        times.append(round(clock.current_time() - start, 2))
    assert times == [0, 0, 0, 1, 2, 3]


async def test_the_bot_limit_spans_chats_and_a_429_pauses_the_bot(autojump_clock):
    clock = trio.lowlevel.current_clock()
    limits = BotLimits(Limits(per_second=10, per_chat=1, chat_burst=1))
    start = clock.current_time()
    for chat in range(20):                              # 20 chats, one message each
        await limits.acquire(chat)
    assert round(clock.current_time() - start, 1) == 1.0  # 10 at once, then 10 a second
    limits.pause(5)
    assert limits.paused
    before = clock.current_time()
    await limits.acquire(999)
    assert round(clock.current_time() - before, 1) == 5.0


async def test_a_group_keeps_to_twenty_a_minute(autojump_clock):
    clock = trio.lowlevel.current_clock()
    limits = BotLimits(Limits(per_second=30, per_chat=100, chat_burst=100, group_per_minute=20))
    start = clock.current_time()
    for _ in range(21):
        await limits.acquire(-100123)
    assert round(clock.current_time() - start, 1) == 3.0   # the 21st waits for a twentieth of a minute


def test_parts_are_measured_in_utf16_units_as_telegram_counts():
    emoji = "🟢" * 3000                                 # 3000 characters, 6000 UTF-16 units
    parts = split_text(emoji)
    assert parts == ["🟢" * 2048, "🟢" * 952] and "".join(parts) == emoji
    assert text_length("🟢a") == 3
    parts = message_parts("<🟢> " * 1500, "HTML")         # escaping and emoji together
    assert all(text_length(p) <= MAX_TEXT for p in parts) and "".join(parts).count("🟢") == 1500
