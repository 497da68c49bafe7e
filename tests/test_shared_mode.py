"""Two web apps on one PostgreSQL database in shared mode (HOTLINE_PUBSUB_URL).

Each app has its own engine, console hub, queue worker and Redis subscription,
as two web processes would; only the database and Redis are shared. (The
cluster tests, tests/test_cluster.py, run the same behind HAProxy as real
processes.) Without the database's queue lock, concurrent creations on the two
apps hand out the same place; without the fan-out, a console on one app never
hears of tickets created on the other.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient

from bot.config import Settings
from bot.db import leases
from bot.db.session import create_engine, create_sessionmaker
from tests.handoff_support import (
    INTERNAL,
    PASSWORDS,
    FakeRasa,
    create_handoff,
    create_staff,
    handoff_settings_for,
    login,
)

pytestmark = pytest.mark.postgres
N = 50


@pytest_asyncio.fixture
async def shared(
    pg_database_url: str, redis_url: str, sqlite_settings: Settings, fake_rasa: FakeRasa
) -> Settings:
    from bot.db.migrate import downgrade, upgrade

    settings = sqlite_settings.with_database(pg_database_url)
    downgrade(settings, "base")
    upgrade(settings)
    settings = handoff_settings_for(
        settings, fake_rasa, pubsub_url=redis_url, hotline_max_queue=N + 10
    )
    await create_staff(settings)
    return settings


@pytest_asyncio.fixture
async def two_apps(aiohttp_client: Any, shared: Settings) -> AsyncIterator[list[TestClient]]:
    from bot.web.app import create_app

    yield [await aiohttp_client(create_app(shared)), await aiohttp_client(create_app(shared))]


async def until(predicate: Callable[[], bool], timeout: float = 10) -> None:
    """Wait until `predicate()` holds (events arrive from another task)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        if predicate():
            return
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def _console_events(ws: Any, into: list[dict[str, Any]]) -> None:
    async for message in ws:
        into.append(json.loads(message.data))


async def test_places_are_distinct_and_consoles_see_both_apps(
    two_apps: list[TestClient], fake_rasa: FakeRasa
) -> None:
    one, two = two_apps
    await one.post("/api/login", json={"username": "sup", "password": PASSWORDS["sup"]})
    seen: list[dict[str, Any]] = []
    async with one.ws_connect("/console/ws") as ws:
        first = json.loads((await ws.receive()).data)
        assert first["type"] == "snapshot"
        reader = asyncio.create_task(_console_events(ws, seen))
        run = uuid.uuid4().hex[:8]
        tickets = await asyncio.gather(
            *(create_handoff(two_apps[i % 2], f"web:{run}-{i}") for i in range(N))
        )
        assert sorted(t["position"] for t in tickets) == list(range(1, N + 1))
        assert all(t["created"] for t in tickets)

        # The console on app 1 hears of every ticket, half of them made on app 2, once each.
        await until(lambda: sum(1 for e in seen if e.get("event") == "created") >= N)
        created = [e["ticket"]["id"] for e in seen if e.get("event") == "created"]
        assert sorted(created) == sorted(t["id"] for t in tickets)

        # Caller messages relayed through either app reach this console exactly once.
        for i in range(10):
            response = await two_apps[(i + 1) % 2].post(
                f"/internal/handoffs/web:{run}-{i}/messages",
                json={"text": f"caller says {i}", "message_id": f"m-{run}-{i}"},
                headers=INTERNAL,
            )
            assert response.status == 202
        # The same message again (a retry through the other app) is stored once, never re-sent.
        response = await one.post(
            f"/internal/handoffs/web:{run}-0/messages",
            json={"text": "caller says 0", "message_id": f"m-{run}-0"},
            headers=INTERNAL,
        )
        assert (await response.json())["stored"] is False

        def caller_texts() -> list[str]:
            return [
                e["message"]["text"]
                for e in seen
                if e["type"] == "message" and e["message"]["sender"] == "caller"
            ]

        await until(lambda: len(caller_texts()) >= 10)
        await asyncio.sleep(0.3)  # a duplicate would arrive in this time
        texts = caller_texts()
        assert sorted(texts) == sorted(f"caller says {i}" for i in range(10))
        reader.cancel()

    # Claiming the first ticket moves everyone up: each waiting caller is told once,
    # although both apps' workers saw changes.
    fake_rasa.posted.clear()
    headers = await login(two, "sup")
    claimed = sorted(tickets, key=lambda t: t["position"])[0]
    response = await two.post(f"/api/handoffs/{claimed['id']}/claim", headers=headers)
    assert response.status == 200
    waiting = {f"web:{run}-{i}": t["position"] for i, t in enumerate(tickets) if t is not claimed}

    def updates() -> dict[str, list[int]]:
        told: dict[str, list[int]] = {}
        for cid, events, _ in fake_rasa.posted:
            for event in events:
                place = (event.get("metadata") or {}).get("queue_position")
                if place is not None:
                    told.setdefault(cid, []).append(place)
        return told

    await fake_rasa.wait_for(lambda: len(updates()) == N - 1, timeout=15)
    await asyncio.sleep(0.5)
    assert updates() == {cid: [place - 1] for cid, place in waiting.items()}


async def test_the_queue_cap_holds_for_callers_arriving_at_once_on_both_apps(
    aiohttp_client: Any, shared: Settings
) -> None:
    from bot.web.app import create_app

    capped = replace(shared, hotline_max_queue=5)
    apps = [await aiohttp_client(create_app(capped)), await aiohttp_client(create_app(capped))]
    run = uuid.uuid4().hex[:8]

    async def ask(i: int) -> int:
        response = await apps[i % 2].post(
            "/internal/handoffs",
            json={"conversation_id": f"web:cap-{run}-{i}", "channel": "socketio"},
            headers=INTERNAL,
        )
        return response.status

    statuses = await asyncio.gather(*(ask(i) for i in range(12)))
    assert sorted(statuses) == [201] * 5 + [409] * 7


async def test_lease_is_held_by_one_until_released_or_expired(shared: Settings) -> None:
    engine = create_engine(shared)
    sessions = create_sessionmaker(engine)
    try:
        async with sessions() as session:
            assert await leases.take(session, "test.job", "a", 30)
            assert not await leases.take(session, "test.job", "b", 30)
            await leases.release(session, "test.job", "b")  # not b's: left alone
            assert not await leases.take(session, "test.job", "b", 30)
            await leases.release(session, "test.job", "a")
            assert await leases.take(session, "test.job", "b", 0.01)
            await asyncio.sleep(0.05)
            assert await leases.take(session, "test.job", "a", 30)  # b's ran out
    finally:
        await engine.dispose()


def test_shared_mode_needs_postgresql() -> None:
    from bot.config import ConfigError

    with pytest.raises(ConfigError, match="PostgreSQL"):
        Settings.from_env({"HOTLINE_PUBSUB_URL": "redis://localhost:6379/0"})
    with pytest.raises(ConfigError, match="redis://"):
        Settings.from_env({"DATABASE_URL": "postgresql://u@h/db", "HOTLINE_PUBSUB_URL": "http://x"})
    settings = Settings.from_env(
        {"DATABASE_URL": "postgresql://u@h/db", "HOTLINE_PUBSUB_URL": "redis://h:6379/1"}
    )
    assert replace(settings).pubsub_url == "redis://h:6379/1"
