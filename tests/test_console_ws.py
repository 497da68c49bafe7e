"""The console WebSocket: snapshot, live ticket and message events, login and origin checks."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient

from tests.handoff_support import PASSWORDS, create_handoff, login, relay


async def _receive(ws: aiohttp.ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    while True:
        message = await ws.receive(timeout=5)
        assert message.type == aiohttp.WSMsgType.TEXT, message
        data = json.loads(message.data)
        if data["type"] == kind:
            return data


async def _cookie_login(client: TestClient, user: str = "alice") -> None:
    response = await client.post("/api/login", json={"username": user, "password": PASSWORDS[user]})
    assert response.status == 200


async def test_websocket_pushes_tickets_and_messages(client: TestClient) -> None:
    await create_handoff(client, "ws-0")
    await _cookie_login(client)
    async with client.ws_connect("/console/ws") as ws:
        snapshot = await _receive(ws, "snapshot")
        assert [t["conversation_id"] for t in snapshot["tickets"]] == ["ws-0"]

        created = await create_handoff(client, "ws-1", reason="<b>bold</b>")
        event = await _receive(ws, "ticket")
        assert event["event"] == "created" and event["ticket"]["id"] == created["id"]
        assert event["ticket"]["reason"] == "<b>bold</b>"  # data, escaped by the page
        note = await _receive(ws, "message")
        assert note["message"]["sender"] == "system"

        await relay(client, "ws-1", "is anyone there?", "m-1")
        message = await _receive(ws, "message")
        assert message["ticket_id"] == created["id"]
        assert message["message"]["sender"] == "caller"
        assert message["message"]["text"] == "is anyone there?"

        await relay(client, "ws-1", "is anyone there?", "m-1")  # duplicate: no event
        headers = await login(client, "bob")
        await client.post(f"/api/handoffs/{created['id']}/claim", headers=headers)
        update = await _receive(ws, "ticket")
        assert update["ticket"]["status"] == "assigned"
        assert update["ticket"]["assigned_to"] == "bob"
        claim_note = await _receive(ws, "message")
        assert claim_note["message"]["sender"] == "system"

        reply = await client.post(
            f"/api/handoffs/{created['id']}/reply", json={"text": "Yes, hello"}, headers=headers
        )
        assert reply.status == 201
        staff = await _receive(ws, "message")
        assert staff["message"]["sender"] == "staff"
        assert staff["message"]["staff_name"] == "Bob Adviser"


async def test_websocket_needs_login_and_same_origin(client: TestClient) -> None:
    response = await client.get("/console/ws")
    assert response.status == 401
    await _cookie_login(client)
    cross = await client.get(
        "/console/ws",
        headers={
            "Origin": "https://evil.example",
            "Upgrade": "websocket",
            "Connection": "Upgrade",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
    )
    assert cross.status == 403
