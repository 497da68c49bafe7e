"""A client for Rasa's ``/model/parse`` endpoint.

It reads each piece of a message that asks several questions (``actions/several.py``).
Rasa's HTTP API is only on with a token (``RASA_TOKEN``, set by ``bot.stack``);
without one the client reports itself unavailable and the caller falls back
to the intent Rasa gave the whole message. Each call opens a short-lived HTTP
session, as ``hotline_api`` does: nothing is shared between requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp

from actions.endpoint import ServiceEndpoint
from bot.config import Settings

TIMEOUT = aiohttp.ClientTimeout(total=5, connect=2)


class NluUnavailable(RuntimeError):
    """Rasa's parse endpoint could not be used."""


@dataclass(frozen=True)
class RasaNlu(ServiceEndpoint):
    """Where Rasa's HTTP API is and the token it expects."""

    @classmethod
    def from_settings(cls, settings: Settings) -> RasaNlu:
        """Rasa's API from the settings (`RASA_URL` or `RASA_PORT`, and `RASA_TOKEN`).

        Args:
            settings: The application settings.

        Returns:
            The endpoint.

        """
        return cls(settings.rasa_url, settings.rasa_token)

    async def parse_many(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        """Parses each text with the running model, all at once.

        Returns:
            Rasa's parse result for each text, in order.

        Raises:
            NluUnavailable: Without a token, or if any call fails.
        """
        if not self.token:
            raise NluUnavailable("RASA_TOKEN is not set, so Rasa's HTTP API is off")
        url = f"{self.base_url}/model/parse"
        try:
            async with aiohttp.ClientSession(timeout=TIMEOUT) as session:

                async def parse(text: str) -> dict[str, Any]:
                    async with session.post(
                        url,
                        # A header, not the URL: URLs end up in logs (bot/rasa_runtime.py).
                        headers={"Authorization": f"Bearer {self.token}"},
                        json={"text": text},
                    ) as response:
                        if response.status != 200:
                            raise NluUnavailable(f"/model/parse answered {response.status}")
                        body = await response.json(content_type=None)
                        if not isinstance(body, dict):
                            raise NluUnavailable("/model/parse returned no object")
                        return body

                return list(await asyncio.gather(*(parse(text) for text in texts)))
        except (aiohttp.ClientError, TimeoutError, ValueError) as error:
            raise NluUnavailable(f"/model/parse failed: {error!r}") from error
