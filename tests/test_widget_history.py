"""Issue 11, finding 2: `/widget/history` gives a conversation only to its secret's holder.

The attack: `GET /widget/history?session_id=<a conversation id>` returned that
conversation's bot and staff messages to anyone who named it, and the id
travelled in the URL. Now the widget posts its session secret in the body, and
the conversation is found with the same keyed hash as Rasa's socket.io channel.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.config import Settings
from bot.core.conversations import web_conversation_id
from bot.db.migrate import upgrade
from bot.web.app import create_app
from tests.handoff_support import FakeRasa, handoff_settings_for

KEY = "widget-history-test-key"
SECRET = "beef" * 8
STAFF_REPLY = {
    "event": "bot",
    "text": "Your reference is 42, Priya",
    "metadata": {"sender": "staff", "staff_name": "Priya"},
}


@pytest.fixture
async def client(aiohttp_client: Any, sqlite_settings: Settings, fake_rasa: FakeRasa) -> TestClient:
    upgrade(sqlite_settings)
    settings = replace(handoff_settings_for(sqlite_settings, fake_rasa), session_key=KEY)
    conversation = web_conversation_id(KEY, SECRET)
    fake_rasa.trackers[conversation] = {"sender_id": conversation, "events": [STAFF_REPLY]}
    return await aiohttp_client(create_app(settings))


async def test_the_secret_holder_gets_the_conversation(client: TestClient) -> None:
    response = await client.post("/widget/history", json={"session_id": SECRET})
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    (item,) = (await response.json())["items"]
    assert item["text"] == STAFF_REPLY["text"] and item["sender"] == "staff"


async def test_knowing_the_conversation_id_gives_nothing(client: TestClient) -> None:
    conversation = web_conversation_id(KEY, SECRET)  # as staff, logs and URLs show it
    for named in (conversation.removeprefix("web:"), conversation.replace(":", "_")):
        response = await client.post("/widget/history", json={"session_id": named})
        assert response.status == 200
        assert (await response.json())["items"] == []
    # The old way, with the id in the URL, is gone altogether.
    old = await client.get("/widget/history", params={"session_id": SECRET})
    assert old.status == 405


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {},
        {"session_id": ""},
        {"session_id": "x"},
        {"session_id": "../../etc/passwd"},
        {"session_id": "a" * 200},
        {"session_id": "<script>"},
        {"session_id": 12345678901234567890},
    ],
)
async def test_malformed_secrets_are_refused(client: TestClient, body: Any) -> None:
    response = await client.post("/widget/history", json=body)
    assert response.status == 400


async def test_only_the_embedding_sites_may_ask_across_origins(client: TestClient) -> None:
    allowed = "http://localhost:8080"
    preflight = {"Origin": allowed, "Access-Control-Request-Method": "POST"}
    answer = await client.options("/widget/history", headers=preflight)
    assert answer.status == 204
    assert answer.headers["Access-Control-Allow-Origin"] == allowed
    assert "Content-Type" in answer.headers["Access-Control-Allow-Headers"]
    evil = await client.options(
        "/widget/history", headers={**preflight, "Origin": "http://x.example"}
    )
    assert "Access-Control-Allow-Origin" not in evil.headers
    response = await client.post(
        "/widget/history", json={"session_id": SECRET}, headers={"Origin": "http://x.example"}
    )
    assert "Access-Control-Allow-Origin" not in response.headers
