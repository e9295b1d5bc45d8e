"""``python -m sandbox run FILE.lua``: one script, in the isolation the engine uses.

Prints exactly one JSON line, ``{"ok": true, "result": ...}`` or ``{"ok": false, "error":
{"kind": ..., "message": ...}}``, and exits 0 when ok, 1 otherwise (2 for a usage error).
What the script prints goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import trio

from .budget import MB, Budget
from .errors import SandboxError


def _json_array(text: str) -> list:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise argparse.ArgumentTypeError(f"not JSON: {e}") from None
    if not isinstance(value, list):
        raise argparse.ArgumentTypeError("must be a JSON array of arguments, e.g. '[1, \"EURUSD\"]'")
    return value


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="load a script, optionally call one of its functions")
    run.add_argument("file", type=Path)
    run.add_argument("--call", metavar="FUNC", help="global function to call after the chunk ran")
    run.add_argument("--args", metavar="JSON_ARRAY", type=_json_array, default=[],
                     help="arguments for FUNC, as a JSON array")
    run.add_argument("--instructions", type=int, default=10_000_000, metavar="N")
    run.add_argument("--timeout", type=float, default=1.0, metavar="SECONDS")
    run.add_argument("--memory", type=float, default=16, metavar="MB")
    return p


def _plain(value: Any) -> Any:
    """NaN and infinities are not JSON: spell them as strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


async def run(file: Path, call: str | None, args: list, budget: Budget) -> dict:
    from .pool import open_pool

    try:
        source = file.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        message = f"{file}: not UTF-8 text ({e.reason} at byte {e.start})"
        return {"ok": False, "error": {"kind": "script", "message": message}}
    async with open_pool(workers=1, spares=0) as pool:
        try:
            reply = await pool.load("main", source, chunkname=file.name, budget=budget)
            if reply.log:
                print(reply.log, file=sys.stderr)
            if call:
                reply = await pool.call("main", call, *args)
        except SandboxError as e:
            if getattr(e, "log", None):
                print(e.log, file=sys.stderr)
            return {"ok": False, "error": e.to_dict()}
    if call and reply.log:
        print(reply.log, file=sys.stderr)
    values = reply.values
    result = None if not values else values[0] if len(values) == 1 else values
    return {"ok": True, "result": _plain(result)}


def main(argv: list[str] | None = None) -> int:
    a = _parser().parse_args(argv)
    try:
        budget = Budget(a.instructions, a.timeout, int(a.memory * MB))
    except ValueError as e:
        _parser().error(str(e))
    if not a.file.is_file():
        _parser().error(f"{a.file}: no such file")
    out = trio.run(run, a.file, a.call, a.args, budget)
    print(json.dumps(out, ensure_ascii=False))
    return 0 if out["ok"] else 1
