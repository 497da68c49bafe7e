"""What every channel checks before a caller's message reaches Rasa.

- **Length** (issue 11, finding 5): a message longer than
  `HOTLINE_MAX_MESSAGE_CHARS` (2,000) never reaches the NLU, which runs in
  Rasa's event loop, so one huge message cannot stall every caller. The caller
  is told (`content/channels/replies.yml`) through the channel's own output, and
  nothing else changes: the conversation carries on with their next message.
  Every channel's blueprint wraps Rasa's handler with :func:`limited`.
- **Conversation ids** (findings 2-4): the server key of
  :mod:`bot.core.conversations`, read once per process from the settings.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import yaml
from rasa.core.channels.channel import UserMessage

from bot.config import PROJECT_ROOT, Settings
from bot.core.conversations import resolve_key

logger = logging.getLogger(__name__)

REPLIES_FILE = PROJECT_ROOT / "content" / "channels" / "replies.yml"

Handler = Callable[[UserMessage], Awaitable[Any]]


@functools.lru_cache(maxsize=1)
def channel_settings() -> Settings:
    """The settings of this Rasa process, read once (the channels are built at start-up)."""
    return Settings.from_env()


@functools.lru_cache(maxsize=1)
def session_key() -> str:
    """The server key for conversation ids (configured, or shared through `var/`)."""
    settings = channel_settings()
    return resolve_key(settings.session_key, settings.project_root)


def max_message_chars() -> int:
    """The longest message a channel hands to Rasa."""
    return channel_settings().max_message_chars


def too_long(text: str | None, limit: int | None = None) -> bool:
    """Whether a caller's text is over the limit.

    Args:
        text: What the caller sent.
        limit: The limit; the setting when omitted.

    Returns:
        True if the text is longer than the limit.

    """
    return text is not None and len(text) > (max_message_chars() if limit is None else limit)


@functools.lru_cache(maxsize=4)
def too_long_reply(limit: int | None = None) -> str:
    """What a caller is told when their message is too long.

    Args:
        limit: The limit to name; the setting when omitted.

    Returns:
        The reply from `content/channels/replies.yml`.

    """
    replies = yaml.safe_load(REPLIES_FILE.read_text(encoding="utf-8"))
    limit = max_message_chars() if limit is None else limit
    return str(replies["message_too_long"]).format(limit=f"{limit:,}")


def limited(on_new_message: Handler, limit: int | None = None) -> Handler:
    """Wrap Rasa's message handler so that an over-long message never reaches it.

    Args:
        on_new_message: Rasa's handler for a caller message.
        limit: The limit; the setting when omitted.

    Returns:
        A handler that answers an over-long message itself (through the
        message's output channel, to its conversation) and passes every other
        message on unchanged.

    """

    async def handle(message: UserMessage) -> Any:
        if not too_long(message.text, limit):
            return await on_new_message(message)
        logger.warning(
            "Refused a %d-character message on %s for conversation %s (limit %d)",
            len(message.text or ""),
            message.input_channel,
            message.sender_id,
            max_message_chars() if limit is None else limit,
        )
        if message.output_channel is not None:
            await message.output_channel.send_text_message(message.sender_id, too_long_reply(limit))
        return None

    return handle
