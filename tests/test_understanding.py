"""Callers understood the way they talk (issue 12): answers in context, nothing asked twice.

Plain functions and the form's actions, without a model. The sentences are other
words than the issue's examples: each test is of a kind of failure, not of a sentence.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.eligibility import (
    is_negated,
    load_rules,
    prefill,
    read_answer,
    read_duration,
    said_back,
)
from actions.forms import ASK_ACTIONS, ActionResetEligibility, ValidateEligibilityForm
from bot.core.places import find_places
from tests.trackers import bot_event, load_domain, make_tracker, user_event

RULES = load_rules()
APPLICANT = RULES.question("elig_applicant")
SERVICES = RULES.question("elig_public_services")
CONTROL = RULES.question("elig_employee_control")
ENGLAND = RULES.question("elig_england")
DOMAIN = load_domain()
TODAY = dt.date(2026, 12, 1)


# --- 3. negation and place knowledge ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a strong word beats a weak one wherever it stands
        ("we're an nhs team looking for business advice", "public_sector_team"),
        (
            "our library service at the county council wants help with a business case",
            "public_sector_team",
        ),
        ("a staff group inside a small business", "other"),
        # who they are comes first, what they work with after
        ("we are a charity that works with the local authority", "other"),
        ("council staff, and we'd like advice from a charity", "public_sector_team"),
        # denied words do not count
        ("we have never been part of the council, we're a residents association", "other"),
        ("were not a charity were the councils youth team", "public_sector_team"),
        ("we havent spun out yet we are a probation team", "public_sector_team"),
        # a spun-out mutual names the body it left
        ("we came out of the nhs two years back", "spun_out"),
        ("we are no longer part of the local authority", "spun_out"),
        # a plan is not what they are yet
        ("nhs staff hoping to become a cic", "public_sector_team"),
    ],
)
def test_who_the_caller_is_read_with_negation(text: str, expected: str) -> None:
    assert read_answer(APPLICANT, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("we're not in scotland we are in sheffield", "yes"),
        ("Not Northern Ireland - Manchester", "yes"),
        ("based in cornwall", "yes"),
        ("we are in swansea", "no"),
        ("just outside glasgow", "no"),
        ("no we aren't in england", "no"),
        ("we're not based in england", "no"),
        ("Yes, Bristol", "yes"),
    ],
)
def test_where_the_caller_is_read_from_uk_places(text: str, expected: str) -> None:
    assert read_answer(ENGLAND, text) == expected


def test_a_denied_other_nation_alone_is_no_answer() -> None:
    # "not in Wales" does not say England: ask again rather than guess.
    assert read_answer(ENGLAND, "not in wales") is None


def test_places_come_from_the_open_data_not_a_keyword_list() -> None:
    found = {p.name.lower(): p.nation for p in find_places("from Stockport to Wrexham and Fife")}
    assert found == {"stockport": "England", "wrexham": "Wales", "fife": "Scotland"}
    assert find_places("the bristolian way") == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("three of our nurses would be directors", "yes"),
        ("the workforce will hold shares in it", "yes"),
        ("staff will have no seat on the board", "no"),
        ("employees wont get a vote", "no"),
        ("we cant say yet", "unsure"),
    ],
)
def test_employee_control_answers_that_name_the_board(text: str, expected: str) -> None:
    assert read_answer(CONTROL, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("we'll keep running the day centres", "yes"),
        ("we wont be providing public services any more", "no"),
    ],
)
def test_public_services_answers_with_negation(text: str, expected: str) -> None:
    assert read_answer(SERVICES, text) == expected


@pytest.mark.parametrize(
    ("text", "start", "negated"),
    [
        ("we were never part of the council", 27, True),
        ("not in wales we're in bristol", 23, False),  # a new subject ends the "not"
        ("not in wales, bristol", 14, False),
        ("not in wales", 7, True),
    ],
)
def test_negation_reaches_to_the_end_of_its_clause(text: str, start: int, negated: bool) -> None:
    assert is_negated(text, start) is negated


# --- 2. what the caller already said ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "we became a co-operative after leaving the nhs 3 years ago, is there help for us",
            {"elig_applicant": "spun_out", "elig_trading_years": "3"},
        ),
        (
            "Our CIC spun out in 2023 and works across Kent. Do we qualify?",
            {"elig_applicant": "spun_out", "elig_trading_years": "3", "elig_england": "yes"},
        ),
        ("I'm a sole trader, could the programme fund me", {"elig_applicant": "other"}),
        (
            "we're a fire service team in cardiff can we get support",
            {"elig_applicant": "public_sector_team", "elig_england": "no"},
        ),
        ("am I eligible?", {}),
        ("/check_eligibility", {}),
        # a question about the Board says nothing about the caller's staff
        ("who is on the board, and could we apply?", {}),
        # a bare number is not a time
        ("we have 40 staff, can we apply", {}),
    ],
)
def test_the_opening_message_prefills_what_it_says(text: str, expected: dict[str, str]) -> None:
    assert prefill(RULES, text, TODAY) == expected


@pytest.mark.parametrize(
    ("text", "years"),
    [
        ("we spun out two years ago", 2),
        ("trading for about 6 years now", 6),
        ("since 2020", 6),
        ("we set up last year", 1),
        ("a few months ago", 0),
        ("we have 12 employees", None),
    ],
)
def test_durations_only_where_the_text_says_so(text: str, years: int | None) -> None:
    assert read_duration(text, TODAY) == years


def test_what_was_understood_is_said_back() -> None:
    text = said_back(RULES, {"elig_applicant": "spun_out", "elig_trading_years": "4"})
    assert "already spun out" in text and "4 years" in text


async def test_the_check_starts_with_what_the_message_said() -> None:
    tracker = make_tracker(
        "we left the nhs as a cic 2 years ago, can you help", "check_eligibility"
    )
    dispatcher = CollectingDispatcher()
    events = await ActionResetEligibility().run(dispatcher, tracker, DOMAIN)
    slots = {e["name"]: e["value"] for e in events}
    assert slots["elig_applicant"] == "spun_out"
    assert slots["elig_trading_years"] == "2"
    assert slots["elig_public_services"] is None
    (message,) = dispatcher.messages
    assert message["response"] == "utter_eligibility_understood"
    assert "2 years" in message["understood"]
    assert "{understood}" in DOMAIN["responses"]["utter_eligibility_understood"][0]["text"]


# --- 1. an answer is an answer; nothing asked a third time the same way ----------------


async def validate(
    slot: str, text: str, intent: str, confidence: float
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    slots = {"elig_applicant": "public_sector_team", "requested_slot": slot, slot: text}
    events = [user_event(text, intent, confidence), {"event": "slot", "name": slot, "value": text}]
    tracker = make_tracker(
        text, intent, confidence, slots=slots, events=events, active_loop="eligibility_form"
    )
    dispatcher = CollectingDispatcher()
    result = await ValidateEligibilityForm().run(dispatcher, tracker, DOMAIN)
    return {e["name"]: e["value"] for e in result if e["event"] == "slot"}, dispatcher.messages


async def test_an_answer_that_names_the_board_is_an_answer() -> None:
    slots, messages = await validate(
        "elig_employee_control",
        "a couple of staff reps would join the board",
        "ask_who_decides",
        0.95,
    )
    assert slots["elig_employee_control"] == "yes"
    assert messages == []


async def test_a_statement_mid_check_is_never_answered_as_a_question() -> None:
    slots, messages = await validate(
        "elig_employee_control", "that panel sounds very grand", "ask_who_decides", 0.95
    )
    assert slots["elig_employee_control"] is None
    assert all(m.get("response") != "utter_who_decides" for m in messages)


async def test_a_clear_question_mid_check_is_still_answered() -> None:
    _, messages = await validate(
        "elig_employee_control", "who decides on the support", "ask_who_decides", 0.95
    )
    assert messages[0]["response"] == "utter_who_decides"


async def test_the_third_ask_offers_an_example_and_a_person() -> None:
    action = ASK_ACTIONS["elig_employee_control"]()
    events = [
        {"event": "action", "name": "action_reset_eligibility"},
        bot_event(CONTROL.ask),
        user_event("hmm", "out_of_scope"),
        bot_event(CONTROL.ask),
        user_event("what", "out_of_scope"),
    ]
    dispatcher = CollectingDispatcher()
    await action.run(dispatcher, make_tracker(events=events), DOMAIN)
    (message,) = dispatcher.messages
    assert message["text"].startswith(CONTROL.ask)
    assert CONTROL.example in message["text"]
    assert {"title": RULES.person_button, "payload": "/request_human"} in message["buttons"]
    # the first and second asks are plain
    dispatcher = CollectingDispatcher()
    await action.run(dispatcher, make_tracker(events=events[:3]), DOMAIN)
    assert dispatcher.messages[0]["text"] == CONTROL.ask
    assert all(b["payload"] != "/request_human" for b in dispatcher.messages[0]["buttons"])


def test_every_question_has_an_example_answer() -> None:
    assert all(q.example for q in RULES.questions if q.slot != "elig_applicant")


# --- 4. skip answers the question; the phone decides before it speaks ----------------


async def run_action(
    action: Any, tracker: Any
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, DOMAIN)
    return events, dispatcher.messages


@pytest.mark.parametrize(
    "text", ["skip", "Skip", "skip that please", "just skip", "rather not say"]
)
async def test_skip_while_asked_for_a_reason_keeps_the_handoff(text: str) -> None:
    from actions.handoff import ActionHandoffStop

    tracker = make_tracker(text, "stop", active_loop="handoff_form")
    events, messages = await run_action(ActionHandoffStop(), tracker)
    assert {"event": "slot", "timestamp": None, "name": "handoff_reason", "value": ""} in events
    assert all(e["event"] != "active_loop" or e["name"] == "handoff_form" for e in events)
    assert messages == []


@pytest.mark.parametrize("text", ["cancel", "never mind", "stop"])
async def test_a_change_of_mind_still_cancels(text: str) -> None:
    from actions.handoff import ActionHandoffStop

    events, messages = await run_action(ActionHandoffStop(), make_tracker(text, "stop"))
    assert {"event": "active_loop", "timestamp": None, "name": None} in events
    assert messages[0]["response"] == "utter_handoff_cancelled"


async def test_the_reason_form_says_nothing_before_the_caller_has() -> None:
    from actions.forms import ValidateHandoffForm

    dispatcher = CollectingDispatcher()
    result = await ValidateHandoffForm().validate_handoff_reason(
        None, dispatcher, make_tracker(), DOMAIN
    )
    assert result == {"handoff_reason": None}
    assert dispatcher.messages == []


def test_a_phone_line_without_a_staff_number_cannot_transfer() -> None:
    from actions.handoff import cannot_transfer

    def call(can: bool) -> Any:
        tracker = make_tracker("put me through", "request_human")
        tracker.latest_message["metadata"] = {"twilio_voice": {"can_transfer": can}}
        tracker.events = [{"event": "user", "input_channel": "twilio_voice"}]
        return tracker

    assert cannot_transfer(call(False)) is True
    assert cannot_transfer(call(True)) is False


def test_spoken_responses_have_no_web_words() -> None:
    for name in ("utter_how_to_apply", "utter_eligibility_intro", "utter_ask_handoff_reason"):
        voice = [v for v in DOMAIN["responses"][name] if v.get("channel") == "twilio_voice"]
        assert voice, name
        assert "start here" not in voice[0]["text"] and "button" not in voice[0]["text"]


# --- 5. one question with context in front is one question -------------------------------


def test_context_in_front_of_a_question_is_not_a_second_question() -> None:
    from bot.nlu.segments import split_questions
    from bot.nlu.several import asked

    one = split_questions("we run the youth service at a county council, how would we apply")
    assert len(asked(one)) == 1
    two = split_questions("is it still running? and who decides")
    assert len(asked(two)) == 2


# --- 6. questions about the hotline are answered -----------------------------------------


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("what did the minister say in the release", "quotes"),
        ("any comment from Tracey Bush?", "quotes"),
        ("when is the closing date", "timescales"),
        ("how soon would we hear back", "timescales"),
        ("is the line staffed at the weekend", "hours"),
        ("can you renew my passport", None),
        ("what did you say", None),
    ],
)
def test_out_of_scope_messages_the_facts_answer(text: str, topic: str | None) -> None:
    from actions.hotline import out_of_scope_answer

    assert out_of_scope_answer(text) == topic


def test_staffed_hours_in_words_and_whether_open_now() -> None:
    from actions.hotline import hours_message
    from bot.core.hours import UK, parse_hours

    hours = parse_hours("mon-fri 09:00-17:30; sat 10:00-12:00")
    wednesday_noon = dt.datetime(2026, 12, 2, 12, 0, tzinfo=UK)
    open_now = hours_message(hours, wednesday_noon)
    assert open_now["response"] == "utter_hotline_hours_open"
    assert open_now["hours"] == "Monday to Friday, 9am to 5:30pm; Saturday, 10am to noon"
    saturday_evening = dt.datetime(2026, 12, 5, 19, 0, tzinfo=UK)
    closed = hours_message(hours, saturday_evening)
    assert closed["response"] == "utter_hotline_hours_closed"
    assert closed["next_opening"] == "on Monday at 9am"
    assert (
        hours_message(parse_hours("always"), wednesday_noon)["response"]
        == "utter_hotline_hours_always"
    )


# --- 8. nothing untrue -------------------------------------------------------------------


def test_no_response_claims_what_is_not_so() -> None:
    texts = " ".join(
        str(v.get("text", "")) for variants in DOMAIN["responses"].values() for v in variants
    )
    assert "Nothing has been saved" not in texts
    assert "whenever it suits you" not in texts
    # the hotline's hours are not known: never "call ... at any time"
    assert not re.search(r"\{hotline_number\}[^.]*\bany time\b", texts)
    for name in ("utter_complaint", "utter_distress"):
        assert "passing you" not in DOMAIN["responses"][name][0]["text"]
