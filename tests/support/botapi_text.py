"""The Bot API stand-in's words (support/botapi.py): its error answer, and the text a message shows once
Telegram has parsed its MarkdownV2 or HTML entities, refused as Telegram refuses it.

``markdown_v2_plain(text)`` / ``html_plain(text)``: the plain text shown; both raise ``ApiError(400)`` (Telegram's
"can't parse entities") for what Telegram would refuse. Tests use them to read what a chat shows.
"""

from __future__ import annotations

import html
import re

RESERVED = "_*[]()~`>#+-=|{}.!"
MARKERS = {"||": "Spoiler", "__": "Underline", "*": "Bold", "_": "Italic", "~": "Strikethrough"}
HTML_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "code", "pre",
             "blockquote", "tg-emoji"}
PARSE_MODES = {"markdownv2": "MarkdownV2", "html": "HTML", "markdown": "Markdown"}
CONFLICT = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
NOT_MODIFIED = ("Bad Request: message is not modified: specified new message content and reply markup are exactly "
                "the same as a current content and reply markup of the message")


class ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code, self.payload = code, {"ok": False, "error_code": code, "description": description}
        if retry_after is not None:
            self.payload["parameters"] = {"retry_after": retry_after}


def _unparsable(text: str, at: int | None, message: str) -> ApiError:
    where = "" if at is None else f" at byte offset {len(text[:at].encode())}"
    return ApiError(400, f"Bad Request: can't parse entities: {message}{where}")


# an escaped character | a code span or ``` block (content needs no escaping) | a formatting marker | a reserved char
MARKDOWN_V2 = re.compile(r"\\(.)|(```|`)((?:\\.|(?!\2).)*)\2|(\|\||__|[*_~])|([\\%s])" % re.escape(RESERVED), re.S)


def markdown_v2_plain(text: str) -> str:
    """The text a MarkdownV2 message shows; raises ApiError(400) where Telegram would refuse to parse it."""
    out, opened, i = [], {}, 0
    for m in MARKDOWN_V2.finditer(text):
        out.append(text[i:m.start()])
        i = m.end()
        escaped, fence, code, marker, reserved = m.groups()
        if reserved:
            raise _unparsable(text, None, f"Character '{reserved}' is reserved and must be escaped with the "
                                          "preceding '\\'")
        if marker and opened.pop(marker, None) is None:
            opened[marker] = m.start()
        elif not marker:
            out.append(escaped if fence is None else re.sub(r"\\(.)", r"\1", code))
    if opened:
        marker, at = min(opened.items(), key=lambda item: item[1])
        raise _unparsable(text, at, f"Can't find end of {MARKERS[marker]} entity")
    return "".join(out) + text[i:]


def html_plain(text: str) -> str:
    """The text an HTML message shows; raises ApiError(400) for a stray '<', an unknown or unbalanced tag."""
    stack = []
    for m in re.finditer(r"<(/?)([\w-]*)[^<>]*>|<", text):
        tag = (m[2] or "").lower()
        if tag not in HTML_TAGS:
            raise _unparsable(text, m.start(), f'Unsupported {"end" if m[1] else "start"} tag "{tag}"')
        if not m[1]:
            stack.append(tag)
        elif not stack or stack.pop() != tag:
            raise _unparsable(text, m.start(), f'Unmatched end tag "{tag}"')
    if stack:
        raise _unparsable(text, None, f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return html.unescape(re.sub(r"<[^>]*>", "", text))
