"""Issue 13: personal data masked in logs, the stored transcript and the training export.

The numbers are made up: Ofcom's drama range for phones, HMRC's example NI number,
the card schemes' published test numbers.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.privacy import ActionValidateSlotMappings
from bot.config import Settings
from bot.core import logmask
from bot.core.pii import MAX_SCAN_CHARS, SENSITIVE, kinds_in, luhn_ok, mask
from bot.privacy import training
from bot.privacy.tracker import TrackerEvents
from tests.handoff_support import INTERNAL, create_handoff
from tests.privacy_support import (
    user_texts,
    write_conversation,
)

CARD = "4111 1111 1111 1111"  # Visa's test number (passes Luhn)


@pytest.mark.parametrize(
    ("text", "kind", "masked"),
    [
        (f"my card is {CARD} ok", "card", "my card is [card number removed] ok"),
        ("card 5555-5555-5555-4444", "card", "card [card number removed]"),
        ("sort code 12-34-56 account 12345678", "bank", "sort code [bank details removed]"),
        ("12345678 and 12 34 56", "bank", "[bank details removed]"),
        ("account number 87654321 please", "bank", "account number [bank details removed] please"),
        ("my NI is QQ 12 34 56 C", "ni", "my NI is [NI number removed]"),
        ("ni: ab123456c.", "ni", "ni: [NI number removed]."),
        ("mail jo.bloggs@example.org.uk now", "email", "mail [email removed] now"),
        ("call me on 07700 900123", "phone", "call me on [phone number removed]"),
        ("or +44 20 7946 0000", "phone", "or [phone number removed]"),
    ],
)
def test_each_kind_is_found_and_masked(text: str, kind: str, masked: str) -> None:
    assert kinds_in(text) == {kind}
    assert mask(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "4111 1111 1111 1112",  # fails Luhn
        "0000 0000 0000 0000",
        "we have 12 staff since 2019 and £40,000",
        "web:0123456789abcdef0123456789abcdef",  # conversation ids stay readable in logs
        "phone:9f3a1234567890b",
        "Listening on 127.0.0.1:8080 at 2026-12-02 04:21:06",
        "ts 1701234567.123 took 0.0123456s",
        "12-34-56 on its own",
        "is the programme still running?",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert mask(text) == text


def test_luhn() -> None:
    assert luhn_ok("79927398713") and not luhn_ok("79927398710")


@pytest.mark.parametrize(
    "hostile",
    [
        "1" * 100_000,
        "1 " * 50_000,
        "a" * 50_000 + "@",
        "a." * 50_000,
        ("12-34-56 " + "x" * 39) * 2_000,
        "QQ 12 34 56 " * 8_000,
        "@" + "a-" * 50_000,
    ],
)
def test_patterns_stay_linear_and_the_input_is_capped(hostile: str) -> None:
    started = time.perf_counter()
    masked = mask(hostile)
    assert time.perf_counter() - started < 2.0
    assert len(masked) <= MAX_SCAN_CHARS + 60  # the rest is dropped, never passed through


def test_text_beyond_the_cap_is_never_passed_through_unmasked() -> None:
    text = "x" * MAX_SCAN_CHARS + f" {CARD}"
    masked = mask(text)
    assert CARD not in masked and "more characters not shown" in masked


@pytest.fixture
def masked_logs() -> Any:
    logmask.install()
    stream = io.StringIO()
    # A logger and handler configured after installation, as Rasa and Sanic do.
    logger = logging.getLogger("tests.privacy.late")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)


def test_every_log_record_is_masked(masked_logs: Any) -> None:
    logger, stream = masked_logs
    logger.info("Received message %r from %s", f"card {CARD}", "jo@example.org")
    logger.debug("caller said: ring 07700 900123, NI QQ123456C")
    try:
        raise ValueError(f"bad account 12-34-56 12345678 for {CARD}")
    except ValueError:
        logger.exception("failed")
    logger.info("conversation web:0123456789abcdef0123456789abcdef")
    out = stream.getvalue()
    for secret in (CARD, "jo@example.org", "07700 900123", "QQ123456C", "12-34-56 12345678"):
        assert secret not in out
    assert "[card number removed]" in out and "[email removed]" in out
    assert "[bank details removed]" in out  # inside the traceback too
    assert "web:0123456789abcdef0123456789abcdef" in out


def test_every_process_installs_the_log_filter() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    for entry in ("bot/__main__.py", "bot/stack.py", "bot/rasa_runtime.py", "actions/__init__.py"):
        assert "logmask.install()" in (root / entry).read_text(encoding="utf-8"), entry


async def test_the_stored_transcript_masks_sensitive_numbers(privacy_settings: Settings) -> None:
    import datetime as dt

    texts = [f"my card is {CARD}", "NI QQ 12 34 56 C, call me on 07700 900123"]
    await write_conversation(privacy_settings, "web:typed", texts, dt.datetime.now(dt.timezone.utc))
    stored = user_texts(privacy_settings, "web:typed")
    assert stored == [
        "my card is [card number removed]",
        # The callback number a caller gives stays: staff need it.
        "NI [NI number removed], call me on 07700 900123",
    ]
    from tests.privacy_support import tracker_rows

    raw = " ".join(data for _, data in tracker_rows(privacy_settings, "web:typed"))
    assert CARD not in raw and "QQ 12 34 56 C" not in raw  # parse_data.text too


async def test_a_relayed_message_is_masked_for_staff_and_the_transcript(
    aiohttp_client: Any, staffed: Settings
) -> None:
    from bot.web.app import create_app
    from tests.privacy_support import app_rows

    client = await aiohttp_client(create_app(staffed))
    await create_handoff(client, "web:relay")
    response = await client.post(
        "/internal/handoffs/web:relay/messages",
        json={"text": f"it's {CARD}, ring 07700 900123", "message_id": "m1"},
        headers=INTERNAL,
    )
    assert response.status == 202
    rows = app_rows(staffed, "SELECT text FROM handoff_messages WHERE sender = 'caller'")
    assert rows == [("it's [card number removed], ring 07700 900123",)]
    callback = await client.post(
        "/internal/callbacks",
        json={"name": "Jo", "phone": "07700 900123", "reason": f"refund to {CARD}"},
        headers=INTERNAL,
    )
    assert callback.status == 201
    assert app_rows(staffed, "SELECT phone, reason FROM callback_requests") == [
        ("07700900123", "refund to [card number removed]")  # staff still see the number
    ]


def _tracker(text: str, channel: str = "socketio", users: int = 2) -> Tracker:
    events = [{"event": "user", "text": "hi"}] * (users - 1) + [{"event": "user", "text": text}]
    return Tracker(
        "web:x",
        {},
        {"text": text, "intent": {"name": "greet"}},
        events,
        False,
        None,
        {},
        channel,
    )


def _run(tracker: Tracker, settings: Settings) -> list[dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionValidateSlotMappings(settings).run(dispatcher, tracker, {}))
    assert events == []  # no slot is ever changed
    return dispatcher.messages


@pytest.mark.parametrize(
    "text", [f"card {CARD}", "sort code 12-34-56 acc 12345678", "my NI number is QQ123456C"]
)
def test_a_caller_who_types_sensitive_numbers_is_told_not_to(text: str) -> None:
    settings = Settings.from_env({})
    assert [m["response"] for m in _run(_tracker(text), settings)] == ["utter_sensitive_data"]


@pytest.mark.parametrize("text", ["call me on 07700 900123", "what is a mutual?", "/ask_award"])
def test_ordinary_messages_get_no_warning(text: str) -> None:
    assert _run(_tracker(text), Settings.from_env({})) == []


def test_the_warning_is_a_domain_response() -> None:
    import yaml

    from bot.core.content import DOMAIN_PATH

    domain = yaml.safe_load(DOMAIN_PATH.read_text(encoding="utf-8"))
    assert "utter_sensitive_data" in domain["responses"]
    assert {"action_validate_slot_mappings", "utter_sensitive_data"} <= set(domain["actions"])
    assert {"bank", "card", "ni"} == SENSITIVE


async def test_the_training_export_masks_every_kind(privacy_settings: Settings) -> None:
    import datetime as dt

    now = dt.datetime.now(dt.timezone.utc)
    texts = [
        "how do I apply? email jo@example.org or ring 07700 900123",
        f"{CARD}",
        "/ask_award",
        "how do I apply? email jo@example.org or ring 07700 900123",
    ]
    await write_conversation(privacy_settings, "web:train", texts, now)
    tracker = TrackerEvents.from_settings(privacy_settings)
    try:
        examples = await training.masked_examples(tracker)
    finally:
        await tracker.close()
    assert examples == {
        "ask_how_to_apply": ["how do I apply? email [email removed] or ring [phone number removed]"]
    }
    import yaml

    exported = yaml.safe_load(training.to_nlu_yaml(examples))
    assert exported["nlu"][0]["intent"] == "ask_how_to_apply"
    assert "[email removed]" in exported["nlu"][0]["examples"]
