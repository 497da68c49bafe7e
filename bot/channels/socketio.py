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

Enable it in credentials.yml in place of `socketio:` (same settings):
`bot.channels.socketio.HotlineSocketIOInput:`. The mapping is documented in
docs/handoff.md, "Widget".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketIOInput, SocketIOOutput
from sanic import Blueprint

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


class HotlineSocketIOInput(SocketIOInput):
    """`SocketIOInput` whose replies and API-sent messages use `HotlineSocketIOOutput`."""

    def get_output_channel(self) -> OutputChannel | None:
        """Output for messages sent through the HTTP API (`output_channel=latest`).

        Returns:
            The output channel, or None before the socket.io server exists.

        """
        if self.sio is None:
            return super().get_output_channel()
        return HotlineSocketIOOutput(self.sio, self.bot_message_evt)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Rasa's blueprint, with replies to caller messages sent through our output.

        Args:
            on_new_message: Rasa's handler for a caller message.

        Returns:
            The Sanic blueprint.

        """

        async def handle(message: UserMessage) -> Any:
            if self.sio is not None and type(message.output_channel) is SocketIOOutput:
                message.output_channel = HotlineSocketIOOutput(self.sio, self.bot_message_evt)
            return await on_new_message(message)

        return super().blueprint(handle)
