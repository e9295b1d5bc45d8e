"""``moonhook replay``: recorded alerts through a folder of scripts on a simulated broker
(docs/replay.md)."""

from __future__ import annotations

import argparse
import sys


def add_parser(sub: "argparse._SubParsersAction", common: argparse.ArgumentParser) -> None:
    sub.add_parser("replay", parents=[common], help="replay recorded alerts through a folder of scripts")


def main(a: argparse.Namespace) -> int:
    print("moonhook: replay is not built yet", file=sys.stderr)
    return 2
