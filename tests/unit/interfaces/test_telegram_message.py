"""Reading an update's text as a command (engine/interfaces/telegram/message.py): in a group where
the bot sees every message, a command addressed to another bot is not ours."""

from engine.interfaces.telegram.message import command_of

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
