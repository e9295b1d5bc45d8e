"""The webhook bench's steady phase alone: 200 alerts a second over HTTP to the bench's server
(10 plugins), 3 rounds of 10 s, the answer and the receipt-to-broker latencies.

    python -m bench.steady

Run it in two checkouts in turn (A, B, A, B) to tell a change from the hour's drift; bench/NOTES.md
quotes such a run where a p99 moved."""

from __future__ import annotations

import trio

from .stats import summary
from .webhook_bench import Server, steady


def main(rounds: int = 3, seconds: float = 10.0) -> dict:
    server = Server("moonhook")
    latencies, receipts, known = [], [], set()
    try:
        for _ in range(rounds):
            latencies.append(trio.run(steady, server.url, 200.0, seconds))
            calls = server.calls(len(latencies[-1]), known)
            known |= set(calls)
            receipts.append([call - receipt for receipt, call in calls.values()])
    finally:
        server.stop()
    return {"receipt_to_broker_ms": summary(receipts, scale=1000), "answer_ms": summary(latencies, scale=1000)}


if __name__ == "__main__":
    for name, figures in main().items():
        print(name, {k: v for k, v in figures.items() if k != "runs"})
