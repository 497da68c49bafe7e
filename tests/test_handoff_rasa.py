"""The Rasa side of handoff: helpers, forms and actions against a recording internal API.

The web app's real internal API is exercised end to end in tests/test_handoff_e2e.py;
here a small aiohttp server on loopback stands in for it so every branch
(staffed, closed, full, unreachable, ticket gone) can be forced.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.forms import ValidateCallbackForm, ValidateHandoffForm
from actions.handoff import (
    ActionCallbackRequest,
    ActionHandoffOffer,
    ActionHandoffRequest,
    ActionHandoffUrgent,
    ActionRecordFeedback,
    ActionRelayToAgent,
    queue_message,
    rating_from,
)
from bot.core.phone import format_uk_phone, normalise_uk_phone
from bot.core.waits import wait_in_words as minutes
from bot.handoff.rules import intents_of, rules_yaml
from bot.handoff.summary import one_line, summarise
from tests.trackers import load_domain, make_tracker, said, user_event

DOMAIN = load_domain()


@pytest.mark.parametrize(
    ("typed", "number"),
    [
        ("07700 900123", "07700900123"),
        ("+44 7700 900123", "07700900123"),
        ("+44 (0)20 7946 0000", "02079460000"),
        ("0044 161 496 0000", "01614960000"),
        ("(01632) 960-001", "01632960001"),
    ],
)
def test_uk_numbers_are_read(typed: str, number: str) -> None:
    assert normalise_uk_phone(typed) == number


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "12345",
        "0770090012",
        "+1 202 555 0100",
        "call me",
        "07700 900123 ext 4",
        "<script>",
        "0" * 40,
        "+33 1 23 45 67 89",
    ],
)
def test_other_input_is_not_a_uk_number(typed: str) -> None:
    assert normalise_uk_phone(typed) is None


def test_numbers_are_read_back_grouped() -> None:
    assert format_uk_phone("07700900123") == "07700 900123"
    assert format_uk_phone("02079460000") == "020 7946 0000"


def test_wait_and_queue_wording() -> None:
    assert minutes(30) == "less than a minute"
    assert minutes(60) == "about 1 minute"
    assert minutes(600) == "about 10 minutes"
    assert minutes(45) == "less than a minute"  # the queue update said "about 1 minute"
    assert "next in the queue" in said(queue_message(1, 120))
    assert "number 3 in the queue" in said(queue_message(3, 900))


def test_summary_of_what_the_bot_learned() -> None:
    events = [
        user_event("what is a mutual", "ask_what_is_mutual"),
        {
            "event": "user",
            "text": "how much did Knowsley get",
            "parse_data": {
                "intent": {"name": "ask_award"},
                "entities": [{"entity": "recipient", "value": "Knowsley"}],
            },
        },
        user_event("am I eligible", "check_eligibility"),
        user_event("hello", "greet"),
    ]
    summary = summarise(events, {"elig_verdict": "adviser", "elig_applicant": "public_sector_team"})
    assert summary["topics"] == ["what a mutual is", "awards", "eligibility"]
    assert summary["award_lookups"] == ["Knowsley"]
    assert summary["eligibility"] == {"elig_applicant": "public_sector_team"}
    line = one_line(summary)
    assert "eligibility check: referred to an adviser" in line and "Knowsley" in line
    assert one_line(summarise([], {})) == "No questions before asking for a person"


def test_relay_rules_cover_every_intent_and_are_current() -> None:
    root = Path(__file__).resolve().parent.parent
    expected = rules_yaml(intents_of(root / "domain.yml"))
    assert (root / "data" / "rules" / "handoff_relay.yml").read_text(encoding="utf-8") == expected
    for intent in [*DOMAIN["intents"], "nlu_fallback"]:
        assert f"- intent: {intent}\n      - action: action_relay_to_agent" in expected


@pytest.mark.parametrize(
    ("text", "rating"), [("5", 5), ("four stars", 4), ("1, poor", 1), ("ten", None), ("", None)]
)
def test_ratings(text: str, rating: int | None) -> None:
    assert rating_from(make_tracker(text, "rate_service")) == rating


# --- forms --------------------------------------------------------------------


async def validate(form: Any, slot: str, text: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    events = [user_event(text, "inform"), {"event": "slot", "name": slot, "value": text}]
    tracker = make_tracker(
        text,
        "inform",
        slots={"requested_slot": slot, slot: text},
        events=events,
        active_loop=form.name().removeprefix("validate_"),
    )
    dispatcher = CollectingDispatcher()
    result = await form.run(dispatcher, tracker, DOMAIN)
    return {e["name"]: e["value"] for e in result if e["event"] == "slot"}, dispatcher.messages


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("skip", ""),
        ("No", ""),
        ("we want help with a business plan", "we want help with a business plan"),
        ("<script>alert(1)</script>", "<script>alert(1)</script>"),  # kept as text; shown escaped
    ],
)
async def test_handoff_reason(text: str, kept: str) -> None:
    slots, _ = await validate(ValidateHandoffForm(), "handoff_reason", text)
    assert slots["handoff_reason"] == kept


async def test_a_very_long_reason_is_trimmed() -> None:
    slots, _ = await validate(ValidateHandoffForm(), "handoff_reason", "word " * 1000)
    assert len(slots["handoff_reason"]) == 500


@pytest.mark.parametrize(
    ("slot", "text", "value"),
    [
        ("callback_name", "Priya Shah", "Priya Shah"),
        ("callback_name", "12345", None),
        ("callback_name", "x" * 300, None),
        ("callback_name", "🙂", None),
        ("callback_phone", "07700 900 123", "07700900123"),
        ("callback_phone", "it's 07700 900 123", "07700900123"),
        ("callback_phone", "07700 900123 ext 4", None),
        ("callback_phone", "not a number", None),
        ("callback_phone", "'; DROP TABLE callbacks; --", None),
        ("callback_time", "weekday mornings", "weekday mornings"),
    ],
)
async def test_callback_answers(slot: str, text: str, value: str | None) -> None:
    slots, messages = await validate(ValidateCallbackForm(), slot, text)
    assert slots[slot] == value
    assert (messages != []) == (value is None)


# --- actions against a recording internal API -----------------------------------


class FakeHotline:
    """Records requests; answers as configured."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str, Any]] = []
        self.availability: dict[str, Any] = {"staffed": True, "accepting": True, "queue_length": 0}
        self.ticket_status = 201
        self.message_status = 202

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else None
        self.requests.append((request.method, request.path, body))
        if request.headers.get("Authorization") != "Bearer secret":
            return web.json_response({"error": "unauthorised"}, status=401)
        if request.path == "/internal/availability":
            return web.json_response(self.availability)
        if request.path == "/internal/handoffs":
            return web.json_response(
                {
                    "id": 7,
                    "position": 2,
                    "expected_wait_seconds": 600,
                    "status": "queued",
                    "reason": "queue_full",
                },
                status=self.ticket_status,
            )
        if request.path.endswith("/messages"):
            return web.json_response({}, status=self.message_status)
        return web.json_response({"id": 1}, status=201)


