"""Twilio SMS and WhatsApp with signed webhooks and numbered choices.

Rasa 3.6's `TwilioInput` checks nothing: anyone who knows the URL can post as
any phone number. `SignedTwilioInput` refuses requests without a valid
`X-Twilio-Signature` (403), turns buttons into "Reply 1 for ..., 2 for ..."
and a numbered reply back into the button's payload. Its output channel posts
to Twilio's REST API with aiohttp (the built-in one blocks the event loop with
the synchronous client and cannot be pointed at another host) and picks the
WhatsApp sender number for `whatsapp:` recipients.

credentials.yml::

    bot.channels.twilio.SignedTwilioInput:
      account_sid: ${TWILIO_ACCOUNT_SID}
      auth_token: ${TWILIO_AUTH_TOKEN}
      twilio_number: ${TWILIO_SMS_NUMBER}
      whatsapp_number: ${TWILIO_WHATSAPP_NUMBER}
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.twilio import TwilioInput, TwilioOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator

from bot.channels import guard
from bot.channels.choices import numbered_prompt, resolve_reply

logger = logging.getLogger(__name__)

TWILIO_API_BASE = "https://api.twilio.com"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def signature_is_valid(request: Request, auth_token: str, public_url: str | None) -> bool:
    """Checks Twilio's `X-Twilio-Signature` on a webhook request.

    Twilio signs the URL it called (as configured in its console) plus the
    sorted form fields, with the account's auth token.

    Args:
        request: The incoming webhook request.
        auth_token: The Twilio account's auth token.
        public_url: The public base URL Twilio calls (e.g. https://hotline.example.org)
            when Rasa sits behind a proxy; None to use the URL Rasa saw.

    Returns:
        True if the signature matches.
    """
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature:
        return False
    url = request.url
    if public_url:
        url = public_url.rstrip("/") + request.path
        if request.query_string:
            url += "?" + request.query_string
    # The validator reads multi-valued fields through getlist(), which Sanic's form has.
    return bool(RequestValidator(auth_token).validate(url, request.form, signature))


def form_value(request: Request, name: str) -> str | None:
    """One form field of a Twilio webhook, or None."""
    value = request.form.get(name)
    return str(value) if value is not None else None


class HotlineTwilioOutput(TwilioOutput):
    """Sends SMS and WhatsApp messages through Twilio's REST API."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        twilio_number: str | None,
        whatsapp_number: str | None = None,
        api_base: str = TWILIO_API_BASE,
    ) -> None:
        super().__init__(account_sid, auth_token, twilio_number)
        self.whatsapp_number = whatsapp_number
        self.api_base = api_base.rstrip("/")

    def _sender_for(self, recipient: str) -> str | None:
        if recipient.startswith("whatsapp:"):
            number = self.whatsapp_number or self.twilio_number
            if number and not number.startswith("whatsapp:"):
                number = f"whatsapp:{number}"
            return number
        return self.twilio_number

    async def _send_message(self, message_data: dict[str, Any]) -> Any:
        """Posts one message to Twilio's Messages API; logs (not raises) failures."""
        recipient = str(message_data.get("to", ""))
        form: list[tuple[str, str]] = [("To", recipient)]
        if message_data.get("messaging_service_sid"):
            form.append(("MessagingServiceSid", str(message_data["messaging_service_sid"])))
        else:
            form.append(("From", str(self._sender_for(recipient) or message_data.get("from_"))))
        if message_data.get("body"):
            form.append(("Body", str(message_data["body"])))
        for media in message_data.get("media_url") or []:
            form.append(("MediaUrl", str(media)))
        url = f"{self.api_base}/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        auth = aiohttp.BasicAuth(str(self.account_sid), str(self.password))
        try:
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session,
                session.post(url, data=form, auth=auth) as answer,
            ):
                if answer.status >= 400:
                    logger.error(
                        "Twilio refused a message (%s): %s", answer.status, await answer.text()
                    )
                    return None
                return await answer.json(content_type=None)
        except aiohttp.ClientError as error:
            logger.error("Could not reach Twilio to send a message: %s", error)
            return None

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        """Sends the text with its buttons as numbered choices, in one message."""
        prompt = numbered_prompt(buttons, verb="Reply")
        parts = [p for p in text.strip().split("\n\n") if p]
        # Keep the choices in the same SMS as the question they answer.
        if parts and prompt:
            parts[-1] = f"{parts[-1]}\n{prompt}"
        elif prompt:
            parts = [prompt]
        for part in parts:
            await self._send_message({"to": recipient_id, "body": part})

    async def send_custom_json(
        self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any
    ) -> None:
        """Sends custom Twilio message fields; payloads meant for other channels are skipped."""
        if not ({"body", "media_url"} & set(json_message)):
            return
        await super().send_custom_json(recipient_id, dict(json_message), **kwargs)


