"""The hotline's phone line: Twilio Voice with short spoken answers, keypad choices and transfer.

Subclasses Rasa 3.6's `TwilioVoiceInput`, which checks no signature and reads
chat text (links, "£93,000", "0845 5390543") as written. This channel:

- refuses requests without a valid `X-Twilio-Signature` (403) whenever an auth
  token is configured (`make run` warns when none is);
- speaks text through `bot.channels.speech.to_speech`;
- turns buttons into "Press 1 for ..., 2 for ..." with
  `<Gather input="dtmf speech" numDigits="1">` and maps the digit (or a spoken
  "one") back to the button's payload, reading the buttons from the tracker;
- transfers the call to the staff line (`<Dial>`) when a bot message carries
  the custom payload `{"handoff": "dial"}` (see docs/handoff.md, "Phone");
- re-asks the last question after silence, and ends the call after
  `MAX_SILENCES` silent turns in a row;
- keeps each call in a conversation of its own, `phone:` + HMAC(`CallSid`)
  (`bot.core.conversations`): the number in `From` names no conversation, so an
  unsigned request cannot make the line read back another caller's (or a web
  caller's) last turn (issue 11, finding 4);
- answers a `SpeechResult` over the length limit with a reply saying so,
  without handing it to Rasa (`bot.channels.guard`).

Voice cannot push: staff replies sent through Rasa's API during a call are
stored in the tracker but not spoken (the phone hands over by transfer instead).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import (
    CollectingOutputChannel,
    InputChannel,
    OutputChannel,
    UserMessage,
)
from rasa.core.channels.twilio_voice import TwilioVoiceInput
from rasa.shared.exceptions import InvalidConfigException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from bot.channels import guard
from bot.channels.choices import (
    MAX_DIGIT_CHOICES,
    last_bot_turn,
    last_buttons,
    numbered_prompt,
    payload_for_reply,
    resolve_reply,
)
from bot.channels.speech import to_speech
from bot.channels.twilio import form_value, signature_is_valid
from bot.core.conversations import phone_conversation_id

logger = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/twilio_voice/webhook"
DIAL_STATUS_PATH = "/webhooks/twilio_voice/dial_status"
MAX_SILENCES = 2
DIAL_TIMEOUT_SECONDS = 30
GOODBYE = "I haven't heard anything, so I'll end the call now. Goodbye."
NO_TRANSFER = "I'm sorry, I can't put you through to an adviser just now."
DIAL_FAILED = (
    "I'm sorry, no adviser could take your call just now. "
    "You can ask me to arrange a callback, or ask me another question."
)
_PHONE_NUMBER = re.compile(r"^\+?\d{7,15}$")
# Twilio's call ids are "CA" and 32 hex digits; anything of this shape is one call.
_CALL_SID = re.compile(r"^[A-Za-z0-9]{2,64}$")


def transfer_requested(message: dict[str, Any]) -> bool:
    """True when a bot message asks the phone channel to transfer the call.

    The contract (docs/handoff.md, "Phone"): a bot message whose `custom`
    payload contains `"handoff": "dial"`.
    """
    custom = message.get("custom")
    return isinstance(custom, dict) and custom.get("handoff") == "dial"


class VoiceCollector(CollectingOutputChannel):
    """Collects the bot's messages for one call turn, as sent (buttons and custom intact)."""

    @classmethod
    def name(cls) -> str:
        """Name of the output channel."""
        return "twilio_voice"


