"""Reading an update's text as a command (engine/interfaces/telegram/message.py): in a group where
the bot sees every message, a command addressed to another bot is not ours."""

from engine.interfaces.telegram.message import command_of, loggable

ME = "moonhook_bot"


def test_a_command_addressed_to_another_bot_is_not_ours():
    assert command_of("/pause@other_bot", ME) == (None, "")
    assert command_of("/close@other_bot all", ME) == (None, "")
    assert command_of("/close@moonhook_bot_2 all", ME) == (None, "")   # a longer name is another bot
    assert command_of("/pause@", ME) == (None, "")


def test_a_command_addressed_to_us_in_any_case_or_to_no_bot_is_ours():
    assert command_of("/close@moonhook_bot  EURUSD ", ME) == ("close", "EURUSD")
    assert command_of("/Pause@MoonHook_BOT", ME) == ("pause", "")   # usernames compare regardless of case
    assert command_of("/close all", ME) == ("close", "all")
    assert command_of("hello", ME) == (None, "") and command_of("/@moonhook_bot", ME) == (None, "")


def test_while_our_name_is_unknown_only_commands_without_a_suffix_are_ours():
    assert command_of("/pause@moonhook_bot", None) == (None, "")    # may be another bot's: not obeyed
    assert command_of("/pause", None) == ("pause", "")


def test_a_strangers_text_is_logged_on_one_line_its_controls_escaped_and_cut():
    assert loggable("/pause \x1b[1A\x1b[2K\x9b2K\u2028moonhook: stopped\x07") == \
        "/pause \\x1b[1A\\x1b[2K\\x9b2K moonhook: stopped\\x07"
    assert len(loggable("x" * 500)) <= 64
