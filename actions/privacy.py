"""Privacy on every caller message: sensitive numbers refused, the notice at a call's start.

Rasa runs ``action_validate_slot_mappings`` after every user message (from its
``action_extract_slots``, before any policy predicts), and sends the messages it
utters first. So, whatever the intent, the form or the handoff:

- a message holding bank details, a card number or a National Insurance number
  (:data:`bot.core.pii.SENSITIVE`) gets ``utter_sensitive_data`` ("please don't
  send these") before the normal answer; what was typed is masked when the
  tracker is stored (``bot/tracker_store.py``) and in a relayed handoff message;
- the first message of a phone call gets the privacy notice's short version
  (``content/privacy/notice.yml``, with the retention settings), before the greeting.

It sets no slots: it returns nothing, so every slot Rasa extracted stands.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.endpoint import ConfiguredAction
from bot.core.pii import SENSITIVE, kinds_in
from bot.privacy.notice import privacy_notice

SENSITIVE_RESPONSE = "utter_sensitive_data"
VOICE_CHANNEL = "twilio_voice"


def is_first_message(tracker: Tracker) -> bool:
    """Whether the latest user message is the first of the conversation."""
    return sum(1 for event in tracker.events if event.get("event") == "user") <= 1


class ActionValidateSlotMappings(ConfiguredAction):
    """Runs after every user message (Rasa's global slot-mapping validation hook)."""

    def name(self) -> str:
        """The name Rasa calls after extracting slots."""
        return "action_validate_slot_mappings"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Warn about sensitive numbers; speak the short notice at a call's start."""
        text = (tracker.latest_message or {}).get("text") or ""
        channel = tracker.get_latest_input_channel() or ""
        if channel == VOICE_CHANNEL and is_first_message(tracker):
            dispatcher.utter_message(text=privacy_notice(self.settings).short)
        # Button payloads ("/ask_award") are ours, not the caller's words.
        if text and not text.startswith("/") and kinds_in(text, SENSITIVE):
            dispatcher.utter_message(response=SENSITIVE_RESPONSE)
        return []
