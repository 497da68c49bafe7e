"""A small client for the web app's internal handoff API (docs/handoff.md).

The action server calls it to check whether the line is staffed, open tickets,
relay caller messages and book callbacks. Each call opens a short-lived HTTP
session: actions run rarely enough that pooling would buy nothing, and no
state is shared between requests or event loops.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp

from actions.endpoint import ServiceEndpoint
from bot.config import Settings

DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=5)


class HotlineUnavailable(RuntimeError):
    """The web app could not be reached or refused the request."""


@dataclass(frozen=True)
class HotlineApi(ServiceEndpoint):
    """Where the internal API is and the bearer token it expects."""

    @classmethod
    def from_settings(cls, settings: Settings) -> HotlineApi:
        """The internal API from the settings (`HOTLINE_APP_URL`, `HOTLINE_INTERNAL_TOKEN`).

        Args:
            settings: The application settings.

        Returns:
            The endpoint.

        """
        return cls(settings.hotline_app_url, settings.internal_token)

    async def request(
        self, method: str, path: str, payload: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        """Sends one request; returns the status and the JSON body (empty if none).

        Raises:
            HotlineUnavailable: on connection errors, timeouts and 5xx answers.
        """
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            async with (
                aiohttp.ClientSession(timeout=DEFAULT_TIMEOUT) as session,
                session.request(
                    method, f"{self.base_url}{path}", json=payload, headers=headers
                ) as response,
            ):
                body = await response.json() if response.content_type == "application/json" else {}
                if response.status >= 500 or response.status == 401:
                    raise HotlineUnavailable(f"{method} {path}: HTTP {response.status}")
                return response.status, body if isinstance(body, dict) else {}
        except (aiohttp.ClientError, TimeoutError) as error:
            raise HotlineUnavailable(f"{method} {path}: {error}") from error
