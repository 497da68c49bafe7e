"""Issue 11, findings 2-5: a conversation belongs to the client that holds its secret.

Each test reproduces an attack from the issue against our real channels
(socket.io, REST, the phone line, Twilio SMS), served by Sanic on loopback with
real clients (python-socketio, aiohttp), and shows it refused. Rasa's agent is
replaced by a small one that records each message in an in-memory tracker store
and answers "echo: <text>", so no model is needed; the end-to-end path with the
model, and the length limit on the messaging channels (SMS, WhatsApp,
Telegram, Slack, Messenger, Teams), are in test_widget_socketio.py and
test_channels_live.py.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
import socketio
from rasa.core.channels.channel import UserMessage, register
from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, UserUttered
from sanic import Sanic

from bot.channels.guard import too_long_reply
from bot.channels.rest import HotlineRestInput
from bot.channels.socketio import HotlineSocketIOInput
from bot.channels.twilio_voice import HotlineVoiceInput
from bot.core.conversations import phone_conversation_id, web_conversation_id

KEY = "test-server-key"
ORIGIN = "http://localhost:8080"
LIMIT = 2000
SECRET = "cafe" * 8  # what a standard client stores as its session id


@dataclass
class RecordingAgent:
    """Stands in for Rasa's agent: records each turn and answers it."""

    tracker_store: InMemoryTrackerStore = field(
        default_factory=lambda: InMemoryTrackerStore(Domain.empty())
    )
    handled: list[UserMessage] = field(default_factory=list)

    async def handle_message(self, message: UserMessage) -> None:
        self.handled.append(message)
        tracker = await self.tracker_store.get_or_create_tracker(message.sender_id)
        tracker.update(UserUttered(message.text, input_channel=message.input_channel))
        answer = f"echo: {message.text}"
        tracker.update(BotUttered(answer))
        await self.tracker_store.save(tracker)
        if message.output_channel is not None:
            await message.output_channel.send_text_message(message.sender_id, answer)

    async def say_to(self, conversation: str, text: str) -> None:
        """Record a bot turn in a conversation, as an earlier reply would have."""
        tracker = await self.tracker_store.get_or_create_tracker(conversation)
        tracker.update(BotUttered(text))
        await self.tracker_store.save(tracker)

    def texts(self, conversation: str) -> list[str]:
        return [m.text or "" for m in self.handled if m.sender_id == conversation]


@dataclass
class Server:
    url: str
    agent: RecordingAgent
    socketio: HotlineSocketIOInput


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    """Our socket.io, REST, phone and SMS channels on a loopback Sanic server."""
    Sanic.test_mode = True
    app = Sanic(f"channels_{uuid.uuid4().hex[:8]}")
    agent = RecordingAgent()
    app.ctx.agent = agent
    sio = HotlineSocketIOInput(
        session_persistence=True,
        session_key=KEY,
        allowed_origins=[ORIGIN],
        max_message_chars=LIMIT,
    )
    channels = [
        sio,
        HotlineRestInput(max_message_chars=LIMIT),
        HotlineVoiceInput(None, "Sorry?", "Polly.Amy", session_key=KEY),
    ]
    register(channels, app, route="/webhooks/")
    port = _free_port()
    running = await app.create_server(
        host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False
    )
    assert running is not None
    await running.startup()
    task = asyncio.create_task(running.serve_forever())
    try:
        yield Server(f"http://127.0.0.1:{port}", agent, sio)
    finally:
        for connection in list(running.connections):
            connection.close()
        running.close()
        await running.wait_closed()
        task.cancel()
        await asyncio.sleep(0.2)  # let the closed sockets finish before the loop goes


class Caller:
    """A standard socket.io client (what rasa-webchat does, without any widget code)."""

    def __init__(self, url: str, origin: str | None = ORIGIN) -> None:
        self.url = url
        self.origin = origin
        self.client = socketio.AsyncClient(reconnection=False)
        self.inbox: asyncio.Queue[Any] = asyncio.Queue()
        self.confirmed: asyncio.Queue[str] = asyncio.Queue()
        self.client.on("bot_uttered", self.inbox.put_nowait)
        self.client.on("session_confirm", self.confirmed.put_nowait)

    async def connect(self, wait: float = 5) -> None:
        headers = {"Origin": self.origin} if self.origin else {}
        await self.client.connect(
            self.url, socketio_path="/socket.io", headers=headers, wait_timeout=wait
        )

    async def session(self, session_id: str | None) -> str:
        await self.client.emit("session_request", {"session_id": session_id})
        return await asyncio.wait_for(self.confirmed.get(), 5)

    async def say(self, text: str, session_id: str) -> None:
        await self.client.emit("user_uttered", {"message": text, "session_id": session_id})

    async def heard(self, timeout: float = 5) -> Any:
        return await asyncio.wait_for(self.inbox.get(), timeout)

    async def hears_nothing(self, seconds: float = 0.5) -> bool:
        await asyncio.sleep(seconds)
        return self.inbox.empty()

    async def close(self) -> None:
        await self.client.disconnect()


