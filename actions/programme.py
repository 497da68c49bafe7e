"""Actions for programme questions and for messages the bot did not understand."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.core.content import programme_questions

FALLBACK_INTENT = "nlu_fallback"

# Answered mid-check too, though not a programme question.
_ALSO_ANSWERED = {"bot_challenge": "utter_bot_challenge"}


def programme_answers() -> dict[str, str]:
    """Which response answers each programme question (``content/programme/questions.yml``).

    The eligibility form and the several-questions action use it to answer a
    question asked mid-check before carrying on.
    """
    return {q.intent: q.response for q in programme_questions()} | _ALSO_ANSWERED


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
        from actions.hotline import FACTS_RESPONSES, out_of_scope_answer

        # A question the facts answer in words the model has not learnt ("what did the
        # minister say?") is answered, not met with "please rephrase".
        topic = out_of_scope_answer(str(tracker.latest_message.get("text") or ""))
        if topic in FACTS_RESPONSES:
            dispatcher.utter_message(response=FACTS_RESPONSES[topic])
        elif consecutive_fallbacks(tracker.events) >= 2:
            dispatcher.utter_message(response="utter_offer_person")
        else:
            dispatcher.utter_message(response="utter_ask_rephrase")
        return []
