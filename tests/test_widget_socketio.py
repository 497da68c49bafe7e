"""Rasa's socket.io channel works with a standard client, not only the widget."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import aiohttp
import pytest
import socketio

from tests.live_stack import LiveStack

pytestmark = pytest.mark.model


async def _client(stack: LiveStack) -> tuple[socketio.AsyncClient, asyncio.Queue[Any], str]:
    """Connect, ask for a session, and return the client, its inbox and the session id."""
    client = socketio.AsyncClient(reconnection=False)
    inbox: asyncio.Queue[Any] = asyncio.Queue()
    confirmed: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    client.on("bot_uttered", inbox.put_nowait)
    client.on("session_confirm", lambda sid: confirmed.done() or confirmed.set_result(sid))
    await client.connect(stack.rasa_url, socketio_path="/socket.io", wait_timeout=10)
    session_id = uuid.uuid4().hex
    await client.emit("session_request", {"session_id": session_id})
    assert await asyncio.wait_for(confirmed, 10) == session_id
    return client, inbox, session_id


async def test_python_socketio_client_talks_to_rasa(live_stack: LiveStack) -> None:
    client, inbox, session_id = await _client(live_stack)
    try:
        message = {"message": "what is a mutual?", "session_id": session_id}
        await client.emit("user_uttered", message)
        first = await asyncio.wait_for(inbox.get(), 30)
        assert isinstance(first, dict) and first.get("text")
        assert "mutual" in first["text"].lower()
    finally:
        await client.disconnect()


async def test_staff_message_through_the_rasa_api_reaches_the_socket(live_stack: LiveStack) -> None:
    """The delivery path of docs/handoff.md: tracker events API, output_channel=latest."""
    client, inbox, session_id = await _client(live_stack)
    try:
        await client.emit("user_uttered", {"message": "hello", "session_id": session_id})
        await asyncio.wait_for(inbox.get(), 30)
        await asyncio.sleep(1)
        while not inbox.empty():
            inbox.get_nowait()
        # Staff and Rasa's API know the conversation id, never the caller's secret.
        conversation = live_stack.web_conversation(session_id)
        url = (
            f"{live_stack.rasa_url}/conversations/{conversation}/tracker/events"
            "?output_channel=latest&execute_side_effects=true"
        )
        auth = {"Authorization": f"Bearer {live_stack.rasa_token}"}
        events = [
            {"event": "bot", "data": {"custom": {"typing": True, "sender": "staff"}}},
            {
                "event": "bot",
                "text": "Hello, this is Sam.",
                "metadata": {"sender": "staff", "staff_name": "Sam"},
            },
        ]
        async with (
            aiohttp.ClientSession() as http,
            http.post(url, json=events, headers=auth) as response,
        ):
            assert response.status == 200, await response.text()
        assert await asyncio.wait_for(inbox.get(), 10) == {"typing": True, "sender": "staff"}
        assert await asyncio.wait_for(inbox.get(), 10) == {
            "text": "Hello, this is Sam.",
            "sender": "staff",
            "staff_name": "Sam",
        }
    finally:
        await client.disconnect()