# --- Finding 2: socket.io ------------------------------------------------------------


async def test_a_standard_client_keeps_its_session_and_conversation(server: Server) -> None:
    caller = Caller(server.url)
    await caller.connect()
    try:
        # The client gets back the id it stored (its secret), as rasa-webchat expects ...
        assert await caller.session(SECRET) == SECRET
        await caller.say("hello", SECRET)
        assert (await caller.heard())["text"] == "echo: hello"
    finally:
        await caller.close()
    # ... but the conversation staff, logs and the tracker store see is not that secret.
    conversation = web_conversation_id(KEY, SECRET)
    assert conversation.startswith("web:") and SECRET not in conversation
    assert server.agent.texts(conversation) == ["hello"]
    # A client without a stored id gets a fresh secret, and it works the same way.
    fresh = Caller(server.url)
    await fresh.connect()
    try:
        secret = await fresh.session(None)
        assert len(secret) == 32 and secret != SECRET
        await fresh.say("hi", secret)
        assert (await fresh.heard())["text"] == "echo: hi"
    finally:
        await fresh.close()


async def test_knowing_the_conversation_id_does_not_join_the_conversation(server: Server) -> None:
    victim, attacker = Caller(server.url), Caller(server.url)
    await victim.connect()
    await attacker.connect()
    try:
        await victim.session(SECRET)
        conversation = web_conversation_id(KEY, SECRET)  # as the console and logs show it
        # The attack: session_request with the victim's id as staff and logs see it
        # (with or without its prefix), then messages with it and with what came back.
        for stolen in (conversation, conversation.removeprefix("web:")):
            granted = await attacker.session(stolen)
            await attacker.say("/restart", granted)
            await attacker.say("/restart", stolen)
        await asyncio.sleep(0.3)
        assert server.agent.texts(conversation) == []
        # A staff reply to the victim's conversation reaches the victim only.
        output = server.socketio.get_output_channel()
        assert output is not None
        await output.send_text_message(conversation, "Hello, this is Sam.", sender="staff")
        assert await victim.heard() == {"text": "Hello, this is Sam.", "sender": "staff"}
        while not attacker.inbox.empty():  # the echoes of its own, other conversations
            assert "Sam" not in str(attacker.inbox.get_nowait())
        assert await attacker.hears_nothing()
    finally:
        await victim.close()
        await attacker.close()


async def test_a_socket_sends_only_for_sessions_it_obtained(server: Server) -> None:
    victim, attacker = Caller(server.url), Caller(server.url)
    await victim.connect()
    await attacker.connect()
    try:
        await victim.session(SECRET)
        # The attack: user_uttered for a session without session_request on this socket,
        # even with the victim's very secret.
        await attacker.say("cancel my ticket", SECRET)
        assert await attacker.hears_nothing() and await victim.hears_nothing()
        assert server.agent.handled == []
    finally:
        await victim.close()
        await attacker.close()


async def test_socketio_refuses_other_origins(server: Server) -> None:
    evil = Caller(server.url, origin="http://evil.example")
    with pytest.raises(socketio.exceptions.ConnectionError):
        await evil.connect(wait=1)
    allowed = Caller(server.url)
    await allowed.connect()
    await allowed.close()


# --- Finding 3: REST --------------------------------------------------------------------


async def _rest(server: Server, body: Any) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{server.url}/webhooks/rest/webhook", json=body) as answer,
    ):
        return answer.status, await answer.json(content_type=None)


