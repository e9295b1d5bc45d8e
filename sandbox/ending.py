"""How a worker process ended, in the words of a log line, and the likely cause of a SIGKILL as it
started (the system's out-of-memory killer picks a new process): the sandbox's workers and the
MetaTrader 5 broker's worker are told alike."""

from __future__ import annotations

import signal


def ended(code: int) -> str:
    """``code``, an exit code as ``subprocess`` gives it (minus the signal's number when a signal
    ended the process), in words: ``killed by signal 9 (SIGKILL)``, ``exited with status 1``."""
    if code < 0:
        return f"killed by signal {-code} ({_signal_name(-code)})"
    return f"exited with status {code}"


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return "an unnamed signal"


KILLED = ended(-signal.SIGKILL)


def likely_cause(said: str) -> str:
    """What to add to ``said``, a worker's death as it started: the out-of-memory killer when it
    was SIGKILL; nothing otherwise."""
    if KILLED not in said:
        return ""
    return (": SIGKILL as a process starts is most often the system's out-of-memory killer (dmesg names whom "
            "it killed); free some memory")
