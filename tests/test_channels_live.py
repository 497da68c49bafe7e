"""Each service's real webhook payloads, posted to the running Rasa (live_stack).

The services' APIs are faked on loopback (tests/channels_fakes.py); the tests
check that forged requests are refused and what the bot sent back through each
service's API, including staff replies pushed through Rasa's HTTP API.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
import xml.etree.ElementTree as ET
from typing import Any

import pytest
import requests
from twilio.request_validator import RequestValidator

from tests.channels_fakes import BF_APP_TOKEN, Call, ChannelFakes
from tests.live_stack import LiveStack

pytestmark = pytest.mark.model

HOTLINE_DIGITS = "0 8 4 5, 5 3 9, 0 5 4 3"


def _uid() -> str:
    return uuid.uuid4().hex[:8]


def _twilio_post(
    stack: LiveStack,
    fakes: ChannelFakes,
    path: str,
    form: dict[str, str],
    sign: bool = True,
    token: str | None = None,
) -> requests.Response:
    url = f"{stack.rasa_url}{path}"
    headers = {}
    if sign:
        validator = RequestValidator(token or fakes.env["TWILIO_AUTH_TOKEN"])
        headers["X-Twilio-Signature"] = validator.compute_signature(url, form)
    return requests.post(url, data=form, headers=headers, timeout=60)


def _sms(phone: str, body: str, fakes: ChannelFakes) -> dict[str, str]:
    return {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "AccountSid": fakes.env["TWILIO_ACCOUNT_SID"],
        "From": phone,
        "To": fakes.env["TWILIO_SMS_NUMBER"],
        "Body": body,
        "NumMedia": "0",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }


def _push_staff_reply(stack: LiveStack, sender: str, text: str) -> None:
    """What the handoff backend does: append a bot event, delivered on the latest channel."""
    answer = requests.post(
        f"{stack.rasa_url}/conversations/{sender}/tracker/events",
        params={"output_channel": "latest", "execute_side_effects": "true"},
        headers={"Authorization": f"Bearer {stack.rasa_token}"},
        json={"event": "bot", "text": text, "metadata": {"sender": "staff"}},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text


# --- Twilio SMS and WhatsApp --------------------------------------------------------


def test_twilio_refuses_forged_requests(live_stack: LiveStack, channel_fakes: ChannelFakes) -> None:
    form = _sms("+447700900111", "hello", channel_fakes)
    assert (
        _twilio_post(
            live_stack, channel_fakes, "/webhooks/twilio/webhook", form, sign=False
        ).status_code
        == 403
    )
    assert (
        _twilio_post(
            live_stack, channel_fakes, "/webhooks/twilio/webhook", form, token="not-the-token"
        ).status_code
        == 403
    )


def test_sms_numbered_choices_round_trip(
    live_stack: LiveStack, channel_fakes: ChannelFakes
) -> None:
    phone = f"+4477009{int(uuid.uuid4().int % 100000):05d}"
    answer = _twilio_post(
        live_stack, channel_fakes, "/webhooks/twilio/webhook", _sms(phone, "hello", channel_fakes)
    )
    assert answer.status_code == 200 and "<Response" in answer.text
    greeting = channel_fakes.wait_for(lambda c: c.service == "twilio" and c.body.get("To") == phone)
    assert greeting.body["From"] == channel_fakes.env["TWILIO_SMS_NUMBER"]
    assert "Reply 1 for What is the programme, 2 for Am I eligible" in greeting.body["Body"]
    assert greeting.headers["Authorization"].startswith("Basic ")

    # "2" is the button "Am I eligible?" -> /check_eligibility -> the first question.
    _twilio_post(
        live_stack, channel_fakes, "/webhooks/twilio/webhook", _sms(phone, "2", channel_fakes)
    )
    question = channel_fakes.wait_for(
        lambda c: (
            c.service == "twilio"
            and c.body.get("To") == phone
            and "Which of these best describes you?" in c.body.get("Body", "")
        )
    )
    assert "Reply 1 for A team or staff group in a public sector body" in question.body["Body"]


def test_whatsapp_replies_from_the_whatsapp_number(
    live_stack: LiveStack, channel_fakes: ChannelFakes
) -> None:
    sender = f"whatsapp:+4477009{int(uuid.uuid4().int % 100000):05d}"
    form = _sms(sender, "what is the hotline number?", channel_fakes)
    form["To"] = "whatsapp:" + channel_fakes.env["TWILIO_WHATSAPP_NUMBER"]
    form["ProfileName"] = "Sam"
    form["WaId"] = sender.removeprefix("whatsapp:+")
    assert (
        _twilio_post(live_stack, channel_fakes, "/webhooks/twilio/webhook", form).status_code == 200
    )
    reply = channel_fakes.wait_for(lambda c: c.service == "twilio" and c.body.get("To") == sender)
    assert reply.body["From"] == "whatsapp:" + channel_fakes.env["TWILIO_WHATSAPP_NUMBER"]
    assert "0845" in reply.body["Body"]

    _push_staff_reply(live_stack, sender, f"Staff here {sender}")
    channel_fakes.wait_for(
        lambda c: (
            c.service == "twilio"
            and c.body.get("To") == sender
            and c.body.get("Body") == f"Staff here {sender}"
        )
    )


# --- Telegram ----------------------------------------------------------------------


def _telegram_update(chat_id: int, text: str) -> dict[str, Any]:
    user = {"id": chat_id, "is_bot": False, "first_name": "Sam", "language_code": "en"}
    return {
        "update_id": int(time.time()),
        "message": {
            "message_id": 7,
            "from": user,
            "date": int(time.time()),
            "text": text,
            "chat": {"id": chat_id, "first_name": "Sam", "type": "private"},
        },
    }


def test_telegram(live_stack: LiveStack, channel_fakes: ChannelFakes) -> None:
    url = f"{live_stack.rasa_url}/webhooks/telegram/webhook"
    chat_id = 500000000 + int(uuid.uuid4().int % 10000000)
    update = _telegram_update(chat_id, "what is the hotline number?")
    assert requests.post(url, json=update, timeout=30).status_code == 403
    assert (
        requests.post(
            url, json=update, timeout=30, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}
        ).status_code
        == 403
    )
    secret = {"X-Telegram-Bot-Api-Secret-Token": channel_fakes.env["TELEGRAM_SECRET_TOKEN"]}
    assert requests.post(url, json=update, headers=secret, timeout=60).status_code == 200
    sent = channel_fakes.wait_for(
        lambda c: (
            c.service == "telegram"
            and c.path.endswith("/sendMessage")
            and c.body.get("chat_id") == str(chat_id)
        )
    )
    assert "0845" in sent.body["text"]
    assert channel_fakes.env["TELEGRAM_TOKEN"] in sent.path

    # A button press arrives as a callback query carrying the payload.
    press = {
        "update_id": int(time.time()) + 1,
        "callback_query": {
            "id": "cb-" + _uid(),
            "chat_instance": "1",
            "data": "/ask_what_is_mutual",
            "from": {"id": chat_id, "is_bot": False, "first_name": "Sam"},
            "message": {
                "message_id": 8,
                "date": int(time.time()),
                "text": "menu",
                "chat": {"id": chat_id, "type": "private"},
            },
        },
    }
    assert requests.post(url, json=press, headers=secret, timeout=60).status_code == 200
    channel_fakes.wait_for(lambda c: c.path.endswith("/answerCallbackQuery"))
    channel_fakes.wait_for(
        lambda c: (
            c.service == "telegram"
            and c.body.get("chat_id") == str(chat_id)
            and "mutual" in c.body.get("text", "").lower()
            and c.body is not sent.body
        )
    )

    _push_staff_reply(live_stack, str(chat_id), "Hello from an adviser")
    channel_fakes.wait_for(
        lambda c: (
            c.service == "telegram"
            and c.body.get("chat_id") == str(chat_id)
            and c.body.get("text") == "Hello from an adviser"
        )
    )


# --- Slack -------------------------------------------------------------------------


def _slack_post(
    stack: LiveStack,
    fakes: ChannelFakes,
    payload: dict[str, Any],
    timestamp: int | None = None,
    secret: str | None = None,
) -> requests.Response:
    body = json.dumps(payload).encode()
    ts = str(int(time.time()) if timestamp is None else timestamp)
    key = (secret or fakes.env["SLACK_SIGNING_SECRET"]).encode()
    signature = "v0=" + hmac.new(key, f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return requests.post(
        f"{stack.rasa_url}/webhooks/slack/webhook",
        data=body,
        timeout=60,
        headers={
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature,
        },
    )


def test_slack(live_stack: LiveStack, channel_fakes: ChannelFakes) -> None:
    challenge = {
        "token": "legacy",
        "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkv",
        "type": "url_verification",
    }
    answer = _slack_post(live_stack, channel_fakes, challenge)
    assert answer.status_code == 200 and answer.json() == {"challenge": challenge["challenge"]}
    assert _slack_post(live_stack, channel_fakes, challenge, secret="wrong").status_code == 401
    assert (
        _slack_post(
            live_stack, channel_fakes, challenge, timestamp=int(time.time()) - 600
        ).status_code
        == 401
    )

    user, dm = "U" + _uid().upper(), "D" + _uid().upper()
    event = {
        "token": "legacy",
        "team_id": "T0001",
        "api_app_id": "A0001",
        "type": "event_callback",
        "event_id": "Ev" + _uid(),
        "event_time": int(time.time()),
        "authorizations": [{"user_id": "UBOT", "is_bot": True, "team_id": "T0001"}],
        "event": {
            "type": "message",
            "channel_type": "im",
            "channel": dm,
            "user": user,
            "text": "what is the hotline number?",
            "ts": f"{time.time():.6f}",
            "event_ts": f"{time.time():.6f}",
        },
    }
    assert _slack_post(live_stack, channel_fakes, event).status_code == 200
    sent = channel_fakes.wait_for(lambda c: c.service == "slack" and c.body.get("channel") == dm)
    assert "0845" in sent.body["text"]
    assert sent.headers["Authorization"] == f"Bearer {channel_fakes.env['SLACK_BOT_TOKEN']}"

    _push_staff_reply(live_stack, user, "Hello from an adviser")
    channel_fakes.wait_for(
        lambda c: (
            c.service == "slack"
            and c.body.get("channel") == user
            and c.body.get("text") == "Hello from an adviser"
        )
    )


# --- Facebook Messenger ------------------------------------------------------------


def _facebook_post(
    stack: LiveStack,
    fakes: ChannelFakes,
    payload: dict[str, Any],
    header: str = "X-Hub-Signature-256",
    secret: str | None = None,
) -> requests.Response:
    body = json.dumps(payload).encode()
    key = (secret or fakes.env["FACEBOOK_APP_SECRET"]).encode()
    digest = hashlib.sha256 if header.endswith("256") else hashlib.sha1
    prefix = "sha256=" if header.endswith("256") else "sha1="
    signature = prefix + hmac.new(key, body, digest).hexdigest()
    return requests.post(
        f"{stack.rasa_url}/webhooks/facebook/webhook",
        data=body,
        timeout=60,
        headers={"Content-Type": "application/json", header: signature},
    )


def test_facebook(live_stack: LiveStack, channel_fakes: ChannelFakes) -> None:
    url = f"{live_stack.rasa_url}/webhooks/facebook/webhook"
    verify = {
        "hub.mode": "subscribe",
        "hub.challenge": "1158201444",
        "hub.verify_token": channel_fakes.env["FACEBOOK_VERIFY_TOKEN"],
    }
    assert requests.get(url, params=verify, timeout=30).text == "1158201444"
    assert (
        requests.get(url, params={**verify, "hub.verify_token": "x"}, timeout=30).status_code == 403
    )

    psid = str(2000000000000000 + int(uuid.uuid4().int % 10**12))
    now = int(time.time() * 1000)
    payload = {
        "object": "page",
        "entry": [
            {
                "id": "PAGE1",
                "time": now,
                "messaging": [
                    {
                        "sender": {"id": psid},
                        "recipient": {"id": "PAGE1"},
                        "timestamp": now,
                        "message": {"mid": "m_" + _uid(), "text": "what is the hotline number?"},
                    }
                ],
            }
        ],
    }
    assert requests.post(url, json=payload, timeout=30).status_code == 403
    assert _facebook_post(live_stack, channel_fakes, payload, secret="wrong").status_code == 403
    assert (
        _facebook_post(
            live_stack, channel_fakes, payload, header="X-Hub-Signature", secret="wrong"
        ).status_code
        == 403
    )
    assert _facebook_post(live_stack, channel_fakes, payload).status_code == 200
    sent = channel_fakes.wait_for(
        lambda c: (
            c.service == "facebook"
            and c.body.get("recipient", {}).get("id") == psid
            and "text" in c.body.get("message", {})
        )
    )
    assert "0845" in sent.body["message"]["text"]
    assert sent.query["access_token"] == channel_fakes.env["FACEBOOK_PAGE_TOKEN"]
    assert "appsecret_proof" in sent.query

    _push_staff_reply(live_stack, psid, "Hello from an adviser")
    channel_fakes.wait_for(
        lambda c: (
            c.service == "facebook"
            and c.body.get("message", {}).get("text") == "Hello from an adviser"
        )
    )


# --- Microsoft Teams (Bot Framework) -----------------------------------------------


def _activity(fakes: ChannelFakes, user: str, text: str) -> dict[str, Any]:
    return {
        "type": "message",
        "id": "1" + _uid(),
        "timestamp": "2024-05-01T10:00:00.000Z",
        "serviceUrl": f"{fakes.base}/botframework/connector/",
        "channelId": "msteams",
        "from": {"id": user, "name": "Sam", "aadObjectId": str(uuid.uuid4())},
        "conversation": {
            "conversationType": "personal",
            "tenantId": str(uuid.uuid4()),
            "id": "a:" + _uid(),
        },
        "recipient": {"id": "28:" + fakes.env["MICROSOFT_APP_ID"], "name": "Hotline"},
        "textFormat": "plain",
        "locale": "en-GB",
        "text": text,
        "channelData": {"tenant": {"id": str(uuid.uuid4())}},
    }


def test_botframework(live_stack: LiveStack, channel_fakes: ChannelFakes) -> None:
    url = f"{live_stack.rasa_url}/webhooks/botframework/webhook"
    user = "29:" + _uid()
    activity = _activity(channel_fakes, user, "what is the hotline number?")
    service_url = activity["serviceUrl"]

    def post(token: str | None) -> int:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.post(url, json=activity, headers=headers, timeout=60).status_code

    assert post(None) == 401
    assert post(channel_fakes.bf_token(service_url, aud="someone-else")) == 401
    assert post(channel_fakes.bf_token(service_url, iss="https://evil.example")) == 401
    assert post(channel_fakes.bf_token("https://evil.example/")) == 401
    assert post(channel_fakes.bf_token(service_url, exp=int(time.time()) - 3600)) == 401
    import jwt
    from cryptography.hazmat.primitives.asymmetric import rsa

    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(
        {
            "aud": channel_fakes.env["MICROSOFT_APP_ID"],
            "iss": "https://api.botframework.com",
            "serviceurl": service_url,
            "exp": int(time.time()) + 600,
        },
        other_key,
        algorithm="RS256",
        headers={"kid": "fake-key-1"},
    )
    assert post(forged) == 401

    assert post(channel_fakes.bf_token(service_url)) == 200
    conversation = activity["conversation"]["id"]

    def to_conversation(c: Call) -> bool:
        return c.service == "botframework" and conversation in c.path

    sent = channel_fakes.wait_for(to_conversation)
    assert "0845" in sent.body["text"]
    assert sent.headers["Authorization"] == f"Bearer {BF_APP_TOKEN}"
    assert sent.body["recipient"] == {"id": user}

    _push_staff_reply(live_stack, user, "Hello from an adviser")
    channel_fakes.wait_for(
        lambda c: to_conversation(c) and c.body.get("text") == "Hello from an adviser"
    )


# --- The phone line (Twilio Voice) --------------------------------------------------

VOICE = "/webhooks/twilio_voice/webhook"


def _call(fakes: ChannelFakes, caller: str, **fields: str) -> dict[str, str]:
    form = {
        "CallSid": "CA" + uuid.uuid4().hex,
        "AccountSid": fakes.env["TWILIO_ACCOUNT_SID"],
        "From": caller,
        "To": "+448455390543",
        "Caller": caller,
        "Called": "+448455390543",
        "CallStatus": "in-progress",
        "Direction": "inbound",
        "ApiVersion": "2010-04-01",
        "FromCountry": "GB",
        "ToCountry": "GB",
    }
    form.update(fields)
    return form


def _twiml(answer: requests.Response) -> ET.Element:
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("text/xml")
    return ET.fromstring(answer.text)


def _said(root: ET.Element) -> str:
    return " ".join(s.text or "" for s in root.iter("Say"))


def test_voice_refuses_unsigned_calls(live_stack: LiveStack, channel_fakes: ChannelFakes) -> None:
    form = _call(channel_fakes, "+447700900222", CallStatus="ringing")
    assert _twilio_post(live_stack, channel_fakes, VOICE, form, sign=False).status_code == 403


def test_voice_call(live_stack: LiveStack, channel_fakes: ChannelFakes) -> None:
    caller = f"+4477009{int(uuid.uuid4().int % 100000):05d}"
    call = "CA" + uuid.uuid4().hex  # one call, one conversation

    def say(**fields: str) -> ET.Element:
        form = _call(channel_fakes, caller, CallSid=call, **fields)
        return _twiml(_twilio_post(live_stack, channel_fakes, VOICE, form))

    # The call rings in: greeting with the menu as keypad choices.
    root = say(CallStatus="ringing")
    gather = root.find("Gather")
    assert gather is not None
    assert gather.get("input") == "dtmf speech" and gather.get("numDigits") == "1"
    assert gather.get("action") == VOICE and gather.get("language") == "en-GB"
    assert "Press 1 for What is the programme, 2 for Am I eligible" in _said(root)
    assert "http" not in _said(root)

    # Spoken answers: phone numbers digit by digit.
    root = say(SpeechResult="what is the hotline number", Confidence="0.92")
    assert HOTLINE_DIGITS in _said(root)
    # Keys are taken only when the answer offers numbered choices (it now says whether
    # the line is staffed and may offer an adviser).
    offers = "Press 1" in _said(root)
    assert root.find("Gather").get("input") == ("dtmf speech" if offers else "speech")

    # Amounts read naturally, no "£".
    root = say(SpeechResult="is the programme still running", Confidence="0.9")
    assert "10 million pounds" in _said(root) and "£" not in _said(root)

    # Silence: the question again, then goodbye.
    root = say()
    assert root.find("Gather").get("action") == f"{VOICE}?silence=1"
    assert "10 million pounds" in _said(root)
    form = _call(channel_fakes, caller, CallSid=call)
    url = f"{VOICE}?silence=2"
    root = _twiml(_twilio_post(live_stack, channel_fakes, url, form))
    assert root.find("Hangup") is not None

    # Keypad: 2 = "Am I eligible?" from the greeting's menu.
    say(SpeechResult="hello")
    root = say(Digits="2")
    assert "Which of these best describes you?" in _said(root)
    assert "Press 1 for A team or staff group in a public sector body" in _said(root)


def test_voice_transfer_status(live_stack: LiveStack, channel_fakes: ChannelFakes) -> None:
    path = "/webhooks/twilio_voice/dial_status"
    caller = "+447700900333"
    done = _call(channel_fakes, caller, DialCallStatus="completed", DialCallDuration="42")
    assert _twiml(_twilio_post(live_stack, channel_fakes, path, done)).find("Hangup") is not None
    missed = _call(channel_fakes, caller, DialCallStatus="no-answer")
    root = _twiml(_twilio_post(live_stack, channel_fakes, path, missed))
    assert "no adviser could take your call" in _said(root) and root.find("Gather") is not None


def test_voice_cannot_push(live_stack: LiveStack, channel_fakes: ChannelFakes) -> None:
    """Staff replies to a phone conversation are recorded, not sent anywhere (documented)."""
    caller, call = "+447700900444", "CA" + uuid.uuid4().hex
    form = _call(channel_fakes, caller, CallSid=call, SpeechResult="hello")
    _twilio_post(live_stack, channel_fakes, VOICE, form)
    before = len(channel_fakes.find(lambda c: True))
    _push_staff_reply(live_stack, live_stack.phone_conversation(call), "Hello from an adviser")
    time.sleep(1)
    assert len(channel_fakes.find(lambda c: True)) == before


def test_voice_transfer_to_staff_with_a_ticket(
    live_stack: LiveStack, channel_fakes: ChannelFakes
) -> None:
    """Asking for a person on the phone: reason, ticket in the console, then <Dial>."""
    caller = f"+4477009{int(uuid.uuid4().int % 100000):05d}"
    call = "CA" + uuid.uuid4().hex

    def say(**fields: str) -> ET.Element:
        form = _call(channel_fakes, caller, CallSid=call, **fields)
        return _twiml(_twilio_post(live_stack, channel_fakes, VOICE, form))

    say(CallStatus="ringing")
    root = say(SpeechResult="can I speak to a person please", Confidence="0.9")
    assert "what would you like help with" in _said(root).lower()
    root = say(SpeechResult="we need legal advice about spinning out", Confidence="0.9")
    dial = root.find("Dial")
    assert dial is not None, ET.tostring(root)
    assert dial.findtext("Number") == channel_fakes.env["HOTLINE_STAFF_NUMBER"]
    assert "putting you through" in _said(root).lower()
    # The console has the ticket, with the phone channel and the caller's reason.
    login = requests.post(
        f"{live_stack.web_url}/api/login",
        timeout=30,
        json={"username": live_stack.admin_user, "password": live_stack.admin_password},
    )
    headers = {"Authorization": f"Bearer {login.json()['token']}"}
    tickets = requests.get(f"{live_stack.web_url}/api/handoffs", headers=headers, timeout=30).json()
    items = tickets["items"] if isinstance(tickets, dict) else tickets
    # The call's conversation, not the caller's number (issue 11, finding 4).
    (ticket,) = [t for t in items if t["conversation_id"] == live_stack.phone_conversation(call)]
    assert ticket["channel"] == "twilio_voice"
    assert "legal advice" in ticket["reason"]


# --- Issue 11, finding 5: the message length limit on every channel ------------------

LONG = "please read all of this " * 500  # 12,000 characters, over the 2,000 limit


def _too_long(text: str) -> bool:
    return "too long" in text and "2,000 characters" in text


def test_long_sms_gets_a_reply_and_the_conversation_continues(
    live_stack: LiveStack, channel_fakes: ChannelFakes
) -> None:
    phone = f"+4477009{int(uuid.uuid4().int % 100000):05d}"
    path = "/webhooks/twilio/webhook"
    for sender in (phone, f"whatsapp:{phone}"):
        answer = _twilio_post(live_stack, channel_fakes, path, _sms(sender, LONG, channel_fakes))
        assert answer.status_code == 200
        channel_fakes.wait_for(
            lambda c, s=sender: c.body.get("To") == s and _too_long(c.body.get("Body", ""))
        )
    _twilio_post(
        live_stack, channel_fakes, path, _sms(phone, "what is the hotline number?", channel_fakes)
    )
    channel_fakes.wait_for(lambda c: c.body.get("To") == phone and "0845" in c.body.get("Body", ""))


def test_long_telegram_message_gets_a_reply(
    live_stack: LiveStack, channel_fakes: ChannelFakes
) -> None:
    url = f"{live_stack.rasa_url}/webhooks/telegram/webhook"
    chat_id = 600000000 + int(uuid.uuid4().int % 10000000)
    secret = {"X-Telegram-Bot-Api-Secret-Token": channel_fakes.env["TELEGRAM_SECRET_TOKEN"]}
    answer = requests.post(url, json=_telegram_update(chat_id, LONG), headers=secret, timeout=60)
    assert answer.status_code == 200
    channel_fakes.wait_for(
        lambda c: c.body.get("chat_id") == str(chat_id) and _too_long(c.body.get("text", ""))
    )


def test_long_slack_message_gets_a_reply(
    live_stack: LiveStack, channel_fakes: ChannelFakes
) -> None:
    user, dm = "U" + _uid().upper(), "D" + _uid().upper()
    event = {
        "type": "event_callback",
        "event_id": "Ev" + _uid(),
        "authorizations": [{"user_id": "UBOT", "is_bot": True, "team_id": "T0001"}],
        "event": {
            "type": "message",
            "channel_type": "im",
            "channel": dm,
            "user": user,
            "text": LONG,
            "ts": f"{time.time():.6f}",
        },
    }
    assert _slack_post(live_stack, channel_fakes, event).status_code == 200
    channel_fakes.wait_for(
        lambda c: (
            c.service == "slack"
            and c.body.get("channel") == dm
            and _too_long(str(c.body.get("text", "")))
        )
    )


def test_long_messenger_message_gets_a_reply(
    live_stack: LiveStack, channel_fakes: ChannelFakes
) -> None:
    psid = str(3000000000000000 + int(uuid.uuid4().int % 10**12))
    now = int(time.time() * 1000)
    message = {"mid": "m_" + _uid(), "text": LONG}
    entry = {
        "sender": {"id": psid},
        "recipient": {"id": "PAGE1"},
        "timestamp": now,
        "message": message,
    }
    payload = {"object": "page", "entry": [{"id": "PAGE1", "time": now, "messaging": [entry]}]}
    assert _facebook_post(live_stack, channel_fakes, payload).status_code == 200
    channel_fakes.wait_for(
        lambda c: (
            c.body.get("recipient", {}).get("id") == psid
            and _too_long(str(c.body.get("message", {}).get("text", "")))
        )
    )


def test_long_teams_message_gets_a_reply(
    live_stack: LiveStack, channel_fakes: ChannelFakes
) -> None:
    activity = _activity(channel_fakes, "29:" + _uid(), LONG)
    token = channel_fakes.bf_token(activity["serviceUrl"])
    answer = requests.post(
        f"{live_stack.rasa_url}/webhooks/botframework/webhook",
        json=activity,
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert answer.status_code == 200
    conversation = activity["conversation"]["id"]
    channel_fakes.wait_for(
        lambda c: (
            c.service == "botframework"
            and conversation in c.path
            and _too_long(str(c.body.get("text", "")))
        )
    )


def test_long_speech_and_rest_messages_get_a_reply(
    live_stack: LiveStack, channel_fakes: ChannelFakes
) -> None:
    form = _call(channel_fakes, "+447700900777", SpeechResult="la " * 350_000)  # about 1 MB
    root = _twiml(_twilio_post(live_stack, channel_fakes, VOICE, form))
    assert "too long" in _said(root) and root.find("Gather") is not None
    url = f"{live_stack.rasa_url}/webhooks/rest/webhook"
    for size in (1_000_000, 10_000_000):
        answer = requests.post(url, json={"sender": "big", "message": "a" * size}, timeout=120)
        assert answer.status_code == 200
        assert [_too_long(m["text"]) for m in answer.json()] == [True]
    answer = requests.post(url, json={"sender": "big", "message": "what is a mutual?"}, timeout=60)
    assert "spun out" in answer.json()[0]["text"]


def test_rasas_token_is_taken_from_a_header_never_the_url(live_stack: LiveStack) -> None:
    """Issue 11, finding 9: a token in a URL ends up in access and proxy logs."""
    url = f"{live_stack.rasa_url}/conversations/rest:token-check/tracker"
    in_url = requests.get(url, params={"token": live_stack.rasa_token}, timeout=30)
    assert in_url.status_code == 401
    assert "Authorization" in in_url.json()["message"]
    wrong = requests.get(url, headers={"Authorization": "Bearer wrong"}, timeout=30)
    assert wrong.status_code == 401
    right = requests.get(
        url, headers={"Authorization": f"Bearer {live_stack.rasa_token}"}, timeout=30
    )
    assert right.status_code == 200
