"""Slack (Events API and interactive buttons) with a configurable API host.

Rasa 3.6's `SlackInput` already verifies `X-Slack-Signature` with the signing
secret and refuses timestamps more than five minutes old, but answers a forged
request with 400 and the `url_verification` handshake with a bare JSON string.
`SignedSlackInput` keeps Rasa's check (`is_request_from_slack_authentic`),
answers forgeries with 401, answers the handshake with `{"challenge": ...}`, and
sends through an API base URL that can be configured.

credentials.yml::

    bot.channels.slack.SignedSlackInput:
      slack_token: ${SLACK_BOT_TOKEN}
      slack_signing_secret: ${SLACK_SIGNING_SECRET}
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.slack import SlackBot, SlackInput
from rasa.shared.exceptions import InvalidConfigException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.channels import guard
from bot.channels.choices import resolve_reply

logger = logging.getLogger(__name__)

SLACK_API_BASE = "https://slack.com/api/"


class HotlineSlackBot(SlackBot):
    """Slack output channel whose Web API base URL can be configured."""

    def __init__(
        self,
        token: str,
        slack_channel: str | None = None,
        thread_id: str | None = None,
        proxy: str | None = None,
        api_base: str = SLACK_API_BASE,
    ) -> None:
        super().__init__(token, slack_channel, thread_id, proxy)
        self.client = AsyncWebClient(token, proxy=proxy, base_url=api_base.rstrip("/") + "/")

    async def _post_message(self, channel: str, **kwargs: Any) -> None:
        # `as_user` only works for classic Slack apps; new apps reject it.
        kwargs.pop("as_user", None)
        await super()._post_message(channel=channel, **kwargs)


class SignedSlackInput(SlackInput):
    """Slack webhook that refuses unsigned or stale requests with 401."""

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """Builds the channel from its credentials.yml entry."""
        credentials = credentials or {}
        if not credentials.get("slack_token"):
            raise InvalidConfigException("The slack channel needs `slack_token`")
        channel = cls(
            credentials.get("slack_token"),
            credentials.get("slack_channel"),
            credentials.get("proxy"),
            credentials.get("slack_retry_reason_header", "x-slack-retry-reason"),
            credentials.get("slack_retry_number_header", "x-slack-retry-num"),
            credentials.get("errors_ignore_retry", None),
            credentials.get("use_threads", False),
            credentials.get("slack_signing_secret", ""),
            # Staff replies are pushed to the sender id, so one conversation per person.
            "sender",
        )
        channel.api_base = credentials.get("api_base") or SLACK_API_BASE
        return channel

    api_base: str = SLACK_API_BASE

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The Events API and interactivity webhook."""
        slack_webhook = Blueprint("hotline_slack_webhook", __name__)
        on_new_message = guard.limited(on_new_message)  # before NLU: issue 11, finding 5

        @slack_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @slack_webhook.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            if not self.is_request_from_slack_authentic(request):
                logger.warning("Refused a Slack request without a valid, recent signature")
                return response.text("invalid signature", status=HTTPStatus.UNAUTHORIZED)
            agent = getattr(request.app.ctx, "agent", None)
            content_type = (request.headers.get("content-type") or "").split(";")[0].strip()
            if content_type == "application/json":
                output = request.json or {}
                if output.get("type") == "url_verification":
                    return response.json({"challenge": output.get("challenge")})
                if not self._is_user_message(output):
                    return response.text("Bot message delivered.")
                metadata = self.get_metadata(request)
                if not self._is_supported_channel(output, metadata):
                    return response.text("channel not supported.")
                event = output.get("event", {})
                sender_id = self._get_conversation_id(
                    event.get("user", ""), metadata.get("out_channel"), metadata.get("thread_id")
                )
                text = self._sanitize_user_message(event.get("text", ""), metadata["users"])
                text = await resolve_reply(agent, str(sender_id), text) or text
                return await self.process_message(
                    request, on_new_message, text=text, sender_id=sender_id, metadata=metadata
                )
            if content_type == "application/x-www-form-urlencoded":
                payload = json.loads(request.form.get("payload") or "{}")
                if self._is_interactive_message(payload):
                    text = self._get_interactive_response(payload["actions"][0])
                    if text is not None:
                        metadata = self.get_metadata(request)
                        sender_id = self._get_conversation_id(
                            payload["user"]["id"],
                            metadata.get("out_channel"),
                            metadata.get("thread_id"),
                        )
                        return await self.process_message(
                            request, on_new_message, text, sender_id, metadata
                        )
                return response.text("")
            return response.text("")

        return slack_webhook

    def get_metadata(self, request: Request) -> dict[str, Any]:
        """Rasa's metadata, tolerating `application/json; charset=utf-8`."""
        if (request.headers.get("content-type") or "").startswith("application/json"):
            slack_event = request.json or {}
            event = slack_event.get("event", {})
            users = list(slack_event.get("authed_users") or [])
            if not users and slack_event.get("authorizations"):
                users.append(slack_event["authorizations"][0].get("user_id"))
            return {
                "out_channel": event.get("channel"),
                "thread_id": event.get("thread_ts", event.get("ts")),
                "users": users,
            }
        return super().get_metadata(request)

    def get_output_channel(
        self, channel: str | None = None, thread_id: str | None = None
    ) -> OutputChannel:
        """The output channel; with no channel given it posts to the person's DM (push)."""
        return HotlineSlackBot(
            self.slack_token, channel or self.slack_channel, thread_id, self.proxy, self.api_base
        )