class SignedTwilioInput(TwilioInput):
    """Twilio SMS / WhatsApp webhook that only accepts requests signed by Twilio."""

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """Builds the channel from its credentials.yml entry."""
        credentials = credentials or {}
        for key in ("account_sid", "auth_token"):
            if not credentials.get(key):
                raise ValueError(f"The twilio channel needs `{key}` in credentials.yml")
        if not (credentials.get("twilio_number") or credentials.get("whatsapp_number")):
            raise ValueError("The twilio channel needs `twilio_number` or `whatsapp_number`")
        return cls(
            credentials["account_sid"],
            credentials["auth_token"],
            credentials.get("twilio_number"),
            whatsapp_number=credentials.get("whatsapp_number"),
            public_url=credentials.get("public_url"),
            api_base=credentials.get("api_base") or TWILIO_API_BASE,
        )

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        twilio_number: str | None,
        whatsapp_number: str | None = None,
        public_url: str | None = None,
        api_base: str = TWILIO_API_BASE,
    ) -> None:
        super().__init__(account_sid, auth_token, twilio_number, debug_mode=False)
        self.whatsapp_number = whatsapp_number
        self.public_url = public_url
        self.api_base = api_base

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The webhook: verify, map a numbered reply, hand the message to Rasa."""
        twilio_webhook = Blueprint("hotline_twilio_webhook", __name__)
        on_new_message = guard.limited(on_new_message)  # before NLU: issue 11, finding 5

        @twilio_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @twilio_webhook.route("/webhook", methods=["POST"])
        async def message(request: Request) -> HTTPResponse:
            if not signature_is_valid(request, str(self.auth_token), self.public_url):
                logger.warning("Refused a Twilio webhook without a valid X-Twilio-Signature")
                return response.text("invalid signature", status=403)
            sender = form_value(request, "From")
            text = form_value(request, "Body") or ""
            if self._is_location_message(request):
                text = "/locationData{{'Latitude': {lat},'Longitude': {long}}}".format(
                    lat=form_value(request, "Latitude"), long=form_value(request, "Longitude")
                )
            # Some carriers turn @ into ¡ in SMS.
            text = text.replace("¡", "@").strip()
            if not sender or not text:
                return response.text(EMPTY_TWIML, content_type="text/xml")
            agent = getattr(request.app.ctx, "agent", None)
            text = await resolve_reply(agent, sender, text) or text
            metadata = {
                "twilio": {
                    "message_sid": form_value(request, "MessageSid"),
                    "to": form_value(request, "To"),
                    "num_media": form_value(request, "NumMedia"),
                }
            }
            try:
                await on_new_message(
                    UserMessage(
                        text,
                        self.get_output_channel(),
                        sender,
                        input_channel=self.name(),
                        metadata=metadata,
                    )
                )
            except Exception:  # a bad turn must not make Twilio retry the webhook
                logger.exception("Could not handle a Twilio message")
            return response.text(EMPTY_TWIML, content_type="text/xml")

        return twilio_webhook

    def get_output_channel(self) -> OutputChannel:
        """An output channel that can also push (used for staff replies in a handoff)."""
        return HotlineTwilioOutput(
            str(self.account_sid),
            str(self.auth_token),
            self.twilio_number,
            self.whatsapp_number,
            self.api_base,
        )
