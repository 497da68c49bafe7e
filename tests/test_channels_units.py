"""Unit tests of the channel helpers: numbered choices, speech, credentials, TwiML."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from bot.channels.choices import (
    is_yes_no,
    numbered_prompt,
    ordered_choices,
    payload_for_reply,
    reply_number,
)
from bot.channels.credentials import VOICE, effective_credentials
from bot.channels.speech import to_speech
from bot.channels.twilio_voice import HotlineVoiceInput

YES_NO = [{"title": "No", "payload": "/deny"}, {"title": "Yes", "payload": "/affirm"}]
MENU = [
    {"title": "What is the programme?", "payload": "/ask_programme_overview"},
    {"title": "Am I eligible?", "payload": "/check_eligibility"},
    {"title": "How do I apply?", "payload": "/ask_how_to_apply"},
]


def test_yes_no_is_always_1_for_yes() -> None:
    assert is_yes_no(YES_NO)
    assert [b["title"] for b in ordered_choices(YES_NO)] == ["Yes", "No"]
    assert numbered_prompt(YES_NO, "Press") == "Press 1 for yes, or 2 for no."
    assert payload_for_reply("1", YES_NO) == "/affirm"
    assert payload_for_reply("2", YES_NO) == "/deny"


def test_menu_prompt_and_replies() -> None:
    assert numbered_prompt(MENU) == (
        "Reply 1 for What is the programme, 2 for Am I eligible, or 3 for How do I apply."
    )
    assert payload_for_reply(" 2. ", MENU) == "/check_eligibility"
    assert payload_for_reply("option three", MENU) == "/ask_how_to_apply"
    assert payload_for_reply("4", MENU) is None
    assert payload_for_reply("2021", MENU) is None
    assert reply_number("since 2021") is None
    assert reply_number("two") == 2


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("The hotline is 0845 5390543.", "The hotline is 0 8 4 5, 5 3 9, 0 5 4 3."),
        ("It received £93,000.", "It received 93 thousand pounds."),
        ("A £10 million programme", "A 10 million pounds programme"),
        ("£1.7m from January 2018", "1.7 million pounds from January 2018"),
        ("grants of up to £25,000", "grants of up to 25 thousand pounds"),
        ("£47,350 in total", "47 thousand 350 pounds in total"),
        ("Read **this**. More at https://www.gov.uk/x.", "Read this."),
        ("See [the guidance](https://www.gov.uk/x)", "See the guidance"),
    ],
)
def test_speech(text: str, spoken: str) -> None:
    assert to_speech(text) == spoken


def test_speech_never_has_urls() -> None:
    assert "http" not in to_speech("Details: https://example.org/a?b=c")


TEMPLATE = {
    "rest": None,
    "socketio": {"session_persistence": True},
    VOICE: {"auth_token": "${TWILIO_AUTH_TOKEN}", "assistant_voice": "Polly.Amy"},
    "bot.channels.telegram.SecretTelegramInput": {
        "access_token": "${TELEGRAM_TOKEN}",
        "secret_token": "${TELEGRAM_SECRET_TOKEN}",
        "api_base": "${TELEGRAM_API_BASE}",
    },
}


def test_credentials_keep_only_configured_channels() -> None:
    creds, notes = effective_credentials(TEMPLATE, {})
    assert list(creds) == ["rest", "socketio", VOICE]
    assert creds[VOICE] == {"assistant_voice": "Polly.Amy"}  # no unset ${VAR}
    assert any("TWILIO_AUTH_TOKEN" in n for n in notes)

    creds, notes = effective_credentials(TEMPLATE, {"TELEGRAM_TOKEN": "1:a"})
    assert "bot.channels.telegram.SecretTelegramInput" not in creds
    assert any("TELEGRAM_SECRET_TOKEN" in n for n in notes)

    env = {"TELEGRAM_TOKEN": "1:a", "TELEGRAM_SECRET_TOKEN": "s", "TWILIO_AUTH_TOKEN": "t"}
    creds, notes = effective_credentials(TEMPLATE, env)
    # References stay unexpanded: Rasa substitutes them, no secret is written to disk.
    assert creds["bot.channels.telegram.SecretTelegramInput"] == {
        "access_token": "${TELEGRAM_TOKEN}",
        "secret_token": "${TELEGRAM_SECRET_TOKEN}",
    }
    assert creds[VOICE]["auth_token"] == "${TWILIO_AUTH_TOKEN}"
    assert notes == []


def _voice(staff: str | None = "+442079460000") -> HotlineVoiceInput:
    channel = HotlineVoiceInput.from_credentials({"staff_number": staff, "auth_token": "x"})
    assert isinstance(channel, HotlineVoiceInput)
    return channel


def test_transfer_dials_the_staff_number() -> None:
    twiml = _voice().build_response(
        [{"text": "Putting you through to an adviser."}, {"custom": {"handoff": "dial"}}]
    )
    root = ET.fromstring(str(twiml))
    assert root.find("Say").text == "Putting you through to an adviser."
    dial = root.find("Dial")
    assert dial is not None and dial.find("Number").text == "+442079460000"
    assert dial.get("action") == "/webhooks/twilio_voice/dial_status"
    assert root.find("Gather") is None


def test_transfer_without_staff_number_keeps_the_caller_with_the_bot() -> None:
    twiml = _voice(None).build_response([{"custom": {"handoff": "dial"}}])
    root = ET.fromstring(str(twiml))
    assert root.find("Dial") is None
    assert "can't put you through" in root.find("Gather/Say").text


def test_yes_no_buttons_gather_one_digit() -> None:
    twiml = _voice().build_response([{"text": "Shall I book it?", "buttons": YES_NO}])
    gather = ET.fromstring(str(twiml)).find("Gather")
    assert gather.get("input") == "dtmf speech" and gather.get("numDigits") == "1"
    assert [s.text for s in gather.findall("Say")][-1] == "Press 1 for yes, or 2 for no."


def test_bad_staff_number_is_refused() -> None:
    with pytest.raises(Exception, match="not a phone number"):
        HotlineVoiceInput.from_credentials({"staff_number": "call Bob"})
