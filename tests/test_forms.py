"""The eligibility form's actions, run as the action server runs them."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.forms import (
    ASK_ACTIONS,
    QUESTION_SLOTS,
    ActionEligibilityVerdict,
    ActionResetEligibility,
    ValidateEligibilityForm,
)
from tests.trackers import load_domain, make_tracker, user_event

DOMAIN = load_domain()
FORM = "eligibility_form"


async def answer(
    slot: str,
    text: str,
    intent: str = "inform",
    confidence: float = 0.5,
    earlier: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Runs the validation action on ``text`` as the answer to ``slot``.

    Rasa fills the slot from the text (a ``from_text`` mapping) before it calls
    the validation action, so the tracker carries that SlotSet event.
    """
    slots = {**(earlier or {}), "requested_slot": slot, slot: text}
    events = [user_event(text, intent, confidence), {"event": "slot", "name": slot, "value": text}]
    tracker = make_tracker(text, intent, confidence, slots=slots, events=events, active_loop=FORM)
    dispatcher = CollectingDispatcher()
    events = await ValidateEligibilityForm().run(dispatcher, tracker, DOMAIN)
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}, dispatcher.messages


async def test_a_typed_answer_is_read_and_the_next_question_chosen() -> None:
    slots, messages = await answer("elig_applicant", "we're a youth services team at the council")
    assert slots["elig_applicant"] == "public_sector_team"
    assert slots["requested_slot"] == "elig_public_services"
    assert messages == []


async def test_spun_out_mutuals_are_asked_how_long_they_have_traded() -> None:
    earlier = {"elig_applicant": "spun_out", "elig_public_services": "yes"}
    slots, _ = await answer("elig_employee_control", "yes", "affirm", earlier=earlier)
    assert slots["requested_slot"] == "elig_trading_years"


async def test_a_disqualifying_answer_ends_the_check_at_once() -> None:
    slots, _ = await answer("elig_applicant", "I'm a private company")
    assert slots["elig_applicant"] == "other"
    assert slots["requested_slot"] is None


async def test_the_last_answer_completes_the_form() -> None:
    earlier = {
        "elig_applicant": "public_sector_team",
        "elig_public_services": "yes",
        "elig_employee_control": "yes",
    }
    slots, _ = await answer("elig_england", "yes, Manchester, England", earlier=earlier)
    assert slots == {"elig_england": "yes", "requested_slot": None}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "🙂",
        "<b>hi</b><script>alert('x')</script>",
        "Je ne sais pas",
        "a" * 10_000,
        "'; DROP TABLE awards; --",
    ],
    ids=["empty", "emoji", "html", "french", "very-long", "sql"],
)
async def test_bad_answers_get_a_clear_reply_and_the_question_again(text: str) -> None:
    slots, messages = await answer(
        "elig_public_services", text, earlier={"elig_applicant": "public_sector_team"}
    )
    assert slots["elig_public_services"] is None
    assert slots["requested_slot"] == "elig_public_services"
    assert messages[0]["text"].startswith("Sorry, I didn't understand")


async def test_a_programme_question_mid_check_is_answered() -> None:
    slots, messages = await answer(
        "elig_applicant", "what is a mutual?", "ask_what_is_mutual", 0.97
    )
    assert slots["elig_applicant"] is None
    assert messages[0]["response"] == "utter_what_is_mutual"


async def test_questions_come_from_the_rules_file_with_buttons() -> None:
    dispatcher = CollectingDispatcher()
    await ASK_ACTIONS["elig_applicant"]().run(dispatcher, make_tracker(), DOMAIN)
    (message,) = dispatcher.messages
    assert message["text"] == "Which of these best describes you?"
    assert [b["payload"] for b in message["buttons"]] == [b["title"] for b in message["buttons"]]
    assert len(message["buttons"]) == 3
    dispatcher = CollectingDispatcher()
    await ASK_ACTIONS["elig_trading_years"]().run(dispatcher, make_tracker(), DOMAIN)
    assert "years" in dispatcher.messages[0]["text"]


@pytest.mark.parametrize(
    ("answers", "verdict", "start"),
    [
        (
            {
                "elig_applicant": "public_sector_team",
                "elig_public_services": "yes",
                "elig_employee_control": "yes",
                "elig_england": "yes",
            },
            "likely_eligible",
            "You're likely to be eligible.",
        ),
        ({"elig_applicant": "other"}, "not_eligible", "You're unlikely to be eligible."),
        (
            {
                "elig_applicant": "public_sector_team",
                "elig_public_services": "yes",
                "elig_employee_control": "unsure",
                "elig_england": "yes",
            },
            "adviser",
            "It's best to talk to an adviser.",
        ),
    ],
)
async def test_verdict_with_reason_and_next_step(
    answers: dict[str, str], verdict: str, start: str
) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionEligibilityVerdict().run(dispatcher, make_tracker(slots=answers), DOMAIN)
    assert events == [SlotSet("elig_verdict", verdict)]
    text = dispatcher.messages[0]["text"]
    assert text.startswith(start)
    assert "0845 5390543" in text or "Board" in text


async def test_reset_clears_every_answer() -> None:
    events = await ActionResetEligibility().run(CollectingDispatcher(), make_tracker(), DOMAIN)
    assert {e["name"] for e in events} == {
        "elig_applicant",
        "elig_public_services",
        "elig_employee_control",
        "elig_trading_years",
        "elig_england",
        "elig_verdict",
    }
    assert all(e["value"] is None for e in events)


def test_the_rules_file_the_domain_and_the_form_agree() -> None:
    from actions.eligibility import RULES_PATH, load_rules

    rules = load_rules(RULES_PATH)
    assert tuple(q.slot for q in rules.questions) == QUESTION_SLOTS
    form_slots = DOMAIN["forms"][FORM]["required_slots"]
    assert tuple(form_slots) == QUESTION_SLOTS
    for slot in QUESTION_SLOTS:
        assert slot in DOMAIN["slots"]
        assert f"action_ask_{slot}" in DOMAIN["actions"]
        assert ASK_ACTIONS[slot]().name() == f"action_ask_{slot}"
        assert callable(getattr(ValidateEligibilityForm(), f"validate_{slot}"))
    assert "validate_eligibility_form" in DOMAIN["actions"]
    with pytest.raises(AttributeError):
        ValidateEligibilityForm().validate_not_a_question  # noqa: B018


async def test_every_question_slot_is_validated_through_the_rules() -> None:
    form = ValidateEligibilityForm()
    for slot in QUESTION_SLOTS:
        dispatcher = CollectingDispatcher()
        tracker = make_tracker("zzkx qqvw", "nlu_fallback", 0.2, active_loop=FORM)
        validate = getattr(form, f"validate_{slot}")
        assert await validate("zzkx qqvw", dispatcher, tracker, DOMAIN) == {slot: None}
        assert dispatcher.messages and dispatcher.messages[0].get("text")
