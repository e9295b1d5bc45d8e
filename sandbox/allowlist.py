"""The sandbox's security boundary, kept as plain data in one place.

A script's environment is built from these tables and nothing else: a global or library field
that is not listed here does not exist for a script. The environment variables a worker
process is given are listed here too. Names in ``DENIED`` are the ones a hostile
or confused script is likely to reach for; touching one raises the ``forbidden`` error, which
a script cannot catch, instead of reading as nil.

Every widening of this list is a security decision: add the name with a comment giving the
reason, and a hostile script in ``tests/attacks/`` that shows it cannot be abused.
"""

from __future__ import annotations

from typing import Mapping

# Base functions offered as globals. pcall, xpcall, print and setmetatable are replaced by the
# prelude with guarded versions (budgets cannot be swallowed; no __gc; print goes to the log).
GLOBALS: tuple[str, ...] = (
    "assert",
    "error",
    "getmetatable",  # protected metatables (strings, libraries, _ENV) answer false
    "ipairs",
    "next",  # Lua's own order (seeded per state): pairs is the walk in a defined order
    "pairs",  # walks a table in a defined order (sandbox/walk.lua): the same decisions in every run
    "pcall",
    "print",
    "rawequal",
    "rawget",
    "rawlen",
    "rawset",  # refused on library tables
    "select",
    "setmetatable",  # refuses __gc and the sandbox's own tables
    "tonumber",  # guarded: a string is charged by its length
    "tostring",
    "type",
    "xpcall",  # emulated on top of the guarded pcall: Lua runs message handlers unhooked
)

# Library tables offered, with the fields each exposes. Every one of them is read-only.
LIBRARIES: dict[str, tuple[str, ...]] = {
    # rep, find, match, gmatch, gsub, format and byte are guarded before they run (cost and size).
    # Left out: dump (bytecode), pack/unpack/packsize (binary formats no strategy needs).
    "string": (
        "byte", "char", "find", "format", "gmatch", "gsub", "len", "lower", "match", "rep",
        "reverse", "sub", "upper",
    ),
    # concat, insert, move, remove, sort and unpack are guarded (work charged to the budget).
    "table": ("concat", "insert", "move", "pack", "remove", "sort", "unpack"),
    # random is Lua's own generator, seeded per plugin at load; randomseed is left out because
    # called without arguments it reseeds from the clock and returns an address (an ASLR leak).
    "math": (
        "abs", "acos", "asin", "atan", "ceil", "cos", "deg", "exp", "floor", "fmod", "huge",
        "log", "max", "maxinteger", "min", "mininteger", "modf", "pi", "rad", "random", "sin",
        "sqrt", "tan", "tointeger", "type", "ult",
    ),
    # codepoint, len and offset are guarded (charged by the bytes they may decode).
    "utf8": ("char", "charpattern", "codepoint", "codes", "len", "offset"),
    # create, wrap, resume and close are wrapped so the budget hook follows every coroutine.
    "coroutine": ("close", "create", "isyieldable", "resume", "running", "status", "wrap", "yield"),
    # A clock and calendar only: nothing here touches files, processes or the environment.
    "os": ("clock", "date", "difftime", "time"),
}

# Touching these raises `forbidden` (not catchable by the script). Globals by name, library
# fields as "lib.field".
DENIED: tuple[str, ...] = (
    "python",  # lupa's bridge to every Python object: a shell in three steps
    "io",
    "os.execute", "os.exit", "os.getenv", "os.remove", "os.rename", "os.tmpname", "os.setlocale",
    "package", "require", "module",
    "dofile", "loadfile", "load", "loadstring",  # no code loading: the script is its file
    "string.dump",  # bytecode: a known route to memory corruption
    "debug",  # hooks, registry, upvalues: the budget's own machinery
    "collectgarbage",  # would let a script stall or tune the collector shared with the host
    "warn",
    "math.randomseed",
    "getfenv", "setfenv", "newproxy", "gcinfo", "unpack",
)


# Environment variables a worker process is given from the engine's environment; nothing else
# crosses. The engine's environment holds its secrets (MOONHOOK_SECRET, MOONHOOK_API_TOKEN,
# MOONHOOK_MT5_PASSWORD, any token), which no worker needs: a worker that a script subverts
# must not find them in its own environment (/proc/self/environ). Names, or prefixes ending in
# "*"; matched without regard to case (Windows names are case-insensitive). PYTHONPATH is set by
# the code that starts each worker.
WORKER_ENV: tuple[str, ...] = (
    "PATH", "HOME", "LANG", "LANGUAGE", "LC_*",
    "TZ",  # os.date and os.time in scripts follow the engine's time zone
    "TMPDIR", "TEMP", "TMP",
    "LD_LIBRARY_PATH", "DYLD_LIBRARY_PATH",  # an interpreter built against libraries elsewhere
    "PYTHONHOME", "PYTHONUTF8", "PYTHONIOENCODING", "PYTHONDONTWRITEBYTECODE", "PYTHONFAULTHANDLER",
    "SYSTEMROOT", "WINDIR", "SYSTEMDRIVE", "COMSPEC", "PATHEXT",  # Windows: Python needs SYSTEMROOT
)

# The MT5 worker also loads the MetaTrader5 package, which finds the terminal and its data
# through the Windows user profile. Its login and password reach it over its pipe, never here.
MT5_WORKER_ENV: tuple[str, ...] = WORKER_ENV + (
    "APPDATA", "LOCALAPPDATA", "USERPROFILE", "HOMEDRIVE", "HOMEPATH", "USERNAME", "USERDOMAIN",
    "COMPUTERNAME", "PROGRAMDATA", "PROGRAMFILES", "PROGRAMFILES(X86)", "PROGRAMW6432",
    "COMMONPROGRAMFILES", "COMMONPROGRAMFILES(X86)", "PROCESSOR_ARCHITECTURE", "NUMBER_OF_PROCESSORS",
    "OS",
)


def worker_environment(names: tuple[str, ...], environ: Mapping[str, str]) -> dict[str, str]:
    """The entries of ``environ`` that ``names`` allow (see WORKER_ENV)."""
    exact = {n.upper() for n in names if not n.endswith("*")}
    prefixes = tuple(n[:-1].upper() for n in names if n.endswith("*"))
    return {k: v for k, v in environ.items() if k.upper() in exact or k.upper().startswith(prefixes)}


def denied_globals() -> tuple[str, ...]:
    return tuple(n for n in DENIED if "." not in n)


def denied_fields(library: str) -> tuple[str, ...]:
    prefix = library + "."
    return tuple(n[len(prefix):] for n in DENIED if n.startswith(prefix))
