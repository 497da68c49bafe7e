"""Rasa's REST channel, kept to conversations of its own (`/webhooks/rest/webhook`).

Rasa 3.6's `RestInput` takes the conversation id from the request's `sender`
as it is, so a REST client could write into any conversation: a phone
caller's, or a web caller's while they are with an adviser, which moved their
`output_channel=latest` to REST and cut them off from the adviser's replies
(issue 11, finding 3). Requests without `sender` all shared `default`, the
request could name its own `input_channel`, and a body that was not a JSON
object raised a 500.

`HotlineRestInput` keeps the channel's name (`rest`) and its request and
response shapes (`{"sender", "message", "metadata"}` in, the bot's messages
out), and:

- puts every conversation in the `rest:` namespace (`rest:` + sender), which no
  other channel uses, so REST can never reach a phone, web or messaging
  conversation;
- refuses (400) a body that is not a JSON object, a missing or malformed
  `sender` or a `message` that is not a string; `input_channel` is always `rest`;
- with `token` set (credentials.yml: `${HOTLINE_REST_TOKEN}`), refuses (401)
  requests without `Authorization: Bearer <token>`;
- answers a message over the length limit with a reply saying so
  (`bot.channels.guard`), without handing it to Rasa.
"""

from __future__ import annotations

import logging
from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.exceptions import InvalidUsage
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels import guard
from bot.core.conversations import REST_SENDER, rest_conversation_id
from bot.core.tokens import bearer_matches

logger = logging.getLogger(__name__)


def _error(status: int, message: str) -> HTTPResponse:
    return response.json({"error": message}, status=status)


class HotlineRestInput(RestInput):
    """REST webhook whose conversations are all `rest:<sender>`."""

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """Builds the channel from its credentials.yml entry (`token` optional)."""
        credentials = credentials or {}
        return cls(token=str(credentials.get("token") or ""))

    def __init__(self, token: str = "", max_message_chars: int | None = None) -> None:
        """The channel.

        Args:
            token: The bearer token clients must send (empty: none needed).
            max_message_chars: The longest message handed to Rasa (the setting when omitted).

        """
        self.token = token
        self.max_message_chars = max_message_chars

    def _authorised(self, request: Request) -> bool:
        if not self.token:
            return True
        return bearer_matches(request.headers.get("Authorization"), self.token)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The webhook: check the request, then hand the message to Rasa.

        Args:
            on_new_message: Rasa's handler for a caller message.

        Returns:
            The Sanic blueprint.

        """
        rest_webhook = Blueprint("hotline_rest_webhook", __name__)
        handle = guard.limited(on_new_message, self.max_message_chars)

        @rest_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @rest_webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not self._authorised(request):
                return _error(401, "this channel needs `Authorization: Bearer <token>`")
            try:
                body = request.json
            except InvalidUsage:
                body = None
            if not isinstance(body, dict):
                return _error(
                    400, 'the body must be a JSON object: {"sender": ..., "message": ...}'
                )
            sender = body.get("sender")
            if not isinstance(sender, str) or not REST_SENDER.match(sender):
                return _error(
                    400,
                    "`sender` is required: 1-128 letters, digits or . _ @ + : - "
                    "naming your conversation",
                )
            text = body.get("message")
            if not isinstance(text, str):
                return _error(400, "`message` must be a string")
            metadata = body.get("metadata")
            collector = CollectingOutputChannel()
            message = UserMessage(
                text,
                collector,
                rest_conversation_id(sender),
                input_channel=self.name(),
                metadata=metadata if isinstance(metadata, dict) else None,
            )
            try:
                await handle(message)
            except CancelledError:
                logger.error("Message handling timed out for REST conversation %s", sender)
            except Exception:
                logger.exception("Could not handle a REST message")
                return _error(500, "the message could not be handled")
            return response.json(collector.messages)

        return rest_webhook