async def test_rest_cannot_reach_phone_or_web_conversations(server: Server) -> None:
    phone = phone_conversation_id(KEY, "CA" + "1" * 32)
    web = web_conversation_id(KEY, SECRET)
    for target in ("+447700900123", phone, web, SECRET):
        status, replies = await _rest(server, {"sender": target, "message": "/restart"})
        assert status == 200
        assert replies[0]["recipient_id"] == f"rest:{target}"
    # Nothing reached the phone number's, the call's or the web caller's conversation.
    assert {m.sender_id for m in server.agent.handled} == {
        f"rest:{t}" for t in ("+447700900123", phone, web, SECRET)
    }
    # ... and every one of them was handled as REST (no `input_channel` override).
    status, _ = await _rest(server, {"sender": "me", "message": "hi", "input_channel": "socketio"})
    assert status == 200
    assert {m.input_channel for m in server.agent.handled} == {"rest"}


async def test_rest_never_moves_a_web_callers_output_channel(server: Server) -> None:
    caller = Caller(server.url)
    await caller.connect()
    try:
        await caller.session(SECRET)
        await caller.say("I'd like to talk to a person", SECRET)
        await caller.heard()
        web = web_conversation_id(KEY, SECRET)
        await _rest(server, {"sender": web, "message": "hello from REST"})
        tracker = await server.agent.tracker_store.retrieve(web)
        assert tracker is not None
        # `output_channel=latest` would pick this: still socket.io, so advisers still reach them.
        assert tracker.get_latest_input_channel() == "socketio"
    finally:
        await caller.close()


@pytest.mark.parametrize(
    "body",
    [{"message": "hello"}, {"sender": "", "message": "x"}, {"sender": 5, "message": "x"}],
)
async def test_rest_without_a_sender_is_refused(server: Server, body: dict[str, Any]) -> None:
    status, answer = await _rest(server, body)
    assert status == 400 and "sender" in answer["error"]
    assert server.agent.handled == []  # nobody shares a `default` conversation


async def test_rest_with_a_token_refuses_requests_without_it() -> None:
    channel = HotlineRestInput(token="s3cret")

    class Headers(dict[str, str]):
        pass

    class Request:
        def __init__(self, auth: str | None) -> None:
            self.headers = Headers({"Authorization": auth} if auth else {})

    assert not channel._authorised(Request(None))  # type: ignore[arg-type]
    assert not channel._authorised(Request("Bearer wrong"))  # type: ignore[arg-type]
    assert channel._authorised(Request("Bearer s3cret"))  # type: ignore[arg-type]


# --- Finding 4: the phone line ----------------------------------------------------------


async def _voice(server: Server, **form: str) -> str:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{server.url}/webhooks/twilio_voice/webhook", data=form) as answer,
    ):
        assert answer.status == 200, await answer.text()
        return await answer.text()


async def test_the_phone_repeats_only_its_own_calls_last_turn(server: Server) -> None:
    victim_number = "+447700900123"
    victim_call = "CA" + uuid.uuid4().hex
    said = await _voice(
        server, CallSid=victim_call, From=victim_number, SpeechResult="my reference is 42"
    )
    assert "my reference is 42" in said
    # The same call, silent: the last thing is said again.
    again = await _voice(server, CallSid=victim_call, From=victim_number)
    assert "my reference is 42" in again
    web = web_conversation_id(KEY, SECRET)
    await server.agent.say_to(web, "A web caller's private answer")
    await server.agent.say_to(victim_number, "An answer stored under the bare number")
    # The attack (no TWILIO_AUTH_TOKEN): an empty SpeechResult with `From` naming
    # someone else's conversation, from another call.
    for named in (victim_number, web, SECRET):
        heard = await _voice(server, CallSid="CA" + uuid.uuid4().hex, From=named)
        assert "42" not in heard and "private" not in heard and "bare number" not in heard
        assert "Sorry?" in heard  # the fallback, as for a call with nothing said yet
    # Without a call id there is no conversation to read at all.
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{server.url}/webhooks/twilio_voice/webhook", data={"From": web}) as answer,
    ):
        assert answer.status == 400


# --- Finding 5: message length, on every channel ----------------------------------------


async def test_socketio_long_message_gets_a_reply_and_the_conversation_continues(
    server: Server,
) -> None:
    caller = Caller(server.url)
    await caller.connect()
    try:
        await caller.session(SECRET)
        await caller.say("x" * (LIMIT + 1), SECRET)
        assert (await caller.heard())["text"] == too_long_reply(LIMIT)
        await caller.say("y" * LIMIT, SECRET)  # at the limit: handled
        assert (await caller.heard())["text"] == "echo: " + "y" * LIMIT
    finally:
        await caller.close()
    assert server.agent.texts(web_conversation_id(KEY, SECRET)) == ["y" * LIMIT]


