"""What the handoff needs from the outside, as protocols, and the events it sends.

The handoff domain (tickets, queue, operations) talks to Rasa's conversations
and to the staff consoles only through these protocols; the web app provides
the implementations (``bot/web/rasa_client.py`` over aiohttp, ``bot/web/hub.py``
over WebSockets). So the domain imports neither aiohttp nor the web app.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol


class RasaUnavailable(RuntimeError):
    """Rasa could not be reached, refused the call, or no token is configured."""


class Conversations(Protocol):
    """Rasa's conversations: append events to one (delivering bot messages), read one."""

    @property
    def enabled(self) -> bool:
        """Whether calls can be made at all."""

    async def append_events(self, conversation_id: str, events: Sequence[dict[str, Any]]) -> None:
        """Append events; raises `RasaUnavailable` if that fails."""

    async def get_tracker(self, conversation_id: str) -> dict[str, Any]:
        """The conversation's tracker; raises `RasaUnavailable` if that fails."""


class Broadcaster(Protocol):
    """The staff consoles: an event pushed to every one that is open."""

    async def broadcast(self, payload: dict[str, Any]) -> None:
        """Push one event; never raises for a console that went away."""


def bot_message(text: str, **metadata: Any) -> dict[str, Any]:
    """A `bot` event that Rasa delivers to the caller."""
    event: dict[str, Any] = {"event": "bot", "text": text}
    if metadata:
        event["metadata"] = metadata
    return event


def slot_event(name: str, value: Any) -> dict[str, Any]:
    """A `slot` (SlotSet) event."""
    return {"event": "slot", "name": name, "value": value}


TYPING_EVENT: dict[str, Any] = {
    "event": "bot",
    "data": {"custom": {"typing": True, "sender": "staff"}},
}
