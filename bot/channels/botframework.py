"""Microsoft Teams through the Bot Framework, with full JWT checks and push.

Rasa 3.6's `BotFrameworkInput` validates the bearer token against Microsoft's
keys but: fetches them from a hard-coded URL in its constructor (start-up fails
offline), lets the token's header choose the algorithm, checks neither the
issuer nor that the `serviceurl` claim matches the activity (a token could
redirect replies, and our app token, to another host), blocks the event loop
with `requests`, and has no `get_output_channel()`, so staff replies cannot
reach Teams. `VerifiedBotFrameworkInput`:

- fetches the OpenID metadata and keys lazily from a configurable URL
  (`openid_url`), refreshes them daily and when an unknown key id appears;
- accepts RS256 only, checks audience (the app id), issuer (from the metadata),
  expiry (5 minutes leeway), the `serviceurl` claim, and the key's channel
  endorsements; anything else is 401;
- stores the conversation reference (conversation, bot account, serviceUrl) in
  the message metadata, so a push finds it in the tracker on any instance;
- gets its app token from a configurable token URL (`token_url`).

credentials.yml::

    bot.channels.botframework.VerifiedBotFrameworkInput:
      app_id: ${MICROSOFT_APP_ID}
      app_password: ${MICROSOFT_APP_PASSWORD}
"""

from __future__ import annotations

import asyncio
import datetime
import json
import logging
import time
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

import aiohttp
import jwt
from jwt.algorithms import RSAAlgorithm
from rasa.core.channels.botframework import BEARER_REGEX, BotFramework, BotFrameworkInput
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.core.events import UserUttered
from rasa.shared.exceptions import InvalidConfigException
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels import guard

logger = logging.getLogger(__name__)

OPENID_URL = "https://login.botframework.com/v1/.well-known/openidconfiguration"
TOKEN_URL = "https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token"  # noqa: S105
TOKEN_SCOPE = "https://api.botframework.com/.default"  # noqa: S105
DEFAULT_ISSUER = "https://api.botframework.com"
KEYS_MAX_AGE = datetime.timedelta(days=1)
UNKNOWN_KID_REFRESH_SECONDS = 60.0
LEEWAY_SECONDS = 300
METADATA_KEY = "botframework"

# App tokens per (token URL, app id): one token serves every conversation.
_app_tokens: dict[tuple[str, str], tuple[str, float]] = {}


class AuthError(Exception):
    """The bearer token of an incoming activity is not acceptable."""


class HotlineBotFramework(BotFramework):
    """Sends activities with aiohttp, getting the app token from a configurable URL."""

    def __init__(
        self,
        app_id: str,
        app_password: str,
        conversation: dict[str, Any],
        bot: Any,
        service_url: str,
        token_url: str = TOKEN_URL,
    ) -> None:
        super().__init__(app_id, app_password, conversation, bot, service_url)
        self.token_url = token_url

    async def _get_headers(self) -> dict[str, Any] | None:
        key = (self.token_url, self.app_id)
        cached = _app_tokens.get(key)
        if cached is None or cached[1] < time.monotonic() + 60:
            form = {
                "client_id": self.app_id,
                "client_secret": self.app_password,
                "grant_type": "client_credentials",
                "scope": TOKEN_SCOPE,
            }
            async with (
                aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session,
                session.post(self.token_url, data=form) as answer,
            ):
                if answer.status != 200:
                    logger.error("Could not get a Bot Framework token (%s)", answer.status)
                    return None
                data = await answer.json(content_type=None)
            cached = (data["access_token"], time.monotonic() + int(data["expires_in"]))
            _app_tokens[key] = cached
        return {"content-type": "application/json", "Authorization": f"Bearer {cached[0]}"}

    async def send(self, message_data: dict[str, Any]) -> None:
        """Posts one activity to the conversation."""
        headers = await self._get_headers()
        if headers is None:
            return
        url = f"{self.global_uri}conversations/{self.conversation['id']}/activities"
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session,
            session.post(url, headers=headers, data=json.dumps(message_data)) as answer,
        ):
            if answer.status >= 400:
                logger.error(
                    "Bot Framework refused an activity (%s): %s", answer.status, await answer.text()
                )

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: list[dict[str, Any]], **kwargs: Any
    ) -> None:
        """A hero card whose buttons send their payload (Rasa sends invalid card actions)."""
        actions = [
            {
                "type": "messageBack",
                "title": b["title"],
                "text": b.get("payload") or b["title"],
                "displayText": b["title"],
            }
            for b in buttons
        ]
        card = {
            "contentType": "application/vnd.microsoft.card.hero",
            "content": {"text": text, "buttons": actions},
        }
        await self.send(self.prepare_message(recipient_id, {"attachments": [card]}))


