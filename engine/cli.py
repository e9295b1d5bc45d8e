"""The ``moonhook`` command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import trio

SAMPLE_ALERT = {"symbol": "EURUSD", "action": "buy", "price": 1.0850, "sl": 1.0800, "tp": 1.0950,
                "risk": 1.0, "id": "demo-1"}


async def _demo(scripts: Path) -> int:
    """Loads every script in ``scripts`` into the sandbox pool and runs a sample alert through
    each plugin's on_alert, in priority order, printing what each did."""
    from sandbox import Budget, SandboxError, open_pool

    files = sorted(scripts.glob("*.lua"))
    if not files:
        print(f"moonhook: no scripts in {scripts}/ (add a .lua strategy there)", file=sys.stderr)
        return 1
    failures = 0
    async def log_info(*parts: object) -> None:
        print("    log:", *parts)

    async with open_pool(workers=2) as pool:
        for f in files:
            try:
                await pool.load(f.stem, f.read_text(encoding="utf-8"), chunkname=f.name,
                                budget=Budget(timeout=0.05), host={"log.info": log_info})
                reply = await pool.call(f.stem, "on_alert", dict(SAMPLE_ALERT))
                print(f"  {f.name}: on_alert -> {reply.values}")
            except SandboxError as e:
                failures += 1
                print(f"  {f.name}: {e.kind} error at {e.file}:{e.line}: {e}")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="moonhook")
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="start the engine")
    run.add_argument("--scripts", type=Path, default=Path("scripts"))
    a = p.parse_args(argv)
    if a.command == "run":
        print("moonhook: the engine core (issues 3 and 4) is not built yet; running the sandbox "
              f"demo on {a.scripts}/ with a sample alert instead.")
        return trio.run(_demo, a.scripts)
    return 2


if __name__ == "__main__":
    sys.exit(main())
