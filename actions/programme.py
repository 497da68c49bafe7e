"""Actions for programme questions and for messages the bot did not understand."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

FALLBACK_INTENT = "nlu_fallback"

# Which response answers each programme question. The eligibility form uses it
# to answer a question asked mid-check before repeating its own question.
PROGRAMME_ANSWERS: dict[str, str] = {
    "ask_programme_overview": "utter_programme_overview",
    "ask_support_type": "utter_support_type",
    "ask_support_covers": "utter_support_covers",
    "ask_knowledge_database": "utter_knowledge_database",
    "ask_programme_figures": "utter_programme_figures",
    "ask_priority_sectors": "utter_priority_sectors",
    "ask_mis": "utter_mis",
    "ask_hotline_number": "utter_hotline_number",
    "ask_still_running": "utter_still_running",
    "ask_what_is_mutual": "utter_what_is_mutual",
    "ask_legal_forms": "utter_legal_forms",
    "ask_how_to_apply": "utter_how_to_apply",
    "ask_who_decides": "utter_who_decides",
    "bot_challenge": "utter_bot_challenge",
}


def consecutive_fallbacks(events: list[dict[str, Any]]) -> int:
    """Counts the caller's latest messages in a row that the NLU did not understand.

    Bot turns between them do not break the run; any understood message does.
    """
    count = 0
    for event in reversed(events):
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent != FALLBACK_INTENT:
            break
        count += 1
    return count


class ActionHandleFallback(Action):
    """Two-stage fallback: ask to rephrase, then offer the hotline or a person."""

    def name(self) -> str:
        """Returns the action's name."""
        return "action_handle_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Replies according to how many messages in a row were not understood."""
        if consecutive_fallbacks(tracker.events) >= 2:
            dispatcher.utter_message(response="utter_offer_person")
        else:
            dispatcher.utter_message(response="utter_ask_rephrase")
        return []
