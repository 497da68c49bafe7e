"""Handing a caller over to a person, and the conversation while a person has it.

The web app keeps the tickets; these actions reach it through its internal API
(:mod:`actions.hotline_api`, contract in docs/handoff.md). While
``handoff_active`` is true, rules send every caller message to
``action_relay_to_agent``, so the bot stays silent and the tracker still holds
the whole conversation.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.endpoint import ConfiguredAction
from actions.forms import SKIP_WORDS
from actions.hotline_api import HotlineApi, HotlineUnavailable
from bot.core.conversations import CLIENT_KEY_FIELD
from bot.core.phone import format_uk_phone
from bot.core.waits import wait_in_words
from bot.handoff.summary import one_line, summarise

logger = logging.getLogger(__name__)

# Channels that cannot push a message to the caller later: an adviser's reply
# would never arrive, so callers there are offered a callback instead.
NO_PUSH_CHANNELS = frozenset({"rest", "cmdline", ""})
VOICE_CHANNELS = frozenset({"twilio_voice"})
AVAILABILITY_SLOT = "handoff_availability"


def cannot_transfer(tracker: Tracker) -> bool:
    """Whether this is a phone call the line cannot transfer (no ``HOTLINE_STAFF_NUMBER``).

    The phone channel says so in each message's metadata, so the bot decides before it
    speaks: it never says "I'm putting you through" and then "I can't".
    """
    if channel_of(tracker) not in VOICE_CHANNELS:
        return False
    voice = (tracker.latest_message.get("metadata") or {}).get("twilio_voice") or {}
    return voice.get("can_transfer") is False


class HotlineAction(ConfiguredAction):
    """An action that talks to the web app's internal API."""

    @property
    def api(self) -> HotlineApi:
        """The internal API, as the settings place it."""
        return HotlineApi.from_settings(self.settings)


#: What a caller reads when the web app cannot be reached.
UNREACHABLE = "utter_handoff_unreachable"


def channel_of(tracker: Tracker) -> str:
    """Returns the name of the channel the caller is using."""
    return tracker.get_latest_input_channel() or ""


def queue_message(position: int, wait_seconds: float | int | None) -> dict[str, Any]:
    """Tells the caller their place in the queue and the expected wait.

    Returns:
        ``utter_message`` arguments: the response and its variables.
    """
    wait = wait_in_words(wait_seconds)
    if position <= 1:
        return {"response": "utter_handoff_queued_next", "wait": wait}
    return {"response": "utter_handoff_queued", "position": position, "wait": wait}


def closed_message(availability: dict[str, Any]) -> dict[str, Any]:
    """Explains why no adviser can take the conversation now.

    Returns:
        ``utter_message`` arguments: the response and its variables.
    """
    if availability.get("reason") in ("queue_full", "too_many"):
        # "too_many": this caller's address holds its share of the queue (a flood limit).
        return {"response": "utter_handoff_queue_full"}
    hours = availability.get("hours")
    if hours:
        return {"response": "utter_handoff_closed_hours", "hours": str(hours)}
    return {"response": "utter_handoff_closed"}


def ticket_payload(tracker: Tracker, reason: str, priority: str) -> dict[str, Any]:
    """Builds the ticket request: who, why, how urgent and what the bot learned."""
    summary = summarise(tracker.events, tracker.slots)
    summary["one_line"] = one_line(summary)
    return {
        "conversation_id": tracker.sender_id,
        "channel": channel_of(tracker),
        "reason": reason,
        "priority": priority,
        "summary": summary,
        "client_key": client_key_of(tracker),
    }


def client_key_of(tracker: Tracker) -> str | None:
    """The caller's address key the channel put in the message (none: not a web chat)."""
    metadata = tracker.latest_message.get("metadata") or {}
    value = metadata.get(CLIENT_KEY_FIELD) if isinstance(metadata, dict) else None
    return value if isinstance(value, str) else None


# The custom payload that makes the phone channel transfer the call to
# HOTLINE_STAFF_NUMBER (docs/handoff.md, "Phone"); the channel owns the number.
DIAL_MESSAGE: dict[str, Any] = {"handoff": "dial"}


