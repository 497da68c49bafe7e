"""Questions about the hotline itself: its number, when advisers are available, and whether now.

Also what a message the NLU calls out of scope may really ask: what a person quoted in
the release said, deadlines and decision times (not known: said so).

The staffed hours are the settings' ``HOTLINE_HOURS`` (UK time), the same the
handoff uses to decide whether a person can take a conversation, so the bot never
says the line is open when a handoff would be refused.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.endpoint import ConfiguredAction
from bot.core.clock import utcnow
from bot.core.hours import UK, HoursRule, StaffedHours

_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def clock_in_words(minutes: int) -> str:
    """A time of day as people say it: 540 -> "9am", 1050 -> "5:30pm", 720 -> "noon"."""
    hour, minute = divmod(minutes % (24 * 60), 60)
    if (hour, minute) == (12, 0):
        return "noon"
    if (hour, minute) == (0, 0):
        return "midnight"
    suffix = "am" if hour < 12 else "pm"
    shown = hour % 12 or 12
    return f"{shown}{suffix}" if minute == 0 else f"{shown}:{minute:02d}{suffix}"


def days_in_words(weekdays: frozenset[int]) -> str:
    """Days as people say them: {0..4} -> "Monday to Friday", {5} -> "Saturday"."""
    days = sorted(weekdays)
    if days and days == list(range(days[0], days[-1] + 1)) and len(days) > 2:
        return f"{_DAY_NAMES[days[0]]} to {_DAY_NAMES[days[-1]]}"
    names = [_DAY_NAMES[d] for d in days]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def rule_in_words(rule: HoursRule) -> str:
    """One opening rule: "Monday to Friday, 9am to 5pm"."""
    start, end = clock_in_words(rule.start), clock_in_words(rule.end)
    return f"{days_in_words(rule.weekdays)}, {start} to {end}"


def hours_in_words(hours: StaffedHours) -> str:
    """All the opening rules, joined: "Monday to Friday, 9am to 5pm; Saturday, 10am to 1pm"."""
    return "; ".join(rule_in_words(rule) for rule in hours.rules)


def opening_in_words(when: dt.datetime, now: dt.datetime) -> str:
    """When the line next opens, relative to ``now`` (UK time): "on Monday at 9am"."""
    local, today = when.astimezone(UK), now.astimezone(UK).date()
    at = clock_in_words(local.hour * 60 + local.minute)
    if local.date() == today:
        return f"today at {at}"
    if local.date() == today + dt.timedelta(days=1):
        return f"tomorrow at {at}"
    if local.date() - today < dt.timedelta(days=7):
        return f"on {_DAY_NAMES[local.weekday()]} at {at}"
    return f"on {_DAY_NAMES[local.weekday()]} {local.day} {local:%B} at {at}"


def hours_message(hours: StaffedHours, now: dt.datetime) -> dict[str, Any]:
    """The reply to "when are advisers available?": ``utter_message`` arguments.

    Args:
        hours: The staffed hours (the settings' ``hotline_hours``).
        now: The moment asked about (time-zone aware).
    """
    if hours.always:
        return {"response": "utter_hotline_hours_always"}
    words = hours_in_words(hours)
    if hours.is_open(now):
        return {"response": "utter_hotline_hours_open", "hours": words}
    opening = hours.next_opening(now)
    return {
        "response": "utter_hotline_hours_closed",
        "hours": words,
        "next_opening": opening_in_words(opening, now) if opening else "when advisers are next in",
    }


class ActionHotlineNumber(ConfiguredAction):
    """Gives the hotline's number, when advisers are available and whether now."""

    def name(self) -> str:
        """Returns the action's name."""
        return "action_hotline_number"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Answers from the domain's number, the configured hours and the clock."""
        dispatcher.utter_message(response="utter_hotline_number")
        dispatcher.utter_message(**hours_message(self.settings.hotline_hours, utcnow()))
        return []


# What the facts (or the bot itself) can answer though the NLU calls it out of scope:
# read before refusing. Patterns on the caller's words, never replies.
_QUOTED = re.compile(
    r"\b(?:quotes?|quoted|said|say|says|saying|comments?|commented|think|thought)\b"
    r"|\b(?:maude|tracey|bush|dickins|minister)\b",
    re.IGNORECASE,
)
_PEOPLE = re.compile(
    r"\b(?:francis|maude|tracey|bush|dickins|minister|spiral health|make it happen|release|"
    r"announcement)\b",
    re.IGNORECASE,
)
_TIMESCALES = re.compile(
    r"\b(?:deadlines?|closing date|cut ?off|how long|how soon|when will (?:we|i) (?:hear|know)|"
    r"decision|decide|weeks?|turnaround)\b",
    re.IGNORECASE,
)
_HOURS = re.compile(
    r"\b(?:opening (?:hours|times)|open (?:now|today|tomorrow|at|on)|office hours|staffed|"
    r"closing time|what time do you close|at the weekend|on (?:saturdays?|sundays?))\b",
    re.IGNORECASE,
)


#: The topics answered by a plain response (hours need the settings and the clock).
FACTS_RESPONSES = {"quotes": "utter_quotes", "timescales": "utter_timescales"}


def out_of_scope_answer(text: str) -> str | None:
    """Which answer a message the NLU called out of scope really asks for, if any.

    Returns:
        "quotes" (what a named person in the release said), "timescales" (deadlines,
        how long a decision takes: not known, said so), "hours" (when advisers are
        available), or None: then it is refused as out of scope.
    """
    if _PEOPLE.search(text) and _QUOTED.search(text):
        return "quotes"
    if _TIMESCALES.search(text):
        return "timescales"
    if _HOURS.search(text):
        return "hours"
    return None


class ActionOutOfScope(ConfiguredAction):
    """Refuses what the bot cannot answer, after checking it is not about the hotline."""

    def name(self) -> str:
        """Returns the action's name."""
        return "action_out_of_scope"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        """Answers the quotes, timescales or hours; refuses anything else."""
        topic = out_of_scope_answer(str(tracker.latest_message.get("text") or ""))
        if topic in FACTS_RESPONSES:
            dispatcher.utter_message(response=FACTS_RESPONSES[topic])
        elif topic == "hours":
            dispatcher.utter_message(**hours_message(self.settings.hotline_hours, utcnow()))
        else:
            dispatcher.utter_message(response="utter_out_of_scope")
        return []