class PushBotFramework(OutputChannel):
    """Output for pushes (staff replies): finds the caller's conversation in the tracker."""

    @classmethod
    def name(cls) -> str:
        """Name of the output channel."""
        return "botframework"

    def __init__(self, channel: VerifiedBotFrameworkInput) -> None:
        self.channel = channel

    async def _target(self, recipient_id: str) -> HotlineBotFramework | None:
        app = self.channel.app
        agent = getattr(app.ctx, "agent", None) if app else None
        tracker = await agent.tracker_store.retrieve(recipient_id) if agent else None
        for event in reversed(tracker.events if tracker else []):
            if isinstance(event, UserUttered) and (event.metadata or {}).get(METADATA_KEY):
                ref = event.metadata[METADATA_KEY]
                return self.channel.output_for(ref["conversation"], ref["bot"], ref["serviceUrl"])
        logger.error("No Bot Framework conversation on record for %s", recipient_id)
        return None

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        """Sends a message to the caller's Teams conversation."""
        target = await self._target(recipient_id)
        if target is not None:
            await target.send_response(recipient_id, message)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Sends text to the caller's Teams conversation."""
        await self.send_response(recipient_id, {"text": text})


class VerifiedBotFrameworkInput(BotFrameworkInput):
    """Bot Framework webhook (Teams, Web Chat) with complete token validation."""

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """Builds the channel from its credentials.yml entry."""
        credentials = credentials or {}
        for key in ("app_id", "app_password"):
            if not credentials.get(key):
                raise InvalidConfigException(f"The botframework channel needs `{key}`")
        return cls(
            credentials["app_id"],
            credentials["app_password"],
            openid_url=credentials.get("openid_url") or OPENID_URL,
            token_url=credentials.get("token_url") or TOKEN_URL,
        )

    def __init__(
        self,
        app_id: str,
        app_password: str,
        openid_url: str = OPENID_URL,
        token_url: str = TOKEN_URL,
    ) -> None:
        # Not super().__init__: it downloads Microsoft's keys synchronously at start-up.
        self.app_id = app_id
        self.app_password = app_password
        self.openid_url = openid_url
        self.token_url = token_url
        self.jwt_keys: dict[str, Any] = {}
        self.jwt_update_time = datetime.datetime.fromtimestamp(0)
        self.issuer = DEFAULT_ISSUER
        self.app: Sanic | None = None
        self._last_refresh = 0.0
        self._refresh_lock = asyncio.Lock()

    def output_for(
        self, conversation: dict[str, Any], bot: Any, service_url: str
    ) -> HotlineBotFramework:
        """An output channel for one conversation."""
        return HotlineBotFramework(
            self.app_id, self.app_password, conversation, bot, service_url, self.token_url
        )

    async def _refresh_keys(self) -> None:
        async with (
            self._refresh_lock,
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session,
        ):
            self._last_refresh = time.monotonic()
            async with session.get(self.openid_url) as answer:
                answer.raise_for_status()
                config = await answer.json(content_type=None)
            async with session.get(config["jwks_uri"]) as answer:
                answer.raise_for_status()
                keys = await answer.json(content_type=None)
            self.issuer = config.get("issuer") or DEFAULT_ISSUER
            self.jwt_keys = {key["kid"]: key for key in keys["keys"]}
            self.jwt_update_time = datetime.datetime.now()

    async def validate_token(self, auth_header: str | None, activity: dict[str, Any]) -> None:
        """Checks the bearer token of an activity; raises AuthError if it is not acceptable.

        Args:
            auth_header: The Authorization header.
            activity: The activity JSON (for `serviceUrl` and `channelId`).

        Raises:
            AuthError: If the token is missing, forged, expired or not for this bot.
        """
        match = BEARER_REGEX.match(auth_header or "")
        if not match:
            raise AuthError("no bearer token")
        token = match.group(1)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise AuthError(f"malformed token: {error}") from error
        if header.get("alg") != "RS256":
            raise AuthError(f"algorithm {header.get('alg')!r} not accepted")
        kid = header.get("kid")
        stale = datetime.datetime.now() - self.jwt_update_time > KEYS_MAX_AGE
        unknown = kid not in self.jwt_keys
        may_refresh = time.monotonic() - self._last_refresh > UNKNOWN_KID_REFRESH_SECONDS
        if stale or (unknown and may_refresh):
            try:
                await self._refresh_keys()
            except (aiohttp.ClientError, KeyError, ValueError) as error:
                logger.warning(
                    "Could not fetch Bot Framework keys from %s: %s", self.openid_url, error
                )
        key = self.jwt_keys.get(str(kid))
        if key is None:
            raise AuthError(f"unknown key id {kid!r}")
        endorsements = key.get("endorsements")
        if endorsements is not None and activity.get("channelId") not in endorsements:
            raise AuthError("key not endorsed for this channel")
        try:
            claims = jwt.decode(
                token,
                key=RSAAlgorithm.from_jwk(json.dumps(key)),  # type: ignore[arg-type]
                algorithms=["RS256"],
                audience=self.app_id,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.PyJWTError as error:
            raise AuthError(str(error)) from error
        service_url = claims.get("serviceurl") or claims.get("serviceUrl")
        if service_url != activity.get("serviceUrl"):
            raise AuthError("serviceurl claim does not match the activity")

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The messaging endpoint."""
        webhook_bp = Blueprint("hotline_botframework_webhook", __name__)
        on_new_message = guard.limited(on_new_message)  # before NLU: issue 11, finding 5

        @webhook_bp.listener("after_server_start")
        async def remember_app(app: Sanic, _: Any) -> None:
            self.app = app  # pushes read conversation references from the tracker store

        @webhook_bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook_bp.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            activity = request.json if isinstance(request.json, dict) else {}
            try:
                await self.validate_token(request.headers.get("Authorization"), activity)
            except AuthError as error:
                logger.warning("Refused a Bot Framework activity: %s", error)
                return response.text("unauthorized", status=HTTPStatus.UNAUTHORIZED)
            self.app = request.app
            if activity.get("type") != "message" or not activity.get("text"):
                return response.text("", status=HTTPStatus.OK)
            reference = {
                "conversation": activity["conversation"],
                "bot": activity["recipient"],
                "serviceUrl": activity["serviceUrl"],
            }
            metadata = self.add_attachments_to_metadata(activity, {METADATA_KEY: reference})
            out_channel = self.output_for(
                activity["conversation"], activity["recipient"], activity["serviceUrl"]
            )
            try:
                await on_new_message(
                    UserMessage(
                        activity["text"],
                        out_channel,
                        activity["from"]["id"],
                        input_channel=self.name(),
                        metadata=metadata,
                    )
                )
            except Exception:
                logger.exception("Could not handle a Bot Framework activity")
            return response.text("", status=HTTPStatus.OK)

        return webhook_bp

    def get_output_channel(self) -> OutputChannel:
        """A push channel: staff replies reach the caller's Teams conversation."""
        return PushBotFramework(self)