async def open_ticket(
    api: HotlineApi,
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    reason: str,
    priority: str,
) -> list[EventType]:
    """Opens (or finds) the caller's ticket and tells them where they stand."""
    try:
        status, body = await api.request(
            "POST", "/internal/handoffs", ticket_payload(tracker, reason, priority)
        )
    except HotlineUnavailable as error:
        logger.warning("handoff request failed: %s", error)
        dispatcher.utter_message(response=UNREACHABLE)
        return [SlotSet(AVAILABILITY_SLOT, "unavailable")]
    if status not in (200, 201):
        dispatcher.utter_message(**closed_message(body))
        dispatcher.utter_message(response="utter_callback_offer")
        return [SlotSet(AVAILABILITY_SLOT, "closed")]
    if channel_of(tracker) in VOICE_CHANNELS:
        # The call itself is transferred: nothing is relayed, so the bot stays in
        # charge of the call if the transfer fails (docs/handoff.md, "Phone").
        dispatcher.utter_message(response="utter_handoff_transfer")
        dispatcher.utter_message(json_message=DIAL_MESSAGE)
        return [SlotSet("handoff_state", "transferred"), SlotSet("handoff_priority", priority)]
    dispatcher.utter_message(
        **queue_message(int(body.get("position") or 1), body.get("expected_wait_seconds"))
    )
    return [
        SlotSet("handoff_active", True),
        SlotSet("handoff_state", str(body.get("status") or "queued")),
        SlotSet("handoff_priority", priority),
    ]


async def availability(api: HotlineApi) -> dict[str, Any] | None:
    """Asks the web app whether an adviser can take a conversation now (None: unreachable)."""
    try:
        _, body = await api.request("GET", "/internal/availability")
    except HotlineUnavailable as error:
        logger.warning("availability check failed: %s", error)
        return None
    return body


class ActionHandoffOffer(HotlineAction):
    """Decides how a caller who asked for a person can reach one."""

    def name(self) -> str:
        """Returns the action's name."""
        return "action_handoff_offer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Sets ``handoff_availability``; rules then ask for a reason or offer a callback."""
        if tracker.get_slot("handoff_active"):
            dispatcher.utter_message(response="utter_handoff_already_queued")
            return [SlotSet(AVAILABILITY_SLOT, "busy")]
        if channel_of(tracker) in NO_PUSH_CHANNELS:
            dispatcher.utter_message(response="utter_handoff_no_push")
            return [SlotSet(AVAILABILITY_SLOT, "unavailable")]
        if cannot_transfer(tracker):
            # The rule for "unavailable" then offers the callback.
            dispatcher.utter_message(response="utter_handoff_no_transfer")
            return [SlotSet(AVAILABILITY_SLOT, "unavailable")]
        status = await availability(self.api)
        if status is None:
            dispatcher.utter_message(response=UNREACHABLE)
            return [SlotSet(AVAILABILITY_SLOT, "unavailable")]
        if not status.get("accepting"):
            dispatcher.utter_message(**closed_message(status))
            closed = "busy" if status.get("reason") == "queue_full" else "closed"
            return [SlotSet(AVAILABILITY_SLOT, closed)]
        return [SlotSet(AVAILABILITY_SLOT, "staffed"), SlotSet("handoff_reason", None)]


class ActionHandoffRequest(HotlineAction):
    """Queues the caller once they have given (or skipped) a reason."""

    def name(self) -> str:
        """Returns the action's name."""
        return "action_handoff_request"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Opens the ticket with priority normal."""
        reason = tracker.get_slot("handoff_reason") or ""
        return await open_ticket(self.api, dispatcher, tracker, reason, "normal")


class ActionHandoffStop(Action):
    """While the caller is asked for a reason, tells a skip from a change of mind.

    The NLU reads "skip" as ``stop``; a skip answers the question (no reason given) and
    the form goes on to queue the caller, while "cancel" or "never mind" ends it.
    """

    def name(self) -> str:
        """Returns the action's name."""
        return "action_handoff_stop"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Skips the question, or leaves the form and says so."""
        if SKIP_WORDS.match(str(tracker.latest_message.get("text") or "")):
            # The form stays active: the rules run it again, and it queues the caller.
            return [SlotSet("handoff_reason", ""), ActiveLoop("handoff_form")]
        dispatcher.utter_message(response="utter_handoff_cancelled")
        return [ActiveLoop(None), SlotSet("requested_slot", None)]


class ActionHandoffUrgent(HotlineAction):
    """Hands over at once, first in the queue, for complaints and signs of distress."""

    def name(self) -> str:
        """Returns the action's name."""
        return "action_handoff_urgent"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Opens an urgent ticket with the caller's own words as the reason."""
        if tracker.get_slot("handoff_active"):
            return []
        if channel_of(tracker) in NO_PUSH_CHANNELS:
            dispatcher.utter_message(response="utter_handoff_call_instead")
            return []
        if cannot_transfer(tracker):
            dispatcher.utter_message(response="utter_handoff_no_transfer")
            dispatcher.utter_message(response="utter_callback_offer")
            return [SlotSet(AVAILABILITY_SLOT, "unavailable")]
        reason = (tracker.latest_message.get("text") or "")[:500]
        return await open_ticket(self.api, dispatcher, tracker, reason, "urgent")


