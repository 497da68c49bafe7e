"""Buttons as numbered choices, and numbered replies back to button payloads.

SMS, WhatsApp (through Twilio) and the phone line cannot show buttons, so a
message with buttons becomes "Reply 1 for ..., 2 for ...". When the caller
answers with a number, the channel turns it back into that button's payload.
The buttons are read from the tracker's last bot turn, not from process memory,
so the mapping works when several Rasa instances share the tracker store.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.core.numbers import CARDINALS, ORDINALS

Button = dict[str, Any]

# Phone keypads have nine usable digits; more options than that are spoken only.
MAX_DIGIT_CHOICES = 9

_YES = {"yes", "y", "/affirm"}
_NO = {"no", "n", "/deny"}
# Option replies: "two", "the second"... up to the keypad's nine.
_NUMBER_WORDS = {
    **{w: n for w, n in CARDINALS.items() if 1 <= n <= MAX_DIGIT_CHOICES and w != "a"},
    **ORDINALS,
}
# One optional mark between two runs of spaces is written `\s*(?:[.)!]\s*)?` so the
# pattern stays linear: `\s*[.)!]?\s*` backtracks quadratically over long spaces.
_REPLY = re.compile(
    r"^\s*(?:(?:option|number|press(?:ed)?|choice)\s+)?(?P<n>\d{1,2}|[a-z]+)\s*(?:[.)!]\s*)?$",
    re.IGNORECASE,
)
# No option reply is longer than this ("  option seventh. "); longer text is never one.
_MAX_REPLY_CHARS = 40


def _answer_word(button: Button) -> str:
    title = str(button.get("title", "")).strip().lower().rstrip(".!")
    payload = str(button.get("payload", "")).strip().lower()
    if title in _YES or payload in _YES:
        return "yes"
    if title in _NO or payload in _NO:
        return "no"
    return ""


def is_yes_no(buttons: Sequence[Button]) -> bool:
    """True when the buttons are exactly a yes and a no (in any order)."""
    return len(buttons) == 2 and {_answer_word(b) for b in buttons} == {"yes", "no"}


def ordered_choices(buttons: Sequence[Button]) -> list[Button]:
    """The buttons in the order they are numbered.

    Yes/no questions are always "1 for yes, 2 for no", whatever order the
    response lists them in, because callers expect that on a keypad.

    Args:
        buttons: The buttons as Rasa stores them (`title`, `payload`).

    Returns:
        The buttons, option 1 first.
    """
    choices = [b for b in buttons if isinstance(b, dict) and b.get("title")]
    if is_yes_no(choices):
        choices.sort(key=lambda b: _answer_word(b) != "yes")
    return choices


def _spoken_title(button: Button) -> str:
    # "Am I eligible?" reads better mid-sentence without its question mark.
    return str(button["title"]).strip().rstrip("?.!:")


def numbered_prompt(buttons: Sequence[Button], verb: str = "Reply") -> str:
    """The choices as one sentence, such as "Reply 1 for yes, or 2 for no".

    Args:
        buttons: The message's buttons.
        verb: "Reply" for text messages, "Press" for the phone.

    Returns:
        The sentence, or "" when there are no buttons.
    """
    choices = ordered_choices(buttons)
    if not choices:
        return ""
    if is_yes_no(choices):
        return f"{verb} 1 for yes, or 2 for no."
    parts = [f"{n} for {_spoken_title(b)}" for n, b in enumerate(choices, start=1)]
    if len(parts) == 1:
        return f"{verb} {parts[0]}."
    return f"{verb} {', '.join(parts[:-1])}, or {parts[-1]}."


def reply_number(text: str | None) -> int | None:
    """The option number a reply names ("2", "2.", "two", "option 2"), or None."""
    if not text or len(text) > _MAX_REPLY_CHARS:
        return None
    match = _REPLY.match(text)
    if not match:
        return None
    word = match.group("n").lower()
    if word.isdigit():
        return int(word)
    return _NUMBER_WORDS.get(word)


def payload_for_reply(text: str | None, buttons: Sequence[Button]) -> str | None:
    """The payload of the button a numbered reply picks, or None if it picks none."""
    number = reply_number(text)
    choices = ordered_choices(buttons)
    if number is None or not 1 <= number <= len(choices):
        return None
    payload = choices[number - 1].get("payload")
    return str(payload) if payload else str(choices[number - 1]["title"])


def last_buttons(tracker: DialogueStateTracker | None) -> list[Button]:
    """The buttons of the bot's latest turn, if that turn offered any.

    Only bot messages after the caller's last message count: once the caller
    has answered, old buttons no longer apply.

    Args:
        tracker: The conversation, or None if there is none yet.

    Returns:
        The latest buttons, or an empty list.
    """
    if tracker is None:
        return []
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            return []
        if isinstance(event, BotUttered) and event.data.get("buttons"):
            return list(event.data["buttons"])
    return []


def last_bot_turn(tracker: DialogueStateTracker | None) -> list[dict[str, Any]]:
    """The bot's messages since the caller last spoke, as output-channel messages."""
    if tracker is None:
        return []
    messages: list[dict[str, Any]] = []
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            break
        if isinstance(event, BotUttered):
            message: dict[str, Any] = {"text": event.text or ""}
            if event.data.get("buttons"):
                message["buttons"] = event.data["buttons"]
            messages.insert(0, message)
    return messages


async def resolve_reply(agent: Any, sender_id: str, text: str | None) -> str | None:
    """Maps a numbered reply to its button payload; any other text passes unchanged.

    Args:
        agent: Rasa's agent (`request.app.ctx.agent`), for its tracker store.
        sender_id: The conversation id.
        text: What the caller sent.

    Returns:
        The payload of the chosen button, or `text` itself.
    """
    if reply_number(text) is None or agent is None:
        return text
    tracker = await agent.tracker_store.retrieve(sender_id)
    return payload_for_reply(text, last_buttons(tracker)) or text