@pytest.fixture
async def hotline(aiohttp_server: Any, monkeypatch: pytest.MonkeyPatch) -> FakeHotline:
    fake = FakeHotline()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", fake.handle)
    server = await aiohttp_server(app)
    monkeypatch.setenv("HOTLINE_APP_URL", str(server.make_url("")))
    monkeypatch.setenv("HOTLINE_INTERNAL_TOKEN", "secret")
    return fake


def socket_tracker(text: str = "", intent: str = "request_human", **kwargs: Any) -> Any:
    tracker = make_tracker(text, intent, **kwargs)
    tracker.events.append(
        {
            "event": "user",
            "text": text,
            "input_channel": "socketio",
            "parse_data": {"intent": {"name": intent}},
        }
    )
    return tracker


async def run(action: Any, tracker: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, DOMAIN)
    return events, dispatcher.messages


async def test_offer_when_staffed(hotline: FakeHotline) -> None:
    events, messages = await run(ActionHandoffOffer(), socket_tracker("human please"))
    assert SlotSet("handoff_availability", "staffed") in events
    assert messages == []


async def test_offer_when_closed_explains_and_sets_closed(hotline: FakeHotline) -> None:
    hotline.availability = {
        "staffed": False,
        "accepting": False,
        "reason": "closed",
        "hours": "Monday to Friday, 9am to 5pm",
    }
    events, messages = await run(ActionHandoffOffer(), socket_tracker())
    assert SlotSet("handoff_availability", "closed") in events
    assert "Monday to Friday" in said(messages[0])


async def test_offer_when_queue_full(hotline: FakeHotline) -> None:
    hotline.availability = {"staffed": True, "accepting": False, "reason": "queue_full"}
    events, _ = await run(ActionHandoffOffer(), socket_tracker())
    assert SlotSet("handoff_availability", "busy") in events


async def test_rest_callers_are_not_queued(hotline: FakeHotline) -> None:
    tracker = make_tracker(
        "human",
        "request_human",
        events=[{"event": "user", "input_channel": "rest", "text": "human"}],
    )
    events, messages = await run(ActionHandoffOffer(), tracker)
    assert SlotSet("handoff_availability", "unavailable") in events
    assert hotline.requests == []
    assert "can't show an adviser's replies" in said(messages[0])


