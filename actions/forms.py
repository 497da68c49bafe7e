"""The bot's forms: the eligibility check, the handoff reason and the callback request.

The eligibility check's questions, accepted answers and verdicts come from
``content/programme/eligibility.yml`` (see :mod:`actions.eligibility`); these
actions only connect them to Rasa.
"""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import REQUESTED_SLOT

from actions.eligibility import (
    VERDICT_SLOT,
    Question,
    Rules,
    answers_from_slots,
    current_rules,
    prefill,
    read_answer,
    said_back,
)
from actions.endpoint import ConfiguredAction
from actions.programme import programme_answers
from actions.rasa_nlu import RasaNlu
from actions.several import SEVERAL_INTENT, answerable_intents
from bot.config import Settings
from bot.core.phone import find_uk_phone
from bot.nlu.segments import is_question

FORM_NAME = "eligibility_form"
# How sure the NLU must be before a mid-check message is taken as a question
# about the programme rather than a garbled answer.
QUESTION_CONFIDENCE = 0.8


def latest_intent(tracker: Tracker) -> tuple[str | None, float]:
    """Returns the latest message's intent name and confidence."""
    intent = tracker.latest_message.get("intent") or {}
    return intent.get("name"), float(intent.get("confidence") or 0.0)


#: The check's question slots, in the order of ``content/programme/eligibility.yml``. Their
#: validators and ask actions are made from this list; tests/test_forms.py holds the rules
#: file, the domain (slots, form, actions) and this list to each other, so a question
#: added to the file without the rest fails the tests, not a caller.
QUESTION_SLOTS: tuple[str, ...] = (
    "elig_applicant",
    "elig_public_services",
    "elig_employee_control",
    "elig_trading_years",
    "elig_england",
)


class ValidateEligibilityForm(FormValidationAction, ConfiguredAction):
    """Reads each answer and decides which question comes next."""

    def __init__(self, nlu: RasaNlu | None = None, settings: Settings | None = None) -> None:
        """Uses ``nlu`` to read the pieces of a several-questions message mid-check.

        Args:
            nlu: Rasa's parse endpoint (default: Rasa's API from the settings).
            settings: The application settings (default: read at registration).

        """
        ConfiguredAction.__init__(self, settings)
        self._nlu = nlu or RasaNlu.from_settings(self.settings)

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
        text = str(value or "")
        answer = read_answer(rules.question(slot), text, intent)
        if answer is not None:
            return {slot: answer}
        known = programme_answers()
        if not text.startswith("/") and not is_question(text):
            # While the check waits for an answer, only a clear question is a digression:
            # "two of the staff would sit on the board" is not asking about the Board.
            dispatcher.utter_message(text=rules.not_understood)
            return {slot: None}
        if intent == SEVERAL_INTENT:
            # Several questions mid-check: answer each, then the form asks again.
            questions = await answerable_intents(tracker.latest_message, self._nlu)
            answers = [known[i] for i in questions if i in known]
            for response in answers:
                dispatcher.utter_message(response=response)
            if answers:
                return {slot: None}
        if intent in known and confidence >= QUESTION_CONFIDENCE:
            # A question asked mid-check: answer it, then the form asks again.
            dispatcher.utter_message(response=known[intent])
        else:
            dispatcher.utter_message(text=rules.not_understood)
        return {slot: None}

    def __getattr__(self, name: str) -> Any:
        """``validate_<slot>`` for each question slot (rasa_sdk finds validators by name)."""
        slot = name.removeprefix("validate_")
        if not name.startswith("validate_") or slot not in QUESTION_SLOTS:
            raise AttributeError(name)

        async def validate(
            value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
        ) -> dict[str, Any]:
            return await self._validate(slot, value, dispatcher, tracker)

        return validate


#: From the third time a question is asked, it comes with an example answer and a person.
ASKS_BEFORE_HELP = 2


def question_message(
    question: Question, asked_before: int = 0, rules: Rules | None = None
) -> dict[str, Any]:
    """Builds the message that asks ``question``, with a button per option.

    Args:
        question: The question to ask.
        asked_before: How many times this check has asked it already.
        rules: The rules file (its ``person_button``), needed once help is offered.
    """
    buttons = [{"title": o.label, "payload": o.label} for o in question.options]
    text = question.ask
    if asked_before >= ASKS_BEFORE_HELP:
        # Never a third identical ask: an example of an answer, and a person.
        if question.example:
            text = f"{text}\n\n{question.example}"
        title = rules.person_button if rules else "Talk to a person"
        buttons.append({"title": title, "payload": "/request_human"})
    return {"text": text, "buttons": buttons}


