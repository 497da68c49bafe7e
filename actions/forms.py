"""The eligibility check: a Rasa form driven by ``content/programme/eligibility.yml``.

The form's questions, accepted answers and verdicts come from the rules file
(see :mod:`actions.eligibility`); these actions only connect them to Rasa.
"""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT

from actions.eligibility import Question, Rules, answers_from_slots, load_rules, read_answer
from actions.programme import PROGRAMME_ANSWERS

FORM_NAME = "eligibility_form"
VERDICT_SLOT = "elig_verdict"
# How sure the NLU must be before a mid-check message is taken as a question
# about the programme rather than a garbled answer.
QUESTION_CONFIDENCE = 0.8


async def current_rules() -> Rules:
    """Loads the rules file off the event loop (it is re-read only when edited)."""
    return await asyncio.to_thread(load_rules)


def latest_intent(tracker: Tracker) -> tuple[str | None, float]:
    """Returns the latest message's intent name and confidence."""
    intent = tracker.latest_message.get("intent") or {}
    return intent.get("name"), float(intent.get("confidence") or 0.0)


class ValidateEligibilityForm(FormValidationAction):
    """Reads each answer and decides which question comes next."""

    def name(self) -> str:
        """Returns the action's name."""
        return f"validate_{FORM_NAME}"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[str]:
        """Returns the questions that apply; none once a verdict is certain."""
        rules = await current_rules()
        return rules.applicable_slots(answers_from_slots(rules, tracker.slots))

    async def next_requested_slot(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> EventType | None:
        """Always names the next question (or none), rather than leaving it to Rasa."""
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        missing = (slot for slot in required if tracker.slots.get(slot) is None)
        return SlotSet(REQUESTED_SLOT, next(missing, None))

    async def _validate(
        self, slot: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        rules = await current_rules()
        intent, confidence = latest_intent(tracker)
        answer = read_answer(rules.question(slot), str(value or ""), intent)
        if answer is not None:
            return {slot: answer}
        if intent in PROGRAMME_ANSWERS and confidence >= QUESTION_CONFIDENCE:
            # A question asked mid-check: answer it, then the form asks again.
            dispatcher.utter_message(response=PROGRAMME_ANSWERS[intent])
        else:
            dispatcher.utter_message(text=rules.not_understood)
        return {slot: None}

    async def validate_elig_applicant(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        """Reads who is asking: a public sector team, a spun-out mutual or other."""
        return await self._validate("elig_applicant", value, dispatcher, tracker)

    async def validate_elig_public_services(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        """Reads whether the service delivers public services."""
        return await self._validate("elig_public_services", value, dispatcher, tracker)

    async def validate_elig_employee_control(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        """Reads whether employees will have significant influence or control."""
        return await self._validate("elig_employee_control", value, dispatcher, tracker)

    async def validate_elig_trading_years(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        """Reads how many years a spun-out mutual has traded."""
        return await self._validate("elig_trading_years", value, dispatcher, tracker)

    async def validate_elig_england(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        """Reads whether the organisation is in England."""
        return await self._validate("elig_england", value, dispatcher, tracker)


def question_message(question: Question) -> dict[str, Any]:
    """Builds the message that asks ``question``, with a button per option."""
    buttons = [{"title": o.label, "payload": o.label} for o in question.options]
    return {"text": question.ask, "buttons": buttons}


class AskEligibilityQuestion(Action):
    """Asks one question of the check, worded as in the rules file."""

    slot = ""

    def name(self) -> str:
        """Returns the action's name, ``action_ask_<slot>``."""
        return f"action_ask_{self.slot}"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Sends the question with its options."""
        rules = await current_rules()
        dispatcher.utter_message(**question_message(rules.question(self.slot)))
        return []


# One ask action per question slot (Rasa looks them up by name).
class AskEligApplicant(AskEligibilityQuestion):
    """Asks who is applying."""

    slot = "elig_applicant"


class AskEligPublicServices(AskEligibilityQuestion):
    """Asks about public services."""

    slot = "elig_public_services"


class AskEligEmployeeControl(AskEligibilityQuestion):
    """Asks about employee control."""

    slot = "elig_employee_control"


class AskEligTradingYears(AskEligibilityQuestion):
    """Asks how long the mutual has traded."""

    slot = "elig_trading_years"


class AskEligEngland(AskEligibilityQuestion):
    """Asks where the organisation is."""

    slot = "elig_england"


class ActionEligibilityVerdict(Action):
    """Gives the verdict, its reason and the next step."""

    def name(self) -> str:
        """Returns the action's name."""
        return "action_eligibility_verdict"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Decides from the answers given and tells the caller."""
        rules = await current_rules()
        verdict = rules.decide(answers_from_slots(rules, tracker.slots))
        buttons = (
            [{"title": "How do I apply?", "payload": "/ask_how_to_apply"}]
            if verdict.verdict == "likely_eligible"
            else [{"title": "Talk to a person", "payload": "/request_human"}]
        )
        dispatcher.utter_message(text=verdict.message(), buttons=buttons)
        return [SlotSet(VERDICT_SLOT, verdict.verdict)]


class ActionResetEligibility(Action):
    """Forgets earlier answers so that a new check starts afresh."""

    def name(self) -> str:
        """Returns the action's name."""
        return "action_reset_eligibility"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Clears every answer slot and the verdict."""
        rules = await current_rules()
        return [SlotSet(slot, None) for slot in [*rules.slots, VERDICT_SLOT]]