async def test_unreachable_app_gives_the_hotline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOTLINE_APP_URL", "http://127.0.0.1:9")  # discard port: refused
    events, messages = await run(ActionHandoffOffer(), socket_tracker())
    assert SlotSet("handoff_availability", "unavailable") in events
    assert "0845 5390543" in said(messages[0])


async def test_request_opens_a_ticket_with_summary(hotline: FakeHotline) -> None:
    tracker = socket_tracker(slots={"handoff_reason": "help with a business plan"})
    events, messages = await run(ActionHandoffRequest(), tracker)
    method, path, body = hotline.requests[-1]
    assert (method, path) == ("POST", "/internal/handoffs")
    assert body["reason"] == "help with a business plan"
    assert body["priority"] == "normal" and body["channel"] == "socketio"
    assert body["conversation_id"] == "test-user" and "one_line" in body["summary"]
    assert SlotSet("handoff_active", True) in events
    assert SlotSet("handoff_state", "queued") in events
    assert "number 2 in the queue" in said(messages[0])


async def test_urgent_handoff_uses_the_callers_words(hotline: FakeHotline) -> None:
    events, _ = await run(ActionHandoffUrgent(), socket_tracker("I want to complain", "complain"))
    body = hotline.requests[-1][2]
    assert body["priority"] == "urgent" and body["reason"] == "I want to complain"
    assert SlotSet("handoff_active", True) in events


async def test_relay_is_silent(hotline: FakeHotline) -> None:
    tracker = socket_tracker(
        "are you still there?",
        "greet",
        slots={"handoff_active": True, "handoff_state": "with_agent"},
    )
    tracker.latest_message["message_id"] = "m1"
    events, messages = await run(ActionRelayToAgent(), tracker)
    assert events == [] and messages == []
    assert hotline.requests[-1] == (
        "POST",
        "/internal/handoffs/test-user/messages",
        {"text": "are you still there?", "message_id": "m1"},
    )


async def test_never_mind_leaves_the_queue(hotline: FakeHotline) -> None:
    tracker = socket_tracker(
        "never mind", "deny", slots={"handoff_active": True, "handoff_state": "queued"}
    )
    events, messages = await run(ActionRelayToAgent(), tracker)
    assert hotline.requests[-1][:2] == ("POST", "/internal/handoffs/test-user/cancel")
    assert SlotSet("handoff_active", False) in events
    assert "left the queue" in said(messages[0])


async def test_relay_to_a_closed_ticket_hands_back(hotline: FakeHotline) -> None:
    hotline.message_status = 404
    tracker = socket_tracker(
        "hello?", "greet", slots={"handoff_active": True, "handoff_state": "with_agent"}
    )
    events, _ = await run(ActionRelayToAgent(), tracker)
    assert SlotSet("handoff_active", False) in events


async def test_callback_is_booked(hotline: FakeHotline) -> None:
    tracker = socket_tracker(
        slots={
            "callback_name": "Priya",
            "callback_phone": "07700900123",
            "callback_time": "mornings",
        }
    )
    events, messages = await run(ActionCallbackRequest(), tracker)
    assert hotline.requests[-1][2]["phone"] == "07700900123"
    assert "07700 900123" in said(messages[0])
    assert SlotSet("callback_phone", None) in events


async def test_feedback_only_when_asked(hotline: FakeHotline) -> None:
    _, messages = await run(ActionRecordFeedback(), socket_tracker("5", "rate_service"))
    assert messages[0]["response"] == "utter_ask_rephrase" and hotline.requests == []
    tracker = socket_tracker("5", "rate_service", slots={"feedback_pending": True})
    events, _ = await run(ActionRecordFeedback(), tracker)
    assert hotline.requests[-1][2] == {"conversation_id": "test-user", "rating": 5}
    assert SlotSet("feedback_pending", False) in events


async def test_phone_callers_are_transferred_not_relayed(hotline: FakeHotline) -> None:
    tracker = make_tracker(
        "an adviser please",
        "request_human",
        slots={"handoff_reason": ""},
        events=[{"event": "user", "input_channel": "twilio_voice", "text": "an adviser please"}],
    )
    events, messages = await run(ActionHandoffRequest(), tracker)
    assert hotline.requests[-1][2]["channel"] == "twilio_voice"
    assert messages[-1]["custom"] == {"handoff": "dial"}
    assert SlotSet("handoff_active", True) not in events
    assert SlotSet("handoff_state", "transferred") in events
