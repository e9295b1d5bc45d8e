"""Log output: plain text lines by default, or key=value lines for log shippers.

Records may carry fields (``extra={"fields": {...}}``); the key=value format prints them as
keys, the text format after the message. Secrets never reach a record: the webhook logs a
redacted path, and the settings' reprs hide them.
"""

from __future__ import annotations

import logging
import sys
import time

from engine.domain.logtext import one_line, quoted

TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class KeyValueFormatter(logging.Formatter):
    """``time=... level=... logger=... msg="..." key=value ...``, one record per line."""

    def format(self, record: logging.LogRecord) -> str:
        parts = {"time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
                 "level": record.levelname.lower(), "logger": record.name, "msg": record.getMessage()}
        parts.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            parts["error"] = self.formatException(record.exc_info)
        return " ".join(f"{k}={quoted(v)}" for k, v in parts.items())


class TextFormatter(logging.Formatter):
    """``TEXT``, the message kept on the record's line (``one_line``) whoever wrote it: a
    script's error and its ``notify.send`` text reach the engine's own records, and a newline in
    them would start a line that looks like the engine's. A traceback follows on its own lines."""

    def __init__(self) -> None:
        super().__init__(TEXT)

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = one_line(record.message)   # set afresh by each format() from getMessage()
        return super().formatMessage(record)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = getattr(record, "fields", None)
        return f"{text} ({' '.join(f'{k}={v}' for k, v in fields.items())})" if fields else text


_handler: logging.Handler | None = None


def setup_logging(style: str = "text", level: int = logging.INFO) -> None:
    """Logs to standard error in ``style`` ("text" or "kv"), replacing only its own handler."""
    global _handler
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
    _handler = logging.StreamHandler(sys.stderr)
    _handler.setFormatter(KeyValueFormatter() if style == "kv" else TextFormatter())
    root.addHandler(_handler)
    root.setLevel(level)


def say(text: str, level: int = logging.INFO) -> None:
    """A line for the trader at the terminal (``moonhook run``'s banner): ``moonhook: text`` on
    standard error, or in the kv style a record of the ``moonhook`` logger at ``level``, so that a
    log shipper reads every line of the stream as key=value fields."""
    if _handler is not None and isinstance(_handler.formatter, KeyValueFormatter):
        logging.getLogger("moonhook").log(level, text)
    else:
        print(f"moonhook: {text}", file=sys.stderr)