def is_leaving_queue(tracker: Tracker) -> bool:
    """Tells whether a queued caller is asking to leave the queue."""
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    text = (tracker.latest_message.get("text") or "").lower()
    return tracker.get_slot("handoff_state") == "queued" and (
        intent == "stop"
        or re.search(r"\b(never ?mind|nevermind|leave the queue)\b", text) is not None
    )


class ActionRelayToAgent(HotlineAction):
    """Passes a caller's message to the adviser; the bot itself says nothing."""

    def name(self) -> str:
        """Returns the action's name."""
        return "action_relay_to_agent"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Relays the message, or takes the caller out of the queue if they ask."""
        api = self.api
        path = f"/internal/handoffs/{tracker.sender_id}"
        try:
            if is_leaving_queue(tracker):
                await api.request("POST", f"{path}/cancel")
                dispatcher.utter_message(response="utter_handoff_left_queue")
                return end_of_handoff()
            status, _ = await api.request(
                "POST",
                f"{path}/messages",
                {
                    "text": tracker.latest_message.get("text") or "",
                    "message_id": tracker.latest_message.get("message_id"),
                },
            )
        except HotlineUnavailable as error:
            logger.warning("relay failed: %s", error)
            dispatcher.utter_message(response="utter_handoff_relay_failed")
            return []
        if status == 404:
            # The ticket was closed meanwhile: the bot takes the conversation back.
            dispatcher.utter_message(response="utter_handoff_ended")
            return end_of_handoff()
        return []


def end_of_handoff() -> list[EventType]:
    """Events that give the conversation back to the bot."""
    return [
        SlotSet("handoff_active", False),
        SlotSet("handoff_state", None),
        SlotSet(AVAILABILITY_SLOT, None),
    ]


class ActionCallbackRequest(HotlineAction):
    """Books the callback the caller asked for."""

    def name(self) -> str:
        """Returns the action's name."""
        return "action_callback_request"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Sends the request to the web app and confirms it to the caller."""
        name = tracker.get_slot("callback_name") or ""
        phone = tracker.get_slot("callback_phone") or ""
        when = tracker.get_slot("callback_time") or "any time"
        payload = {
            "conversation_id": tracker.sender_id,
            "name": name,
            "phone": phone,
            "preferred_time": when,
            "reason": tracker.get_slot("handoff_reason") or "",
            "client_key": client_key_of(tracker),
        }
        clear = [SlotSet(s, None) for s in ("callback_name", "callback_phone", "callback_time")]
        try:
            status, body = await self.api.request("POST", "/internal/callbacks", payload)
        except HotlineUnavailable as error:
            logger.warning("callback request failed: %s", error)
            status, body = 503, {}
        refused = body.get("reason") if isinstance(body, dict) else None
        if status in (409, 429) and refused in ("already_booked", "too_many"):
            dispatcher.utter_message(response=f"utter_callback_{refused}")
            return clear
        if status not in (200, 201):
            dispatcher.utter_message(response="utter_callback_failed")
            return clear
        dispatcher.utter_message(
            response="utter_callback_booked", caller=name, phone=format_uk_phone(phone), when=when
        )
        return clear


def rating_from(tracker: Tracker) -> int | None:
    """Reads a 1-5 rating from the entity or the message text."""
    words = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
    candidates = [
        str(e.get("value"))
        for e in tracker.latest_message.get("entities") or []
        if e.get("entity") == "rating"
    ]
    candidates.append(tracker.latest_message.get("text") or "")
    for candidate in candidates:
        match = re.search(r"\b([1-5]|one|two|three|four|five)\b", candidate.lower())
        if match:
            value = match.group(1)
            return words.get(value) or int(value)
    return None


class ActionRecordFeedback(HotlineAction):
    """Stores the caller's answer to the satisfaction question."""

    def name(self) -> str:
        """Returns the action's name."""
        return "action_record_feedback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Records a 1-5 rating if one was asked for; otherwise asks to rephrase."""
        rating = rating_from(tracker)
        if not tracker.get_slot("feedback_pending") or rating is None:
            dispatcher.utter_message(response="utter_ask_rephrase")
            return []
        try:
            await self.api.request(
                "POST",
                "/internal/feedback",
                {"conversation_id": tracker.sender_id, "rating": rating},
            )
        except HotlineUnavailable as error:
            logger.warning("feedback not stored: %s", error)
        dispatcher.utter_message(response="utter_feedback_thanks")
        return [SlotSet("feedback_pending", False), SlotSet("rating", None)]
