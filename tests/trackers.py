"""Builds real rasa_sdk trackers and domains for action tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from rasa_sdk import Tracker

ROOT = Path(__file__).resolve().parent.parent


def load_domain() -> dict[str, Any]:
    """The project's domain, as the action server receives it."""
    return yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))


def rendered_response(name: str, variant: int = 0, **variables: Any) -> str:
    """A response's text as the caller reads it: Rasa fills ``{slot}`` from the tracker.

    Slots get their initial values (the hotline number), then ``variables`` (what an
    action passes with ``utter_message(response=..., **variables)``).
    """
    domain = load_domain()
    values = {
        slot: str(spec["initial_value"])
        for slot, spec in domain["slots"].items()
        if spec.get("initial_value") is not None
    }
    values.update({key: str(value) for key, value in variables.items()})
    text = str(domain["responses"][name][variant].get("text", ""))
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


#: What `CollectingDispatcher.utter_message` records besides a response's variables.
MESSAGE_KEYS = frozenset(
    {"text", "buttons", "elements", "custom", "template", "response", "image", "attachment"}
)


def said(message: dict[str, Any]) -> str:
    """What the caller reads for one dispatched message: its text, or its response rendered.

    An action that sends ``utter_message(response="utter_x", position=2)`` records the
    response's name and its variables; Rasa renders them, and so does this.
    """
    if message.get("response"):
        variables = {k: v for k, v in message.items() if k not in MESSAGE_KEYS}
        return rendered_response(str(message["response"]), **variables)
    return str(message.get("text") or "")


def make_tracker(
    text: str = "",
    intent: str | None = None,
    confidence: float = 0.95,
    entities: list[dict[str, Any]] | None = None,
    slots: dict[str, Any] | None = None,
    events: list[dict[str, Any]] | None = None,
    active_loop: str | None = None,
    sender_id: str = "test-user",
) -> Tracker:
    """A tracker whose latest message is ``text`` with the given NLU result."""
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence} if intent else {},
        "entities": entities or [],
    }
    all_slots = {slot: None for slot in load_domain().get("slots", {})}
    all_slots.update(slots or {})
    return Tracker(
        sender_id=sender_id,
        slots=all_slots,
        latest_message=latest,
        events=events or [],
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


def user_event(text: str, intent: str, confidence: float = 0.9) -> dict[str, Any]:
    """A serialised UserUttered event, as Rasa sends it to the action server."""
    return {
        "event": "user",
        "text": text,
        "parse_data": {"intent": {"name": intent, "confidence": confidence}, "text": text},
    }


def bot_event(text: str) -> dict[str, Any]:
    """A serialised BotUttered event."""
    return {"event": "bot", "text": text}