@pytest.mark.parametrize("size", [LIMIT + 1, 1_000_000, 10_000_000])
async def test_rest_long_message_gets_a_clear_reply(server: Server, size: int) -> None:
    status, replies = await _rest(server, {"sender": "big", "message": "a " * (size // 2 + 1)})
    assert status == 200
    assert replies == [{"recipient_id": "rest:big", "text": too_long_reply(LIMIT)}]
    assert server.agent.handled == []
    status, replies = await _rest(server, {"sender": "big", "message": "what is a mutual?"})
    assert replies[0]["text"] == "echo: what is a mutual?"


async def test_voice_long_speech_gets_a_spoken_reply(server: Server) -> None:
    call = "CA" + uuid.uuid4().hex
    said = await _voice(server, CallSid=call, From="+447700900555", SpeechResult="la " * 400_000)
    assert "too long" in said and "<Gather" in said
    assert server.agent.handled == []


def test_the_limit_is_the_setting_and_the_reply_names_it() -> None:
    assert "2,000 characters" in too_long_reply(2000)
    assert "{limit}" not in too_long_reply(2000)


def test_the_option_reply_pattern_is_linear_on_long_spaces() -> None:
    """`\\s*[.)!]?\\s*$` took quadratic time over a long run of spaces; no longer."""
    import time

    from bot.channels.choices import _REPLY, reply_number

    hostile = "a" + " " * 20_000 + "x"
    started = time.perf_counter()
    assert _REPLY.match(hostile) is None
    assert time.perf_counter() - started < 0.5
    assert reply_number(" 2. ") == 2 and reply_number("option two !") == 2
    assert reply_number("two" + " " * 50) is None  # longer than any option reply


# --- Finding 8: bad input is a 4xx or a normal answer, never a 500 ------------------------


@pytest.mark.parametrize("silence", ["abc", "²", "-1", "99999999999999999999", " 1", ""])
async def test_a_forged_silence_counter_is_read_as_none(server: Server, silence: str) -> None:
    call = "CA" + uuid.uuid4().hex
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{server.url}/webhooks/twilio_voice/webhook",
            params={"silence": silence},
            data={"CallSid": call, "From": "+447700900555"},
        ) as answer,
    ):
        assert answer.status == 200
        assert "<Response>" in await answer.text()


# --- Finding 6: every web chat message says, unforgeably, which address it came from ----


async def test_the_channel_sets_the_client_key_and_a_client_cannot_forge_it(
    server: Server,
) -> None:
    from bot.core.conversations import CLIENT_KEY_FIELD, client_key

    caller = Caller(server.url)
    await caller.connect()
    try:
        await caller.session(SECRET)
        forged = {CLIENT_KEY_FIELD: "addr:" + "0" * 32, "other": "kept"}
        await caller.client.emit(
            "user_uttered", {"message": "hi", "session_id": SECRET, "metadata": forged}
        )
        await caller.heard()
    finally:
        await caller.close()
    (message,) = server.agent.handled
    assert message.metadata[CLIENT_KEY_FIELD] == client_key(KEY, "127.0.0.1")
    assert message.metadata["other"] == "kept"


async def test_the_channel_reports_when_a_conversations_last_socket_goes_and_comes_back(
    server: Server,
) -> None:
    reports: list[tuple[str, bool]] = []
    server.socketio.report_presence = lambda c, p: reports.append((c, p))  # type: ignore[method-assign]
    conversation = web_conversation_id(KEY, SECRET)
    first, second = Caller(server.url), Caller(server.url)
    await first.connect()
    await second.connect()
    await first.session(SECRET)
    await second.session(SECRET)  # the same chat open in two tabs
    assert reports == [(conversation, True), (conversation, True)]
    await first.close()
    await asyncio.sleep(0.3)
    assert (conversation, False) not in reports  # one tab still has it
    await second.close()
    await asyncio.sleep(0.3)
    assert reports[-1] == (conversation, False)
    again = Caller(server.url)
    await again.connect()
    try:
        await again.session(SECRET)
        assert reports[-1] == (conversation, True)
    finally:
        await again.close()
