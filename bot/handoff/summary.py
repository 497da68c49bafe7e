"""What the bot learned before the handoff, for staff: from the tracker and the ticket.

The action server sends a `summary` object when it creates the ticket (any JSON
object; the keys below are understood). When Rasa's tracker can be read, the
console also derives the summary from it: intents in order, eligibility answers,
the organisation, award look-ups and other filled slots.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Slots that drive the conversation rather than say something about the caller.
_INTERNAL_SLOTS = frozenset(
    {
        "requested_slot",
        "handoff_state",
        "handoff_priority",
        "feedback_pending",
        "session_started_metadata",
        "award_ids",
    }
)
_AWARD_INTENTS = frozenset({"ask_award", "ask_award_totals", "ask_award_source"})
_LABELS = {
    "elig_applicant": "Organisation",
    "elig_public_services": "Delivers public services",
    "elig_employee_control": "Employee control",
    "elig_trading_years": "Trading years",
    "elig_england": "In England",
    "elig_verdict": "Eligibility verdict",
}
MAX_ITEMS = 20


def _text(value: Any, limit: int = 200) -> str:
    text = value if isinstance(value, str) else str(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def derive_from_tracker(tracker: Mapping[str, Any]) -> dict[str, Any]:
    """Summarise a Rasa tracker.

    Args:
        tracker: `GET /conversations/{id}/tracker` JSON.

    Returns:
        `{"intents": [...], "eligibility": {label: value}, "organisation": str|None,
        "award_lookups": [{"text", "entities"}], "slots": {name: value}}`.

    """
    intents: list[str] = []
    lookups: list[dict[str, Any]] = []
    for event in tracker.get("events") or []:
        if not isinstance(event, Mapping) or event.get("event") != "user":
            continue
        parse = event.get("parse_data") or {}
        intent = (parse.get("intent") or {}).get("name")
        if isinstance(intent, str) and intent and intent not in intents:
            intents.append(intent)
        if intent in _AWARD_INTENTS and len(lookups) < MAX_ITEMS:
            entities = {
                str(e.get("entity")): _text(e.get("value", ""))
                for e in parse.get("entities") or []
                if isinstance(e, Mapping) and e.get("entity")
            }
            lookups.append({"text": _text(event.get("text") or ""), "entities": entities})
    slots = {
        str(name): value
        for name, value in (tracker.get("slots") or {}).items()
        if value not in (None, "", [], {}) and name not in _INTERNAL_SLOTS
    }
    eligibility = {
        _LABELS.get(name, name): _text(value)
        for name, value in slots.items()
        if name.startswith("elig_")
    }
    other = {
        name: _text(value)
        for name, value in slots.items()
        if not name.startswith("elig_") and not name.startswith("handoff_")
    }
    return {
        "intents": intents[:MAX_ITEMS],
        "eligibility": eligibility,
        "organisation": _text(slots["elig_applicant"]) if "elig_applicant" in slots else None,
        "award_lookups": lookups,
        "slots": other,
    }


def one_line(summary: Mapping[str, Any], reason: str | None = None) -> str:
    """A one-line summary for the queue.

    Uses `summary["one_line"]` (or `"text"`) when the bot sent one; otherwise
    composes one from intents, organisation, verdict and look-ups.

    Args:
        summary: The ticket's stored summary (or a derived one).
        reason: The caller's reason, used when nothing else is known.

    Returns:
        At most about 160 characters.

    """
    for key in ("one_line", "text"):
        value = summary.get(key)
        if isinstance(value, str) and value.strip():
            return _text(value, 160)
    parts: list[str] = []
    intents = summary.get("intents")
    if isinstance(intents, list) and intents:
        parts.append("Asked: " + ", ".join(str(i).replace("_", " ") for i in intents[:4]))
    organisation = summary.get("organisation")
    if organisation:
        parts.append(f"Organisation: {organisation}")
    slots = summary.get("slots") if isinstance(summary.get("slots"), Mapping) else {}
    verdict = summary.get("eligibility_verdict") or (slots or {}).get("elig_verdict")
    if verdict:
        parts.append(f"Eligibility: {verdict}")
    lookups = summary.get("award_lookups")
    if isinstance(lookups, list) and lookups:
        parts.append(f"{len(lookups)} award look-up(s)")
    if not parts and reason:
        parts.append(reason)
    return _text("; ".join(parts), 160) if parts else "No summary from the assistant"
