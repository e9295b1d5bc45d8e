"""The names of the sandbox's ``DENIED`` a script's text reads, found without running it, for
``moonhook check``: a call of ``load`` or ``math.randomseed`` fails (``forbidden``) only when it
runs, on a Friday's branch or in an ``on_close`` that check's sample alert never reaches, and
LuaLS's base library knows those names. Read from the tokens: strings and comments are no reads,
nor a field (``t.load``), a table's key (``{debug = true}``) or a name the script declares
(``local warn = 5``, a parameter, a loop's variable), anywhere in the file."""

from __future__ import annotations

import re

from sandbox.allowlist import DENIED

_TOKENS = re.compile(r"""
    (?P<comment>--(?:\[(?P<ceq>=*)\[.*?\](?P=ceq)\]|[^\n]*))
  | (?P<long>\[(?P<leq>=*)\[.*?\](?P=leq)\])
  | (?P<string>"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<number>0[xX][0-9a-fA-F.]*(?:[pP][+-]?[0-9]+)?|[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)
  | (?P<op>\.\.\.|\.\.|==|~=|<=|>=|::|//|<<|>>|\S)
  | (?P<space>\s+)
""", re.S | re.X)
_KEYWORDS = frozenset("and break do else elseif end false for function goto if in local nil not or repeat return "
                      "then true until while".split())
_GLOBALS = frozenset(n for n in DENIED if "." not in n)
_FIELDS = frozenset(n for n in DENIED if "." in n)


def denied_reads(source: str) -> list[tuple[int, str]]:
    """(line, name) of each read of a denied global (``load``) or library field (``string.dump``),
    in the order of the text."""
    tokens = _tokenize(source)
    declared = _declared(tokens)
    found: list[tuple[int, str]] = []
    braces: list[str] = []
    for i, (kind, text, line) in enumerate(tokens):
        if kind == "op" and text in "({[":
            braces.append(text)
        elif kind == "op" and text in ")}]" and braces:
            braces.pop()
        if kind != "name" or text in _KEYWORDS or text in declared:
            continue
        before = tokens[i - 1][1] if i else ""
        after = tokens[i + 1][1] if i + 1 < len(tokens) else ""
        if before in (".", ":") or before == "::" or (after == "=" and braces and braces[-1] == "{"):
            continue
        if text in _GLOBALS:
            found.append((line, text))
        elif after == "." and i + 2 < len(tokens) and f"{text}.{tokens[i + 2][1]}" in _FIELDS:
            found.append((line, f"{text}.{tokens[i + 2][1]}"))
    return found


def _tokenize(source: str) -> list[tuple[str, str, int]]:
    """The tokens that mean something (kind, text, line): comments and spaces left out, strings
    kept as one token each."""
    out, line = [], 1
    for m in _TOKENS.finditer(source):
        kind = m.lastgroup if m.lastgroup not in ("ceq", "leq") else ("comment" if m.group("comment") else "long")
        text = m.group(0)
        if kind not in ("comment", "space"):
            out.append(("string" if kind == "long" else kind, text, line))
        line += text.count("\n")
    return out


def _declared(tokens: list[tuple[str, str, int]]) -> set[str]:
    """The names the script declares: after ``local`` (and ``local function``), a ``for``'s
    variables, and every function's parameters."""
    names: set[str] = set()
    for i, (kind, text, _) in enumerate(tokens):
        if text in ("local", "for") and kind == "name":
            j = i + 1
            if j < len(tokens) and tokens[j][1] == "function":
                j += 1
            while j < len(tokens) and tokens[j][0] == "name" and tokens[j][1] not in _KEYWORDS:
                names.add(tokens[j][1])
                j += 1
                while j < len(tokens) and tokens[j][1] in ("<", ">", "const", "close"):   # attributes
                    j += 1
                if j < len(tokens) and tokens[j][1] == ",":
                    j += 1
                else:
                    break
        elif text == "function" and kind == "name":
            j = i + 1
            while j < len(tokens) and tokens[j][1] != "(":
                j += 1
            while j < len(tokens) and tokens[j][1] != ")":
                if tokens[j][0] == "name":
                    names.add(tokens[j][1])
                j += 1
    return names
