"""Rasa's socket.io channel, delivering who sent a message (bot or staff) to the web widget.

Rasa 3.6's `SocketIOOutput` drops everything but the text of a bot message:
`OutputChannel.send_response` passes the `BotUttered` metadata as keyword arguments
and `send_text_message` ignores them, so a staff reply appended through the tracker
events API reaches the browser as a bare `{"text": ...}`. And its
`send_custom_json` spreads the custom payload into `AsyncServer.emit(**payload)`,
so `{"typing": true}` raises `TypeError` (only `{"data": {...}}` works).

This subclass keeps the channel's name (`socketio`, so `output_channel=latest`
still finds it) and its events, and:

- adds the message fields in `FORWARDED_FIELDS` (`sender`, `staff_name`,
  `queue_position`, `handoff_state`) to every `bot_uttered` payload that carries them;
- emits any other custom payload as the `bot_uttered` data itself
  (`{"typing": true, "sender": "staff"}` arrives as exactly that); the stock
  `{"data": {...}}` form still works.

`HotlineSocketIOInput` also makes a conversation belong to the client holding
its session secret (conversation ids are keyed hashes of it), takes messages only
from the socket that obtained the session, admits only `CORS_ORIGINS` and limits
message length (issue 11; docs/design.md, "Security").

Enable it in credentials.yml in place of `socketio:` (same settings):
`bot.channels.socketio.HotlineSocketIOInput:`. The mapping is documented in
docs/handoff.md, "Widget".
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import aiohttp
from rasa.core.channels.channel import OutputChannel, UserMessage, decode_bearer_token
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncRedisManager, AsyncServer

from bot.channels import guard
from bot.core.conversations import (
    CLIENT_KEY_FIELD,
    client_address,
    client_key,
    is_session_secret,
    new_session_secret,
    web_conversation_id,
)
from bot.core.pubsub import channel_name

logger = logging.getLogger(__name__)

FORWARDED_FIELDS = ("sender", "staff_name", "queue_position", "handoff_state")
_STOCK_CUSTOM_KEYS = frozenset({"data", "room", "to"})


def forwarded(fields: dict[str, Any]) -> dict[str, Any]:
    """Pick the fields the widget needs from a message's keyword arguments.

    Args:
        fields: The keyword arguments `send_response` passes (the bot message's
            data and metadata).

    Returns:
        The forwarded fields that are set (`handoff_state` also when null, since
        "no longer handed over" is news).

    """
    picked = {key: fields[key] for key in FORWARDED_FIELDS if fields.get(key) is not None}
    if "handoff_state" in fields:
        picked["handoff_state"] = fields["handoff_state"]
    return picked


class HotlineSocketIOOutput(SocketIOOutput):
    """`SocketIOOutput` that keeps the sender and handoff fields of a message."""

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Send each paragraph as one `bot_uttered`, with the forwarded fields.

        Args:
            recipient_id: The conversation (socket.io room) id.
            text: The message text.
            **kwargs: The message's other data and metadata.

        """
        extra = forwarded(kwargs)
        for part in text.strip().split("\n\n"):
            await self._send_message(recipient_id, {"text": part, **extra})

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        """Send the text with quick replies attached to its last paragraph.

        Args:
            recipient_id: The conversation (socket.io room) id.
            text: The message text.
            buttons: Rasa buttons (`title`, `payload`).
            **kwargs: The message's other data and metadata.

        """
        extra = forwarded(kwargs)
        parts = text.strip().split("\n\n") or [text]
        replies = [
            {"content_type": "text", "title": b["title"], "payload": b["payload"]} for b in buttons
        ]
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            await self._send_message(
                recipient_id, {"text": part, "quick_replies": replies if last else [], **extra}
            )

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        """Emit a custom payload as the `bot_uttered` data.

        Args:
            recipient_id: The conversation (socket.io room) id.
            json_message: The custom payload, e.g. `{"typing": true, "sender": "staff"}`.
            **kwargs: The message's other data and metadata.

        """
        if json_message and set(json_message) <= _STOCK_CUSTOM_KEYS and "data" in json_message:
            await super().send_custom_json(recipient_id, json_message, **kwargs)
            return
        await self._send_message(recipient_id, {**forwarded(kwargs), **json_message})


#: The engine.io cookie naming the socket's session id, which the balancer reads
#: from the handshake's answer to keep the socket's later requests on this instance.
STICKY_COOKIE = "io"