def times_asked(tracker: Tracker, question: Question) -> int:
    """How many times the current check has asked ``question`` (since it was reset)."""
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") == "action" and event.get("name") == "action_reset_eligibility":
            break
        if event.get("event") == "bot" and str(event.get("text") or "").startswith(question.ask):
            count += 1
    return count


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
        question = rules.question(self.slot)
        dispatcher.utter_message(
            **question_message(question, times_asked(tracker, question), rules)
        )
        return []


def _ask_action(slot: str) -> type[AskEligibilityQuestion]:
    """The ``action_ask_<slot>`` action for one question (Rasa looks them up by name)."""
    return type(
        f"AskEligibilityQuestion_{slot}",
        (AskEligibilityQuestion,),
        {
            "slot": slot,
            "__doc__": f"Asks the question that fills ``{slot}``.",
            "__module__": __name__,
        },
    )


#: One ask action per question slot, made from the list rather than written out.
ASK_ACTIONS: dict[str, type[AskEligibilityQuestion]] = {s: _ask_action(s) for s in QUESTION_SLOTS}


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
    """Starts a check afresh, with what the caller's message already told us.

    Earlier answers are forgotten; answers the message that started the check gives
    ("we spun out four years ago, can you help?") are kept and said back, so that the
    form asks only what is still unknown.
    """

    def name(self) -> str:
        """Returns the action's name."""
        return "action_reset_eligibility"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Clears every answer slot and the verdict, then fills what the message says."""
        rules = await current_rules()
        known = prefill(rules, str(tracker.latest_message.get("text") or ""))
        if known:
            dispatcher.utter_message(
                response="utter_eligibility_understood", understood=said_back(rules, known)
            )
        return [SlotSet(slot, known.get(slot)) for slot in [*rules.slots, VERDICT_SLOT]]


# --- handing over to a person ------------------------------------------------

#: A skipped question (the Skip button, a typed or spoken "skip", key 1 on the phone):
#: it answers the question, never cancels what the caller asked for (actions/handoff.py).
SKIP_WORDS = re.compile(
    r"^\s*(?:(?:please\s+)?(?:just\s+|can\s+i\s+|i'?ll\s+)?skip(?:\s+(?:it|that|this|this one|"
    r"the question))?(?:\s+please)?|no|nope|pass|(?:i'?d\s+)?rather not(?:\s+say)?|"
    r"prefer not to say|n/?a|none|nothing|-)\W*$",
    re.I,
)
MAX_REASON_CHARS = 500
MAX_NAME_CHARS = 80


def clean_text(value: Any, limit: int) -> str:
    """Collapses white space and trims a free-text answer to ``limit`` characters."""
    text = re.sub(r"\s+", " ", str(value or "")).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


class ValidateHandoffForm(FormValidationAction):
    """Reads the caller's reason for wanting a person (which they may skip)."""

    def name(self) -> str:
        """Returns the action's name."""
        return "validate_handoff_form"

    async def validate_handoff_reason(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        """Keeps the reason as typed (shown to staff as text), or "" when skipped."""
        if value is None:
            # The offer clears the slot before the form asks: nothing has been said yet,
            # so there is nothing to correct (the form asks the question itself).
            return {"handoff_reason": None}
        if value == "" or SKIP_WORDS.match(str(value)):
            # "" is a question already skipped (actions/handoff.py, ActionHandoffStop).
            return {"handoff_reason": ""}
        reason = clean_text(value, MAX_REASON_CHARS)
        if not reason:
            dispatcher.utter_message(response="utter_handoff_reason_unclear")
            return {"handoff_reason": None}
        return {"handoff_reason": reason}


class ValidateCallbackForm(FormValidationAction):
    """Reads the callback request: a name, a UK phone number and a time."""

    def name(self) -> str:
        """Returns the action's name."""
        return "validate_callback_form"

    async def validate_callback_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        """Accepts a name of up to 80 characters with at least one letter and no digits."""
        name = clean_text(value, 200)
        if (
            not name
            or len(name) > MAX_NAME_CHARS
            or not re.search(r"[^\W\d_]", name)
            or re.search(r"\d", name)
        ):
            dispatcher.utter_message(
                response="utter_callback_name_invalid", max_letters=MAX_NAME_CHARS
            )
            return {"callback_name": None}
        return {"callback_name": name}

    async def validate_callback_phone(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        """Accepts one UK number, alone or in a sentence, stored in national form."""
        number = find_uk_phone(str(value or ""))
        if number is None:
            dispatcher.utter_message(response="utter_callback_phone_invalid")
            return {"callback_phone": None}
        return {"callback_phone": number}

    async def validate_callback_time(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> dict[str, Any]:
        """Accepts any short description of a time."""
        when = clean_text(value, 200)
        if not when:
            return {"callback_time": None}
        return {"callback_time": when}
