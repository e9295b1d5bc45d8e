"""Client errors that used to give a 5xx (TradingView repeats a 5xx three times): each is a 400
naming the field, and nothing is journaled. Over real HTTP, against a real engine."""

from __future__ import annotations

import json

from support.engine_support import running
from support.web_support import AUTH, SECRET, serving

HEAD = '{"secret": "%s", "symbol": "EURUSD", "action": "buy", "volume": 0.1' % SECRET


async def test_bodies_that_once_gave_5xx_are_400_naming_the_field_and_leave_no_record(tmp_path):
    bodies = {
        "surrogate before the secret": ('{"note": "\\ud800", ' + HEAD[1:] + "}", "note"),
        "surrogate in a known field": (HEAD + ', "comment": "a\\udfffb"}', "comment"),
        "huge price": (HEAD + ', "price": 1' + "0" * 400 + "}", "price"),
        "deep nesting": (HEAD + ', "meta": ' + "[" * 40 + "]" * 40 + "}", "meta"),
        "NaN in an unknown field": (HEAD + ', "meta": {"x": NaN}}', "meta.x"),
        "Infinity in an unknown field": (HEAD + ', "meta": [1, -Infinity]}', "meta[1]"),
        "huge integer in an unknown field": (HEAD + ', "n": 1' + "0" * 30 + "}", "n"),
    }
    async with running(tmp_path) as engine, serving(engine) as client:
        answers = {name: await client.post("/webhook", content=body.encode()) for name, (body, _) in bodies.items()}
        text = await client.post(f"/webhook/{SECRET}", content=b'buy EURUSD volume=0.1 id="x\\ud800"')
        health = await client.get("/health")
        listed = await client.get("/api/alerts", headers=AUTH)
        rows = engine.journal.recent(50)
    for name, (_, field) in bodies.items():
        answer = answers[name]
        assert answer.status_code == 400, (name, answer.status_code, answer.text)
        assert answer.json()["error"].startswith(field + ":"), (name, answer.json())
    assert text.status_code == 400 and text.json()["error"].startswith("id:"), text.text
    assert health.json()["status"] == "ok"
    assert rows == [] and json.loads(listed.text)["alerts"] == []


async def test_an_unreadable_body_without_a_path_secret_is_refused_as_unauthenticated(tmp_path):
    async with running(tmp_path) as engine, serving(engine) as client:
        answer = await client.post("/webhook", content=b'{"secret": "' + SECRET.encode() + b'", "x": ')
    assert answer.status_code == 401 and answer.json()["error"].startswith("missing secret")