def shared_mode_options(pubsub_url: str | None = None) -> dict[str, Any]:
    """`AsyncServer` options for several Rasa instances (`HOTLINE_PUBSUB_URL`).

    Every emit goes through Redis, so a bot, queue or staff message sent by any
    instance (the web app reaches Rasa through the balancer) reaches the socket
    wherever it is connected, and exactly once: only the instance holding the
    socket has it in the conversation's room. The sid cookie lets HAProxy keep a
    polling socket's requests on the instance that made it (`bot/cluster.py`).

    Args:
        pubsub_url: The Redis URL; this process's settings when omitted.

    Returns:
        `{}` in the single-process default.

    """
    url = guard.channel_settings().pubsub_url if pubsub_url is None else pubsub_url
    if not url:
        return {}
    channel = channel_name("socketio", guard.session_key())
    return {
        "client_manager": AsyncRedisManager(url, channel=channel),
        "cookie": STICKY_COOKIE,
    }


class HotlineSocketIOInput(SocketIOInput):
    """`SocketIOInput` where a conversation belongs to the socket that holds its secret.

    Rasa's channel puts a socket in whatever room `session_request` names and
    takes `user_uttered` from any socket for any `session_id`, and the id is the
    conversation id staff and logs see (issue 11, finding 2). Here:

    - the `session_id` a client offers (or one made for it) is its *secret*; the
      conversation id is `web:` + HMAC(secret) (`bot.core.conversations`), and the
      socket joins that room. `session_confirm` still returns the secret, so a
      standard client (rasa-webchat) stores it and sends it back as before;
    - a socket may send `user_uttered` only for a session it obtained itself
      with `session_request`; anything else is dropped;
    - a connection whose `Origin` is not in `CORS_ORIGINS` is refused (clients
      that send no `Origin`, i.e. not browsers, are let in: only a browser can be
      made to connect on someone else's behalf);
    - messages over the length limit never reach Rasa (`bot.channels.guard`).
    """

    # A socket that asks for more sessions than this leaves the oldest one's room.
    MAX_SESSIONS_PER_SOCKET = 4

    def __init__(
        self,
        *args: Any,
        session_key: str | None = None,
        allowed_origins: Iterable[str] | None = None,
        max_message_chars: int | None = None,
        **kwargs: Any,
    ) -> None:
        """Rasa's settings, plus ours (from the application settings when omitted).

        Args:
            *args: `SocketIOInput`'s arguments.
            session_key: The server key for conversation ids.
            allowed_origins: Browser origins allowed to connect (`CORS_ORIGINS`).
            max_message_chars: The longest message handed to Rasa.
            **kwargs: `SocketIOInput`'s keyword arguments.

        """
        super().__init__(*args, **kwargs)
        self._session_key = session_key
        self._allowed_origins = None if allowed_origins is None else frozenset(allowed_origins)
        self._max_message_chars = max_message_chars
        # socket id -> the conversations it obtained through session_request.
        self._sessions: dict[str, list[str]] = {}
        # socket id -> the caller's client key (`bot.core.conversations.client_key`).
        self._clients: dict[str, str | None] = {}
        # Presence reports in flight (kept so they are not garbage-collected mid-call).
        self._reports: set[asyncio.Task[None]] = set()

    def report_presence(self, conversation: str, present: bool) -> None:
        """Tells the web app, in the background, that a conversation's chat came or went.

        A waiting caller whose chat stays closed gives up their place
        (`HOTLINE_QUEUE_LEFT_SECONDS`); nothing is reported without the internal token.
        """
        settings = guard.channel_settings()
        if not settings.internal_token:
            return
        task = asyncio.create_task(
            _post_presence(settings.hotline_app_url, settings.internal_token, conversation, present)
        )
        self._reports.add(task)
        task.add_done_callback(self._reports.discard)

    @property
    def session_key(self) -> str:
        """The server key for conversation ids."""
        return self._session_key or guard.session_key()

    @property
    def allowed_origins(self) -> frozenset[str]:
        """Browser origins allowed to connect."""
        if self._allowed_origins is None:
            return frozenset(guard.channel_settings().cors_origins)
        return self._allowed_origins

    def conversation_of(self, socket_id: str, secret: object) -> str | None:
        """The conversation a socket may write to with a session secret.

        Args:
            socket_id: The socket.io id of the sending socket.
            secret: The `session_id` the socket sent.

        Returns:
            The conversation id, or None unless this socket obtained it.

        """
        if not is_session_secret(secret):
            return None
        conversation = web_conversation_id(self.session_key, str(secret))
        return conversation if conversation in self._sessions.get(socket_id, ()) else None

    def get_output_channel(self) -> OutputChannel | None:
        """Output for messages sent through the HTTP API (`output_channel=latest`).

        Returns:
            The output channel, or None before the socket.io server exists.

        """
        if self.sio is None:
            return super().get_output_channel()
        return HotlineSocketIOOutput(self.sio, self.bot_message_evt)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The socket.io server: origins, sessions by secret, messages by their owner.

        Args:
            on_new_message: Rasa's handler for a caller message.

        Returns:
            The Sanic blueprint.

        """
        # No CORS handling in engine.io itself: Rasa's Sanic CORS (--cors) adds the
        # headers, and two sets of them break browsers. Origins are checked on connect.
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=[], **shared_mode_options())
        socketio_webhook = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio
        handle = guard.limited(on_new_message, self._max_message_chars)
        namespace = self.namespace

        @socketio_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=namespace)
        async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
            origin = environ.get("HTTP_ORIGIN")
            if origin and origin not in self.allowed_origins:
                logger.warning("Refused a socket.io connection from origin %r", origin)
                return False
            # Who is calling, as a key the web app can count tickets and callbacks by.
            address = client_address(
                environ.get("REMOTE_ADDR"), environ.get("HTTP_X_FORWARDED_FOR")
            )
            self._clients[sid] = client_key(self.session_key, address)
            if self.jwt_key:
                token = auth.get("token") if isinstance(auth, dict) else None
                payload = (
                    decode_bearer_token(token, self.jwt_key, self.jwt_algorithm) if token else None
                )
                return bool(payload)
            return True

        @sio.on("disconnect", namespace=namespace)
        async def disconnect(sid: str) -> None:
            left = self._sessions.pop(sid, [])
            self._clients.pop(sid, None)
            for conversation in left:
                # Gone only when no other socket of this process still has it open.
                if not any(conversation in held for held in self._sessions.values()):
                    self.report_presence(conversation, False)

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: str, data: Any = None) -> None:
            offered = data.get("session_id") if isinstance(data, dict) else None
            # A missing, short or odd id gets a fresh secret, as Rasa makes one for None.
            secret = str(offered) if is_session_secret(offered) else new_session_secret()
            if self.session_persistence:
                conversation = web_conversation_id(self.session_key, secret)
                sessions = self._sessions.setdefault(sid, [])
                if conversation not in sessions:
                    sessions.append(conversation)
                    sio.enter_room(sid, conversation, namespace=namespace)
                    self.report_presence(conversation, True)
                while len(sessions) > self.MAX_SESSIONS_PER_SOCKET:
                    sio.leave_room(sid, sessions.pop(0), namespace=namespace)
            await sio.emit("session_confirm", secret, room=sid, namespace=namespace)

        @sio.on(self.user_message_evt, namespace=namespace)
        async def handle_message(sid: str, data: Any = None) -> None:
            if not isinstance(data, dict):
                return
            if self.session_persistence:
                sender_id = self.conversation_of(sid, data.get("session_id"))
                if sender_id is None:
                    logger.warning(
                        "Dropped a socket.io message for a session this socket did not obtain"
                    )
                    return
            else:
                sender_id = sid
            text = data.get("message")
            metadata = data.get(self.metadata_key) or {}
            if isinstance(metadata, str):
                try:
                    metadata = json.loads(metadata)
                except ValueError:
                    metadata = {}
            metadata = dict(metadata) if isinstance(metadata, dict) else {}
            # Set by us, never by the client: a client could otherwise pose as another.
            metadata[CLIENT_KEY_FIELD] = self._clients.get(sid)
            message = UserMessage(
                text if isinstance(text, str) else "",
                HotlineSocketIOOutput(sio, self.bot_message_evt),
                sender_id,
                input_channel=self.name(),
                metadata=metadata,
            )
            await handle(message)

        return socketio_webhook


async def _post_presence(base_url: str, token: str, conversation: str, present: bool) -> None:
    """`POST /internal/handoffs/{conversation}/presence`; a failure is logged, not raised."""
    url = f"{base_url.rstrip('/')}/internal/handoffs/{conversation}/presence"
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http,
            http.post(
                url, json={"present": present}, headers={"Authorization": f"Bearer {token}"}
            ) as answer,
        ):
            if answer.status >= 400:
                logger.warning("presence report for a conversation answered %d", answer.status)
    except (aiohttp.ClientError, TimeoutError) as error:
        logger.warning("presence report failed: %s", error)
