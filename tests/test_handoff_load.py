"""20 conversations handed over at once: relay and reply latency (printed, loosely bounded).

Measures, through the real web app and a fake Rasa on loopback:
- caller message → console: internal relay POST until the console WebSocket has the event;
- staff reply → caller: API reply POST until (fake) Rasa has received the bot event.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.config import Settings
from tests.handoff_support import (
    INTERNAL,
    PASSWORDS,
    FakeRasa,
    create_handoff,
    handoff_settings_for,
    login,
)

N = 20


@pytest.fixture
def handoff_settings(db_settings: Settings, fake_rasa: FakeRasa) -> Settings:
    """Room for all N callers: the queue's cap holds exactly, even for callers arriving at once."""
    return handoff_settings_for(db_settings, fake_rasa, hotline_max_queue=N)


def _stats(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    p95 = ms[max(0, round(0.95 * len(ms)) - 1)]
    return f"median {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms, max {ms[-1]:.1f} ms"


async def test_twenty_concurrent_handoffs(client: TestClient, fake_rasa: FakeRasa) -> None:
    await client.post("/api/login", json={"username": "sup", "password": PASSWORDS["sup"]})
    arrived: dict[str, float] = {}
    all_arrived = asyncio.Event()
    async with client.ws_connect("/console/ws") as ws:

        async def reader() -> None:
            async for message in ws:
                data = json.loads(message.data)
                if data["type"] == "message" and data["message"]["sender"] == "caller":
                    arrived[data["message"]["text"]] = time.perf_counter()
                    if len(arrived) == N:
                        all_arrived.set()

        task = asyncio.create_task(reader())
        tickets = await asyncio.gather(*(create_handoff(client, f"load-{i}") for i in range(N)))
        assert sorted(t["position"] for t in tickets) == list(range(1, N + 1))

        sent: dict[str, float] = {}

        async def caller(i: int) -> None:
            text = f"caller message {i}"
            sent[text] = time.perf_counter()
            response = await client.post(
                f"/internal/handoffs/load-{i}/messages",
                json={"text": text, "message_id": f"lm-{i}"},
                headers=INTERNAL,
            )
            assert response.status == 202

        await asyncio.gather(*(caller(i) for i in range(N)))
        await asyncio.wait_for(all_arrived.wait(), 10)
        task.cancel()
    relay = [arrived[t] - sent[t] for t in sent]
    assert len(relay) == N

    # Four advisers each take five conversations, then all reply at once.
    advisers = [await login(client, "sup")] * 4
    for i, ticket in enumerate(tickets):
        response = await client.post(f"/api/handoffs/{ticket['id']}/claim", headers=advisers[i % 4])
        assert response.status == 200
    fake_rasa.posted.clear()
    started: dict[str, float] = {}

    async def reply(i: int, ticket: dict[str, Any]) -> None:
        started[f"load-{i}"] = time.perf_counter()
        response = await client.post(
            f"/api/handoffs/{ticket['id']}/reply",
            json={"text": f"staff reply {i}"},
            headers=advisers[i % 4],
        )
        assert response.status == 201

    await asyncio.gather(*(reply(i, t) for i, t in enumerate(tickets)))
    received = {
        cid: at
        for cid, events, at in fake_rasa.posted
        if events[0].get("text", "").startswith("staff")
    }
    replies = [received[cid] - started[cid] for cid in started]
    print(f"\ncaller → console ({N} at once): {_stats(relay)}")
    print(f"staff reply → Rasa ({N} at once): {_stats(replies)}")
    assert max(relay) < 5 and max(replies) < 5
