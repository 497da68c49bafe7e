"""A small client of Rasa's HTTP API (the handoff's `Conversations`, over aiohttp).

Only two calls are needed (see docs/handoff.md). Without `RASA_TOKEN` the HTTP
API is off, so the client is disabled: appends raise `RasaUnavailable` and the
caller decides (the console reports "not delivered").
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import aiohttp

from bot.handoff.ports import RasaUnavailable

log = logging.getLogger(__name__)
TIMEOUT = aiohttp.ClientTimeout(total=10, connect=3)


class RasaClient:
    """Calls Rasa's HTTP API with the configured token.

    Args:
        http: The application's shared ClientSession.
        base_url: e.g. http://localhost:5005.
        token: Rasa's `--auth-token`; empty disables the client.

    """

    def __init__(self, http: aiohttp.ClientSession, base_url: str, token: str) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._token = token
        # In a header, never the URL, where proxies and access logs keep it.
        self._auth = {"Authorization": f"Bearer {token}"}

    @property
    def enabled(self) -> bool:
        """Whether a token is configured (Rasa's HTTP API is only on with one)."""
        return bool(self._token)

    def _url(self, conversation_id: str, suffix: str) -> str:
        return f"{self._base}/conversations/{quote(conversation_id, safe='')}/{suffix}"

    async def append_events(self, conversation_id: str, events: Sequence[dict[str, Any]]) -> None:
        """Append events to a tracker and deliver bot messages to the caller's channel.

        Args:
            conversation_id: Rasa's sender id.
            events: Rasa events (`bot`, `slot`, ...).

        Raises:
            RasaUnavailable: If the call fails.

        """
        if not self.enabled:
            raise RasaUnavailable("RASA_TOKEN is not set, so Rasa's HTTP API is off")
        params = {
            "output_channel": "latest",
            "execute_side_effects": "true",
        }
        try:
            async with self._http.post(
                self._url(conversation_id, "tracker/events"),
                params=params,
                headers=self._auth,
                json=list(events),
                timeout=TIMEOUT,
            ) as response:
                if response.status >= 400:
                    body = (await response.text())[:300]
                    raise RasaUnavailable(f"Rasa answered {response.status}: {body}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RasaUnavailable(f"Rasa unreachable: {exc!r}") from exc

    async def get_tracker(self, conversation_id: str) -> dict[str, Any]:
        """Read a conversation's tracker (all events, current slots).

        Args:
            conversation_id: Rasa's sender id.

        Returns:
            The tracker JSON.

        Raises:
            RasaUnavailable: If the call fails.

        """
        if not self.enabled:
            raise RasaUnavailable("RASA_TOKEN is not set, so Rasa's HTTP API is off")
        try:
            async with self._http.get(
                self._url(conversation_id, "tracker"),
                params={"include_events": "ALL"},
                headers=self._auth,
                timeout=TIMEOUT,
            ) as response:
                if response.status >= 400:
                    raise RasaUnavailable(f"Rasa answered {response.status}")
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise RasaUnavailable(f"Rasa unreachable: {exc!r}") from exc
        if not isinstance(body, dict):
            raise RasaUnavailable("Rasa returned a tracker that is not an object")
        return body
