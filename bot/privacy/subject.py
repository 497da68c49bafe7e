"""Everything held about one person: found by conversation or phone number, exported, erased.

A supervisor (console or command line) or the caller themselves (the widget's
"Delete this conversation", holding the session secret) asks by:

- a conversation id (``web:…``, ``phone:…``, ``rest:…`` or a messaging service's
  user id), or
- a UK phone number: the callback requests with that number, the conversations
  those requests came from, and every conversation whose stored messages or
  metadata hold the number (the phone line's caller number, an SMS or WhatsApp
  sender id, a number typed into the chat).

What is found: Rasa's tracker events (the bot's side of the conversation,
slots, the caller's messages), handoff tickets with their transcripts, callback
requests and satisfaction ratings. The export is that, as JSON; erasure deletes
all of it from both databases and writes one audit entry that names no personal
data (the conversation ids are keyed hashes; a phone number is kept as its last
three digits).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import iso, utcnow
from bot.core.phone import normalise_uk_phone, phone_spans
from bot.db.models import CallbackRequest, Feedback, HandoffMessage, HandoffTicket
from bot.privacy.tracker import StoredEvent, TrackerEvents
from bot.staff.accounts import Staff, audit

#: The most conversations one phone-number search gathers (a guard, not a quota).
MAX_CONVERSATIONS = 500
_CONVERSATION_ID = re.compile(r"^[\w.:@+\-]{1,255}$")


class SubjectError(ValueError):
    """The query is neither a conversation id nor a UK phone number."""


@dataclass(frozen=True)
class Query:
    """What to look for: a conversation id, or a phone number in national form."""

    kind: str  # "conversation" or "phone"
    value: str

    @property
    def audit_target(self) -> str:
        """How the audit log names it: the conversation id, or the number's last digits."""
        if self.kind == "phone":
            return f"phone:…{self.value[-3:]}"
        return f"conversation:{self.value}"


def parse_query(raw: str) -> Query:
    """Read what a supervisor typed: a phone number, else a conversation id.

    Args:
        raw: The text.

    Returns:
        The query.

    Raises:
        SubjectError: For empty or malformed input.
    """
    text = raw.strip()
    number = normalise_uk_phone(text)
    if number is not None and not text.startswith(("web:", "phone:", "rest:")):
        return Query("phone", number)
    if not _CONVERSATION_ID.match(text):
        raise SubjectError(
            "Enter a conversation id (such as web:… or phone:…) or a UK phone number."
        )
    return Query("conversation", text)


