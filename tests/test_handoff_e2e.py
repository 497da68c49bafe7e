"""End to end: a caller on socket.io, an adviser on the JSON API, the real stack between.

request -> queue -> claim -> staff reply received live -> caller message relayed
with the bot silent -> hand back -> the bot answers again.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import aiohttp
import pytest
import socketio

from tests.live_stack import LiveStack

pytestmark = pytest.mark.model
REPLY_TIMEOUT = 20.0


class Caller:
    """A standard python-socketio client speaking Rasa's socket.io protocol."""

    def __init__(self, rasa_url: str) -> None:
        self.url = rasa_url
        self.session_id = uuid.uuid4().hex
        self.client = socketio.AsyncClient(reconnection=False)
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.client.on("bot_uttered", self._received)

    async def _received(self, message: dict[str, Any]) -> None:
        await self.inbox.put(message)

    async def connect(self) -> None:
        confirmed = asyncio.Event()
        self.client.on("session_confirm", lambda *_: confirmed.set())
        await self.client.connect(self.url, transports=["websocket"])
        await self.client.emit("session_request", {"session_id": self.session_id})
        await asyncio.wait_for(confirmed.wait(), 10)

    async def say(self, text: str) -> None:
        await self.client.emit("user_uttered", {"message": text, "session_id": self.session_id})

    async def next_text(self, timeout: float = REPLY_TIMEOUT) -> dict[str, Any]:
        """The next message with text (typing indicators are skipped)."""
        while True:
            message = await asyncio.wait_for(self.inbox.get(), timeout)
            if message.get("text"):
                return message

    async def wait_for(self, words: str, timeout: float = REPLY_TIMEOUT) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            message = await self.next_text(max(0.1, deadline - loop.time()))
            if words.lower() in message["text"].lower():
                return message

    async def silence(self, seconds: float) -> list[dict[str, Any]]:
        """Everything with text received in the next ``seconds``."""
        await asyncio.sleep(seconds)
        received = []
        while not self.inbox.empty():
            message = self.inbox.get_nowait()
            if message.get("text"):
                received.append(message)
        return received


async def staff_session(stack: LiveStack, http: aiohttp.ClientSession) -> dict[str, str]:
    async with http.post(
        f"{stack.web_url}/api/login",
        json={"username": stack.admin_user, "password": stack.admin_password},
    ) as response:
        assert response.status == 200, await response.text()
        return {"Authorization": f"Bearer {(await response.json())['token']}"}


async def find_ticket(
    stack: LiveStack, http: aiohttp.ClientSession, headers: dict[str, str], conversation_id: str
) -> dict[str, Any]:
    for _ in range(50):
        async with http.get(f"{stack.web_url}/api/handoffs", headers=headers) as response:
            assert response.status == 200
            body = await response.json()
        items = body["items"] if isinstance(body, dict) else body
        for item in items:
            if item["conversation_id"] == conversation_id:
                return item
        await asyncio.sleep(0.2)
    raise AssertionError(f"no ticket for {conversation_id}")


async def test_handoff_round_trip(live_stack: LiveStack) -> None:
    caller = Caller(live_stack.rasa_url)
    await caller.connect()
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{live_stack.web_url}/api/handoffs") as response:
                assert response.status == 401  # the staff API is behind login
            headers = await staff_session(live_stack, http)

            await caller.say("I'd like to speak to a person please")
            await caller.wait_for("what would you like help with")
            await caller.say("We need help with a business plan for our youth service")
            await caller.wait_for("in the queue")

            # The console shows the conversation id, never the caller's session secret.
            conversation = live_stack.web_conversation(caller.session_id)
            assert caller.session_id not in conversation
            ticket = await find_ticket(live_stack, http, headers, conversation)
            assert ticket["status"] == "queued"
            assert "business plan" in ticket["reason"]
            assert ticket["channel"] == "socketio"

            base = f"{live_stack.web_url}/api/handoffs/{ticket['id']}"
            async with http.post(f"{base}/claim", headers=headers) as response:
                assert response.status == 200, await response.text()
            await caller.wait_for("adviser")

            async with http.post(
                f"{base}/reply",
                headers=headers,
                json={"text": "Hello, I'm an adviser. How can I help?"},
            ) as response:
                assert response.status in (200, 201), await response.text()
            reply = await caller.wait_for("How can I help?")
            assert (reply.get("metadata") or {}).get("sender") == "staff" or "staff" in str(reply)

            await caller.say("what is a mutual?")
            assert await caller.silence(3) == []  # the bot says nothing while staff have it
            async with http.get(base, headers=headers) as response:
                transcript = str(await response.json())
            assert "what is a mutual?" in transcript

            async with http.post(f"{base}/release", headers=headers) as response:
                assert response.status == 200, await response.text()
            await caller.wait_for("back with")
            await caller.say("what is a mutual?")
            answer = await caller.wait_for("public service mutual")
            assert "spun out" in answer["text"]
    finally:
        await caller.client.disconnect()
