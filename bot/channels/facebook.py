"""Facebook Messenger with `X-Hub-Signature-256` checked and a configurable Graph API host.

Rasa 3.6's `FacebookInput` checks only the SHA-1 `X-Hub-Signature`, takes the
hash name from the header itself, compares without constant time, and answers
a forged request with 200 "not validated". `SignedFacebookInput` checks
`X-Hub-Signature-256` (falling back to SHA-1 `X-Hub-Signature` only when the
SHA-256 header is absent), compares with `hmac.compare_digest`, answers forgeries
and a wrong `hub.verify_token` with 403, and sends with `appsecret_proof`
through a Graph API base URL that can be configured.

credentials.yml::

    bot.channels.facebook.SignedFacebookInput:
      verify: ${FACEBOOK_VERIFY_TOKEN}
      secret: ${FACEBOOK_APP_SECRET}
      page-access-token: ${FACEBOOK_PAGE_TOKEN}
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fbmessenger import MessengerClient
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.facebook import FacebookInput, Messenger, MessengerBot
from rasa.shared.exceptions import InvalidConfigException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels import guard
from bot.channels.choices import ordered_choices, resolve_reply

logger = logging.getLogger(__name__)

GRAPH_API_BASE = "https://graph.facebook.com"
GRAPH_API_VERSION = "18.0"
BUTTON_LIMIT = 3
TITLE_LIMIT = 20
QUICK_REPLY_LIMIT = 13


class HotlineMessengerClient(MessengerClient):
    """fbmessenger's client with a configurable Graph API host."""

    def __init__(
        self, page_access_token: str, app_secret: str | None, graph_base: str = GRAPH_API_BASE
    ) -> None:
        super().__init__(page_access_token, api_version=GRAPH_API_VERSION, app_secret=app_secret)
        self.graph_url = f"{graph_base.rstrip('/')}/v{GRAPH_API_VERSION}"


class HotlineMessengerBot(MessengerBot):
    """Messenger output that keeps every choice, even beyond Messenger's button limits."""

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        """Button template when it fits; otherwise a numbered list with number quick replies.

        Messenger's button template takes at most 3 buttons of at most 20
        characters; Rasa's built-in channel silently drops the buttons otherwise.
        """
        choices = ordered_choices(buttons)
        if len(choices) <= BUTTON_LIMIT and all(
            len(str(b["title"])) <= TITLE_LIMIT for b in choices
        ):
            await super().send_text_with_buttons(recipient_id, text, choices, **kwargs)
            return
        lines = [text] + [f"{n}. {b['title']}" for n, b in enumerate(choices, start=1)]
        quick_replies = [
            {"content_type": "text", "title": str(n), "payload": str(b.get("payload") or n)}
            for n, b in enumerate(choices[:QUICK_REPLY_LIMIT], start=1)
        ]
        self.messenger_client.send(
            {"text": "\n".join(lines), "quick_replies": quick_replies}, recipient_id, "RESPONSE"
        )


class HotlineMessenger(Messenger):
    """Rasa's webhook handler, sending through `HotlineMessengerClient`."""

    def __init__(
        self,
        client: MessengerClient,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        agent: Any,
    ) -> None:
        self.agent = agent
        self.on_new_message = on_new_message
        self.client = client
        self.last_message: dict[str, Any] = {}

    async def _handle_user_message(
        self, text: str, sender_id: str, metadata: dict[str, Any] | None
    ) -> None:
        """Passes the text to Rasa (a typed option number becomes its button's payload)."""
        out_channel = HotlineMessengerBot(self.client)
        await out_channel.send_action(sender_id, sender_action="mark_seen")
        text = await resolve_reply(self.agent, sender_id, text) or text
        user_msg = UserMessage(
            text, out_channel, sender_id, input_channel=self.name(), metadata=metadata
        )
        await out_channel.send_action(sender_id, sender_action="typing_on")
        try:
            await self.on_new_message(user_msg)
        except Exception:  # Meta retries failed webhooks; one bad turn must not loop
            logger.exception("Could not handle a Facebook message")
        finally:
            await out_channel.send_action(sender_id, sender_action="typing_off")


def hub_signature_is_valid(app_secret: str, body: bytes, headers: Any) -> bool:
    """Checks Meta's signature of a webhook body.

    Args:
        app_secret: The Facebook app secret.
        body: The raw request body.
        headers: The request headers (`X-Hub-Signature-256`, `X-Hub-Signature`).

    Returns:
        True if the SHA-256 signature (or, without one, the SHA-1 one) matches.
    """
    header = headers.get("X-Hub-Signature-256")
    digest: Any = hashlib.sha256
    prefix = "sha256="
    if header is None:
        header, digest, prefix = headers.get("X-Hub-Signature"), hashlib.sha1, "sha1="
    if not header or not header.startswith(prefix):
        return False
    expected = hmac.new(app_secret.encode("utf-8"), body, digest).hexdigest()
    return hmac.compare_digest(prefix + expected, header)


class SignedFacebookInput(FacebookInput):
    """Messenger webhook that refuses unsigned requests with 403."""

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """Builds the channel from its credentials.yml entry."""
        credentials = credentials or {}
        for key in ("verify", "secret", "page-access-token"):
            if not credentials.get(key):
                raise InvalidConfigException(f"The facebook channel needs `{key}`")
        return cls(
            credentials["verify"],
            credentials["secret"],
            credentials["page-access-token"],
            credentials.get("api_base") or GRAPH_API_BASE,
        )

    def __init__(
        self, fb_verify: str, fb_secret: str, fb_access_token: str, graph_base: str = GRAPH_API_BASE
    ) -> None:
        super().__init__(fb_verify, fb_secret, fb_access_token)
        self.graph_base = graph_base

    def _client(self) -> HotlineMessengerClient:
        return HotlineMessengerClient(self.fb_access_token, self.fb_secret, self.graph_base)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Webhook verification (GET) and messages (POST)."""
        fb_webhook = Blueprint("hotline_fb_webhook", __name__)
        on_new_message = guard.limited(on_new_message)  # before NLU: issue 11, finding 5

        @fb_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @fb_webhook.route("/webhook", methods=["GET"])
        async def token_verification(request: Request) -> HTTPResponse:
            given = request.args.get("hub.verify_token") or ""
            if hmac.compare_digest(given.encode(), self.fb_verify.encode()):
                return response.text(request.args.get("hub.challenge") or "")
            logger.warning("Refused a Facebook webhook verification with the wrong verify token")
            return response.text("invalid verify token", status=403)

        @fb_webhook.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            if not hub_signature_is_valid(self.fb_secret, request.body, request.headers):
                logger.warning("Refused a Facebook webhook without a valid X-Hub-Signature-256")
                return response.text("invalid signature", status=403)
            payload = request.json or {}
            if payload.get("object") != "page":
                return response.text("ignored")
            messenger = HotlineMessenger(
                self._client(), on_new_message, getattr(request.app.ctx, "agent", None)
            )
            await messenger.handle(payload, self.get_metadata(request))
            return response.text("success")

        return fb_webhook

    def get_output_channel(self) -> OutputChannel:
        """The output channel, also used to push staff replies during a handoff."""
        return HotlineMessengerBot(self._client())
