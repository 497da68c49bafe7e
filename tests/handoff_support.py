"""Fixtures for the handoff, console and staff tests (loaded by conftest's pytest_plugins).

Rasa is faked by a tiny aiohttp server on loopback that records the events the
web app posts and serves canned trackers: that is our own boundary (the lead's
end-to-end test runs a real Rasa).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.config import Settings
from bot.core.hours import parse_hours

INTERNAL_TOKEN = "internal-test-token-0123456789"
RASA_TOKEN = "rasa-test-token-0123456789"
PASSWORDS = {
    "sup": "supervisor-password-1",
    "alice": "alice-password-12345",
    "bob": "bob-password-1234567",
}
INTERNAL = {"Authorization": f"Bearer {INTERNAL_TOKEN}"}


@dataclass
class FakeRasa:
    """Records tracker events posted to it; serves trackers set by the test."""

    server: TestServer | None = None
    posted: list[tuple[str, list[dict[str, Any]], float]] = field(default_factory=list)
    trackers: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("")).rstrip("/")

    def events_for(self, conversation_id: str) -> list[dict[str, Any]]:
        return [e for cid, events, _ in self.posted if cid == conversation_id for e in events]

    def texts_for(self, conversation_id: str) -> list[str]:
        return [e["text"] for e in self.events_for(conversation_id) if e.get("text")]

    async def wait_for(self, predicate: Any, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out; posted: {self.posted}")
            self.changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.changed.wait(), remaining)

    async def post_events(self, request: web.Request) -> web.Response:
        # As Rasa behind bot/rasa_runtime.py: the token in a header, never the URL.
        if (
            "token" in request.query
            or request.headers.get("Authorization") != f"Bearer {RASA_TOKEN}"
        ):
            return web.json_response({"error": "bad token"}, status=401)
        if self.fail:
            return web.json_response({"error": "boom"}, status=500)
        assert request.query.get("output_channel") == "latest"
        assert request.query.get("execute_side_effects") == "true"
        events = await request.json()
        self.posted.append((request.match_info["cid"], events, time.perf_counter()))
        self.changed.set()
        return web.json_response({"sender_id": request.match_info["cid"], "events": []})

    async def get_tracker(self, request: web.Request) -> web.Response:
        # As Rasa behind bot/rasa_runtime.py: the token in a header, never the URL.
        if (
            "token" in request.query
            or request.headers.get("Authorization") != f"Bearer {RASA_TOKEN}"
        ):
            return web.json_response({"error": "bad token"}, status=401)
        if self.fail:
            return web.json_response({"error": "boom"}, status=500)
        cid = request.match_info["cid"]
        return web.json_response(
            self.trackers.get(cid, {"sender_id": cid, "slots": {}, "events": []})
        )


@pytest_asyncio.fixture
async def fake_rasa(aiohttp_server: Any) -> FakeRasa:
    fake = FakeRasa()
    app = web.Application()
    app.router.add_post("/conversations/{cid}/tracker/events", fake.post_events)
    app.router.add_get("/conversations/{cid}/tracker", fake.get_tracker)
    fake.server = await aiohttp_server(app)
    return fake


def handoff_settings_for(settings: Settings, fake: FakeRasa, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "hotline_hours": parse_hours("always"),
        "internal_token": INTERNAL_TOKEN,
        "rasa_url": fake.url,
        "rasa_token": RASA_TOKEN,
        "cookie_secure": False,
    }
    values.update(changes)
    return replace(settings, **values)


@pytest.fixture
def handoff_settings(db_settings: Settings, fake_rasa: FakeRasa) -> Settings:
    """Migrated database (SQLite, then PostgreSQL), always staffed, fake Rasa."""
    return handoff_settings_for(db_settings, fake_rasa)


async def create_staff(settings: Settings) -> None:
    from bot.db.session import create_engine, create_sessionmaker
    from bot.staff.accounts import create_user

    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            await create_user(session, "sup", PASSWORDS["sup"], "supervisor", "Sam Supervisor")
            await create_user(session, "alice", PASSWORDS["alice"], "agent", "Alice Adviser")
            await create_user(session, "bob", PASSWORDS["bob"], "agent", "Bob Adviser")
            await session.commit()
    finally:
        await engine.dispose()


@pytest_asyncio.fixture
async def staffed(handoff_settings: Settings) -> Settings:
    """`handoff_settings` with accounts sup (supervisor), alice and bob (agents)."""
    await create_staff(handoff_settings)
    return handoff_settings


@pytest_asyncio.fixture
async def client(aiohttp_client: Any, staffed: Settings) -> AsyncIterator[TestClient]:
    from bot.web.app import create_app

    yield await aiohttp_client(create_app(staffed))


async def login(client: TestClient, username: str) -> dict[str, str]:
    """Sign in through the API; returns Bearer headers."""
    response = await client.post(
        "/api/login", json={"username": username, "password": PASSWORDS[username]}
    )
    assert response.status == 200, await response.text()
    body = await response.json()
    return {"Authorization": f"Bearer {body['token']}"}


async def create_handoff(client: TestClient, conversation_id: str, **extra: Any) -> dict[str, Any]:
    payload = {"conversation_id": conversation_id, "channel": "socketio", "reason": "help"}
    payload.update(extra)
    response = await client.post("/internal/handoffs", json=payload, headers=INTERNAL)
    assert response.status == 201, await response.text()
    return await response.json()


async def relay(
    client: TestClient, conversation_id: str, text: str, message_id: str
) -> dict[str, Any]:
    response = await client.post(
        f"/internal/handoffs/{conversation_id}/messages",
        json={"text": text, "message_id": message_id},
        headers=INTERNAL,
    )
    assert response.status == 202, await response.text()
    return await response.json()
