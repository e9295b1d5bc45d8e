"""The ``moonhook`` command line.

``moonhook run`` starts the engine on its embedded defaults (the paper broker, SQLite in
./data, the scripts in ./scripts). Until the webhook server exists (issue 4), alerts come in
on standard input: one webhook body per line, JSON or a text command, each answered with
its journal id and then what became of it.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import trio

from .alerts import AlertError, parse_body
from .config import EngineConfig
from .pipeline import Engine, open_engine


async def _serve_stdin(engine: Engine) -> None:
    stdin = trio.wrap_file(sys.stdin)
    async for line in stdin:
        body = line.strip()
        if not body or body.startswith("#"):
            continue
        try:
            alert = parse_body(body, engine.symbols)
        except AlertError as e:
            print(json.dumps({"error": str(e)}), flush=True)
            continue
        recorded = await engine.submit(alert)
        if recorded.duplicate:
            print(json.dumps({"status": "duplicate", "id": recorded.id, "of": recorded.duplicate_of}), flush=True)
            continue
        await engine.drain()
        row = engine.journal.get(recorded.id)
        print(json.dumps({"id": recorded.id, "status": row["status"], "outcome": row["outcome"]}), flush=True)


async def _run(config: EngineConfig) -> int:
    async with open_engine(config) as engine:
        names = ", ".join(p.name for p in engine.plugins) or "none"
        print(f"moonhook: {len(engine.plugins)} plugins live from {config.scripts}/ ({names}); "
              f"paper broker; journal {config.database}", file=sys.stderr)
        for file, error in engine.load_errors.items():
            print(f"moonhook: not loaded: {error}", file=sys.stderr)
        print("moonhook: reading alerts from standard input, one per line (the webhook server "
              "comes with issue 4); end with Ctrl-D", file=sys.stderr)
        await _serve_stdin(engine)
    return 1 if engine.load_errors else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="moonhook")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start the engine")
    run.add_argument("--scripts", type=Path, default=Path("scripts"), help="the strategies folder (./scripts)")
    run.add_argument("--data", type=Path, default=Path("data"), help="the data folder (./data)")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    if a.command == "run":
        return trio.run(_run, EngineConfig(scripts=a.scripts, data=a.data))
    return 2


if __name__ == "__main__":
    sys.exit(main())