class HotlineVoiceInput(TwilioVoiceInput):
    """Twilio Voice webhook for the hotline number."""

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """Builds the channel from its credentials.yml entry (every key optional)."""
        credentials = credentials or {}
        staff_number = re.sub(r"[\s()-]", "", str(credentials.get("staff_number") or ""))
        if staff_number and not _PHONE_NUMBER.match(staff_number):
            raise InvalidConfigException(
                f"HOTLINE_STAFF_NUMBER {credentials['staff_number']!r} is not a phone number; "
                "use the E.164 form, e.g. +442079460000"
            )
        return cls(
            credentials.get("initial_prompt", "hello"),
            credentials.get("reprompt_fallback_phrase", "Sorry, I didn't catch that."),
            credentials.get("assistant_voice", "Polly.Amy"),
            str(credentials.get("speech_timeout", "2")),
            credentials.get("speech_model", "phone_call"),
            str(credentials.get("enhanced", "false")),
            auth_token=credentials.get("auth_token") or None,
            public_url=credentials.get("public_url") or None,
            staff_number=staff_number or None,
            language=credentials.get("language", "en-GB"),
        )

    def __init__(
        self,
        initial_prompt: str | None,
        reprompt_fallback_phrase: str | None,
        assistant_voice: str | None,
        speech_timeout: str = "2",
        speech_model: str = "phone_call",
        enhanced: str = "false",
        auth_token: str | None = None,
        public_url: str | None = None,
        staff_number: str | None = None,
        language: str = "en-GB",
        session_key: str | None = None,
    ) -> None:
        super().__init__(
            initial_prompt,
            reprompt_fallback_phrase,
            assistant_voice,
            speech_timeout,
            speech_model,
            enhanced,
        )
        self.auth_token = auth_token
        self.public_url = public_url
        self.staff_number = staff_number
        self.language = language
        self._session_key = session_key
        if not auth_token:
            logger.warning(
                "twilio_voice: no TWILIO_AUTH_TOKEN, so phone webhooks are NOT verified. "
                "Set it before the number takes real calls."
            )

    def conversation_id(self, call_sid: str) -> str:
        """The conversation of one call (never the caller's number: see the module doc).

        Args:
            call_sid: Twilio's `CallSid`.

        Returns:
            `phone:` and a keyed hash of the call id.

        """
        return phone_conversation_id(self._session_key or guard.session_key(), call_sid)

    def _refused(self, request: Request) -> HTTPResponse | None:
        if self.auth_token and not signature_is_valid(request, self.auth_token, self.public_url):
            logger.warning("Refused a Twilio Voice webhook without a valid X-Twilio-Signature")
            return response.text("invalid signature", status=403)
        return None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The call webhook and the status callback of a transfer."""
        voice = Blueprint("hotline_twilio_voice_webhook", __name__)
        handle = guard.limited(on_new_message)

        @voice.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @voice.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            refused = self._refused(request)
            if refused:
                return refused
            call_sid = form_value(request, "CallSid") or ""
            if not _CALL_SID.match(call_sid):
                return response.text("CallSid is missing or malformed", status=400)
            sender = self.conversation_id(call_sid)
            agent = getattr(request.app.ctx, "agent", None)
            text = await self._caller_text(request, agent, sender)
            if text is not None:
                collector = VoiceCollector()
                metadata = {
                    "twilio_voice": {
                        "call_sid": call_sid,
                        "from": form_value(request, "From"),
                        "to": form_value(request, "To"),
                        "digits": form_value(request, "Digits"),
                        # The actions decide before speaking whether a person can be
                        # reached on this line (actions/handoff.py, cannot_transfer).
                        "can_transfer": bool(self.staff_number),
                    }
                }
                await handle(
                    UserMessage(
                        text, collector, sender, input_channel=self.name(), metadata=metadata
                    )
                )
                twiml = self.build_response(collector.messages)
            else:
                twiml = await self._reprompt(request, agent, sender)
            return response.text(str(twiml), content_type="text/xml")

        @voice.route("/dial_status", methods=["POST"])
        async def dial_status(request: Request) -> HTTPResponse:
            refused = self._refused(request)
            if refused:
                return refused
            twiml = VoiceResponse()
            if form_value(request, "DialCallStatus") == "completed":
                twiml.hangup()
            else:
                # Nobody answered: back to the assistant, which can book a callback.
                twiml = self.build_response([{"text": DIAL_FAILED}])
            return response.text(str(twiml), content_type="text/xml")

        return voice

    async def _caller_text(self, request: Request, agent: Any, sender: str) -> str | None:
        """What the caller said or pressed, as the text to give Rasa (None for silence)."""
        digits = form_value(request, "Digits")
        speech = form_value(request, "SpeechResult")
        if digits:
            tracker = await agent.tracker_store.retrieve(sender) if agent else None
            # A key press only means something as an answer to numbered choices.
            return payload_for_reply(digits, last_buttons(tracker))
        if speech and speech.strip():
            return await resolve_reply(agent, sender, speech)
        if form_value(request, "CallStatus") == "ringing":
            return self.initial_prompt
        return None

    async def _reprompt(self, request: Request, agent: Any, sender: str) -> VoiceResponse:
        """Says the last question again, or ends the call after repeated silence."""
        # Our own counter in the callback URL; anything else in it counts as none.
        raw = str(request.args.get("silence", "0") or "0")
        counted = raw.isascii() and raw.isdigit() and len(raw) < 4
        silences = (min(int(raw), MAX_SILENCES) if counted else 0) + 1
        if silences > MAX_SILENCES:
            twiml = VoiceResponse()
            twiml.say(GOODBYE, voice=self.assistant_voice, language=self.language)
            twiml.hangup()
            return twiml
        tracker = await agent.tracker_store.retrieve(sender) if agent else None
        messages = last_bot_turn(tracker) or [{"text": self.reprompt_fallback_phrase or ""}]
        return self.build_response(messages, silences=silences)

    def build_response(self, messages: list[dict[str, Any]], silences: int = 0) -> VoiceResponse:
        """TwiML for one turn: the bot's messages spoken, then listen (or transfer).

        Args:
            messages: The bot's messages as collected (`text`, `buttons`, `custom`).
            silences: How many silent turns in a row led here (0 after an answer).

        Returns:
            The TwiML response.
        """
        spoken = [to_speech(m["text"]) for m in messages if m.get("text")]
        spoken = [s for s in spoken if s]
        buttons: list[dict[str, Any]] = []
        for message in messages:
            if message.get("buttons"):
                buttons = list(message["buttons"])
        twiml = VoiceResponse()
        if any(transfer_requested(m) for m in messages):
            if self.staff_number:
                for text in spoken:
                    twiml.say(text, voice=self.assistant_voice, language=self.language)
                dial = Dial(action=DIAL_STATUS_PATH, timeout=DIAL_TIMEOUT_SECONDS)
                dial.number(self.staff_number)
                twiml.append(dial)
                return twiml
            logger.error("A call asked for a transfer but HOTLINE_STAFF_NUMBER is not set")
            spoken.append(NO_TRANSFER)
            buttons = []
        if buttons:
            spoken.append(numbered_prompt(buttons, verb="Press"))
        action = WEBHOOK_PATH + (f"?silence={silences}" if silences else "")
        options: dict[str, Any] = {}
        if buttons and len(buttons) <= MAX_DIGIT_CHOICES:
            options = {"input": "dtmf speech", "numDigits": 1}
        else:
            options = {"input": "speech"}
        gather = Gather(
            action=action,
            actionOnEmptyResult=True,
            speechTimeout=self.speech_timeout,
            speechModel=self.speech_model,
            enhanced=self.enhanced,
            language=self.language,
            **options,
        )
        # Everything is said inside <Gather> so a caller can answer without waiting.
        for index, text in enumerate(spoken):
            if index:
                gather.pause(length=1)
            gather.say(text, voice=self.assistant_voice, language=self.language)
        twiml.append(gather)
        return twiml

    def get_output_channel(self) -> OutputChannel | None:
        """None: a phone call cannot be pushed to; Rasa then only records the message."""
        return None