@dataclass
class SubjectData:
    """Everything found for a query."""

    query: Query
    conversations: dict[str, list[StoredEvent]] = field(default_factory=dict)
    tickets: list[HandoffTicket] = field(default_factory=list)
    messages: list[HandoffMessage] = field(default_factory=list)
    callbacks: list[CallbackRequest] = field(default_factory=list)
    ratings: list[Feedback] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Whether nothing at all is held."""
        return not (
            any(self.conversations.values()) or self.tickets or self.callbacks or self.ratings
        )

    def counts(self) -> dict[str, int]:
        """How many of each kind of record were found."""
        return {
            "conversations": len(self.conversation_ids),
            "tracker_events": sum(len(events) for events in self.conversations.values()),
            "tickets": len(self.tickets),
            "messages": len(self.messages),
            "callbacks": len(self.callbacks),
            "ratings": len(self.ratings),
        }

    @property
    def conversation_ids(self) -> list[str]:
        """Every conversation id involved, in a stable order."""
        ids = list(self.conversations)
        ids += [str(t.conversation_id) for t in self.tickets]
        ids += [str(c.conversation_id) for c in self.callbacks if c.conversation_id]
        ids += [str(r.conversation_id) for r in self.ratings]
        return list(dict.fromkeys(ids))

    def to_json(self, now: dt.datetime | None = None) -> dict[str, Any]:
        """The export: JSON-able, grouped by conversation."""
        messages_by_ticket: dict[int, list[dict[str, Any]]] = {}
        for message in self.messages:
            messages_by_ticket.setdefault(int(message.ticket_id), []).append(
                {
                    "sender": message.sender,
                    "text": message.text,
                    "staff_name": message.staff_name,
                    "at": iso(message.created_at),
                }
            )
        conversations = []
        for conversation_id in self.conversation_ids:
            conversations.append(
                {
                    "conversation_id": conversation_id,
                    "tracker_events": [
                        e.to_json() for e in self.conversations.get(conversation_id, [])
                    ],
                    "tickets": [
                        {
                            "id": t.id,
                            "channel": t.channel,
                            "status": t.status,
                            "priority": t.priority,
                            "reason": t.reason,
                            "summary": t.summary,
                            "created_at": iso(t.created_at),
                            "closed_at": iso(t.closed_at),
                            "messages": messages_by_ticket.get(int(t.id), []),
                        }
                        for t in self.tickets
                        if t.conversation_id == conversation_id
                    ],
                    "ratings": [
                        {"rating": r.rating, "at": iso(r.created_at)}
                        for r in self.ratings
                        if r.conversation_id == conversation_id
                    ],
                }
            )
        return {
            "query": {"kind": self.query.kind, "value": self.query.value},
            "generated_at": iso(now or utcnow()),
            "counts": self.counts(),
            "conversations": conversations,
            "callbacks": [
                {
                    "id": c.id,
                    "conversation_id": c.conversation_id,
                    "name": c.name,
                    "phone": c.phone,
                    "preferred_time": c.preferred_time,
                    "reason": c.reason,
                    "status": c.status,
                    "notes": c.notes,
                    "created_at": iso(c.created_at),
                    "done_at": iso(c.done_at),
                }
                for c in self.callbacks
            ],
        }


def _holds_number(text: str, national: str) -> bool:
    """Whether ``text`` (a message, an event's JSON) holds the phone number."""
    tail = national[1:]  # "7700900123": in "07700 900123", "+44 7700 900123", "447700900123"
    if tail not in re.sub(r"\D", "", text):
        return False
    for start, end in phone_spans(text):
        if normalise_uk_phone(text[start:end]) == national:
            return True
    # Sender ids and metadata: "+447700900123", "whatsapp:+447700900123".
    return any(normalise_uk_phone(m) == national for m in re.findall(r"\+?\d{10,13}", text))


async def _conversations_for_phone(
    session: AsyncSession, tracker: TrackerEvents, national: str
) -> tuple[set[str], list[CallbackRequest]]:
    callbacks = list(
        (await session.execute(select(CallbackRequest).where(CallbackRequest.phone == national)))
        .scalars()
        .all()
    )
    found = {str(c.conversation_id) for c in callbacks if c.conversation_id}
    async for event in tracker.scan():
        if len(found) >= MAX_CONVERSATIONS:
            break
        if event.conversation_id in found:
            continue
        if _holds_number(event.conversation_id, national) or _holds_number(
            str(event.data), national
        ):
            found.add(event.conversation_id)
    tail = f"%{national[-4:]}%"
    rows = await session.execute(
        select(HandoffMessage.conversation_id, HandoffMessage.text).where(
            HandoffMessage.text.like(tail)
        )
    )
    for conversation_id, text in rows:
        if _holds_number(str(text), national):
            found.add(str(conversation_id))
    return found, callbacks


async def find(session: AsyncSession, tracker: TrackerEvents, query: Query) -> SubjectData:
    """Gather everything held for a query from both databases.

    Args:
        session: A session on the application database.
        tracker: Rasa's tracker store.
        query: What to look for (:func:`parse_query`).

    Returns:
        What was found (possibly nothing).
    """
    data = SubjectData(query)
    if query.kind == "phone":
        conversation_ids, data.callbacks = await _conversations_for_phone(
            session, tracker, query.value
        )
    else:
        conversation_ids = {query.value}
    ids = sorted(conversation_ids)
    for conversation_id in ids:
        data.conversations[conversation_id] = await tracker.events_of(conversation_id)
    if ids:
        data.tickets = list(
            (
                await session.execute(
                    select(HandoffTicket)
                    .where(HandoffTicket.conversation_id.in_(ids))
                    .order_by(HandoffTicket.id)
                )
            )
            .scalars()
            .all()
        )
        data.messages = list(
            (
                await session.execute(
                    select(HandoffMessage)
                    .where(HandoffMessage.conversation_id.in_(ids))
                    .order_by(HandoffMessage.id)
                )
            )
            .scalars()
            .all()
        )
        known = {c.id for c in data.callbacks}
        more = (
            await session.execute(
                select(CallbackRequest).where(CallbackRequest.conversation_id.in_(ids))
            )
        ).scalars()
        data.callbacks += [c for c in more if c.id not in known]
        data.ratings = list(
            (
                await session.execute(
                    select(Feedback).where(Feedback.conversation_id.in_(ids)).order_by(Feedback.id)
                )
            )
            .scalars()
            .all()
        )
    return data


async def erase(
    session: AsyncSession,
    tracker: TrackerEvents,
    data: SubjectData,
    actor: Staff | str,
) -> dict[str, int]:
    """Delete everything found, from both databases, and audit it (committed).

    Args:
        session: A session on the application database.
        tracker: Rasa's tracker store.
        data: What :func:`find` returned.
        actor: The supervisor, or "cli" / "caller" (the widget).

    Returns:
        The counts erased.
    """
    ids = data.conversation_ids
    counts = data.counts()
    counts["tracker_events"] = await tracker.delete(ids)
    ticket_ids = [int(t.id) for t in data.tickets]
    callback_ids = [int(c.id) for c in data.callbacks]
    if ids or ticket_ids:
        await session.execute(
            delete(HandoffMessage)
            .where(
                or_(
                    HandoffMessage.conversation_id.in_(ids),
                    HandoffMessage.ticket_id.in_(ticket_ids),
                )
            )
            .execution_options(synchronize_session=False)
        )
        await session.execute(
            delete(Feedback)
            .where(or_(Feedback.conversation_id.in_(ids), Feedback.ticket_id.in_(ticket_ids)))
            .execution_options(synchronize_session=False)
        )
        await session.execute(
            delete(HandoffTicket)
            .where(HandoffTicket.id.in_(ticket_ids))
            .execution_options(synchronize_session=False)
        )
    if ids or callback_ids:
        await session.execute(
            delete(CallbackRequest)
            .where(
                or_(
                    CallbackRequest.id.in_(callback_ids),
                    CallbackRequest.conversation_id.in_(ids),
                )
            )
            .execution_options(synchronize_session=False)
        )
    await audit(session, actor, "privacy.erase", data.query.audit_target, **counts)
    await session.commit()
    return counts


async def record_export(session: AsyncSession, actor: Staff | str, data: SubjectData) -> None:
    """Audit that a supervisor exported someone's data (committed)."""
    await audit(session, actor, "privacy.export", data.query.audit_target, **data.counts())
    await session.commit()
