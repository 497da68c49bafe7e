"""The one summary of a conversation for the adviser who takes it over.

The action server builds it (`summarise`, `one_line`) when it opens the ticket and
sends it with the request; the web app stores it on the ticket and the console
shows it once, in "What the assistant learned". The queue shows its one line
(`queue_line`). Nothing else summarises a conversation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.core.content import programme_questions

# Short labels for what the caller asked about beyond the programme questions (whose
# topics are in content/programme/questions.yml); small talk is left out.
_OTHER_TOPICS: dict[str, str] = {
    "check_eligibility": "eligibility",
    "ask_award": "awards",
    "ask_award_totals": "award totals",
    "ask_award_source": "sources",
    "complain": "a complaint",
    "distress": "signs of distress",
    "request_callback": "a callback",
}


def topic_labels() -> dict[str, str]:
    """Intent -> the topic the adviser's summary names."""
    return {q.intent: q.topic for q in programme_questions()} | _OTHER_TOPICS


VERDICTS = {
    "likely_eligible": "likely eligible",
    "not_eligible": "unlikely to be eligible",
    "adviser": "referred to an adviser",
}
AWARD_ENTITIES = ("recipient", "place", "region", "sector", "supplier")
ELIGIBILITY_SLOTS = (
    "elig_applicant",
    "elig_public_services",
    "elig_employee_control",
    "elig_trading_years",
    "elig_england",
)


def _user_turns(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e.get("event") == "user"]


def summarise(events: list[dict[str, Any]], slots: dict[str, Any]) -> dict[str, Any]:
    """Builds the structured summary: topics, eligibility, organisation, award look-ups."""
    topics: list[str] = []
    lookups: list[str] = []
    for turn in _user_turns(events):
        parse = turn.get("parse_data") or {}
        intent = (parse.get("intent") or {}).get("name")
        label = topic_labels().get(intent or "")
        if label and label not in topics:
            topics.append(label)
        if intent == "ask_award":
            names = [
                str(e.get("value"))
                for e in parse.get("entities") or []
                if e.get("entity") in AWARD_ENTITIES
            ]
            lookup = ", ".join(names) or (turn.get("text") or "")[:80]
            if lookup and lookup not in lookups:
                lookups.append(lookup)
    eligibility = {s: slots.get(s) for s in ELIGIBILITY_SLOTS if slots.get(s) is not None}
    verdict = slots.get("elig_verdict")
    organisation = next((slots.get(s) for s in ("recipient", "place") if slots.get(s)), None)
    return {
        "topics": topics,
        "eligibility": eligibility,
        "eligibility_verdict": verdict,
        "organisation": organisation,
        "award_lookups": lookups,
    }


def one_line(summary: dict[str, Any]) -> str:
    """Renders the summary as one line for the queue."""
    parts = []
    if summary.get("topics"):
        parts.append("Asked about " + ", ".join(summary["topics"]))
    verdict = summary.get("eligibility_verdict")
    if verdict:
        parts.append(f"eligibility check: {VERDICTS.get(verdict, verdict)}")
    if summary.get("award_lookups"):
        parts.append("looked up " + "; ".join(summary["award_lookups"][:3]))
    if summary.get("organisation"):
        parts.append(f"organisation: {summary['organisation']}")
    return "; ".join(parts) or "No questions before asking for a person"


def _text(value: Any, limit: int) -> str:
    text = " ".join((value if isinstance(value, str) else str(value)).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def queue_line(summary: Mapping[str, Any], reason: str | None = None) -> str:
    """The summary's line for the queue: the bot's one line, else the caller's reason.

    Args:
        summary: The ticket's stored summary (what `summarise` built, with `one_line`).
        reason: The caller's reason, used when the summary has no line.

    Returns:
        At most 160 characters.

    """
    for value in (summary.get("one_line"), summary.get("text"), reason):
        if isinstance(value, str) and value.strip():
            return _text(value, 160)
    return "No summary from the assistant"
