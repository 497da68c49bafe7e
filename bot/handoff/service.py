"""Tickets, the queue and messages: the database side of the handoff.

Every function takes the request's `AsyncSession` and leaves committing to the
caller, except where it says so. State changes are conditional `UPDATE`s
(`... WHERE status IN (...)`), so two advisers claiming the same ticket at the
same moment cannot both win, on SQLite or PostgreSQL. Lists are single queries
(tickets joined to their assignee), never one query per row.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import case, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import as_utc, iso, utcnow
from bot.core.hours import UK
from bot.db.models import (
    OPEN_STATUSES,
    CallbackRequest,
    CannedResponse,
    Feedback,
    HandoffMessage,
    HandoffTicket,
    StaffUser,
)
from bot.handoff.summary import queue_line
from bot.staff.accounts import Staff

HANDLE_TIME_SAMPLE = 50  # recent handled tickets the median handle time is taken over

_PRIORITY_RANK = case((HandoffTicket.priority == "urgent", 0), else_=1)
#: PostgreSQL advisory lock key of the queue ("hand" in ASCII): held by the
#: transaction that places a new caller, so places are handed out one at a time.
QUEUE_LOCK_KEY = 0x68616E64


async def lock_queue(session: AsyncSession) -> None:
    """Make this transaction the only one placing callers until it ends.

    Queue places are allocated in the database, not in a process: two web
    processes (or two requests) that each count the queue while inserting would
    otherwise both see only committed tickets and tell two callers the same
    place. PostgreSQL: a transaction-level advisory lock (released by the commit
    or rollback). SQLite: a write statement, which takes the database's single
    write lock until the commit (the no-op UPDATE is enough to take it).
    Taking it twice in one transaction is harmless on both.

    Args:
        session: The database session; its transaction holds the lock.

    """
    name = session.bind.dialect.name if session.bind is not None else "sqlite"
    if name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": QUEUE_LOCK_KEY})
    else:
        await session.execute(
            update(HandoffTicket)
            .where(text("1 = 0"))
            .values(last_position=HandoffTicket.last_position)
            .execution_options(synchronize_session=False)
        )


#: What kind of failure a `HandoffError` is; the web layer maps each kind to an
#: HTTP status in one table (`bot.web.errors.STATUS_BY_KIND`), the domain knows no HTTP.
ErrorKind = Literal["not_found", "conflict", "forbidden", "refused", "too_many", "bad_gateway"]


class HandoffError(Exception):
    """A request the handoff cannot carry out.

    Attributes:
        kind: "not_found" (no such ticket, callback or response), "conflict"
            (wrong state, someone else's), "forbidden" (not allowed), "refused"
            (no new ticket or callback now), "too_many" (a flood limit) or
            "bad_gateway" (Rasa did not take it).
        message: What is wrong, for the user.

    """

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind
        self.message = message


class HandoffRefused(HandoffError):
    """No new ticket or callback now ("refused", or "too_many" for a flood limit).

    Attributes:
        reason: "closed", "queue_full", "too_many" or "already_booked", for the
            bot to explain (the internal API returns it beside the message).

    """

    def __init__(self, reason: str, message: str, kind: ErrorKind = "refused") -> None:
        super().__init__(kind, message)
        self.reason = reason


@dataclass(frozen=True)
class TicketView:
    """A ticket with its assignee's names (one row of the joined query)."""

    ticket: HandoffTicket
    assigned_username: str | None
    assigned_name: str | None

    def waiting_seconds(self, now: dt.datetime) -> int:
        """Seconds the caller waited (so far, if still queued)."""
        start = as_utc(self.ticket.created_at)
        end = self.ticket.claimed_at or self.ticket.closed_at
        stop = as_utc(end) if end is not None else now
        return max(0, int((stop - start).total_seconds()))

    def to_json(self, now: dt.datetime, position: int | None = None) -> dict[str, Any]:
        """The ticket as the API and the console's WebSocket show it."""
        t = self.ticket
        return {
            "id": t.id,
            "conversation_id": t.conversation_id,
            "channel": t.channel,
            "status": t.status,
            "priority": t.priority,
            "reason": t.reason,
            "waiting_seconds": self.waiting_seconds(now),
            "summary": queue_line(t.summary or {}, t.reason),
            "assigned_to": self.assigned_username,
            "assigned_name": self.assigned_name,
            "created_at": iso(t.created_at),
            "claimed_at": iso(t.claimed_at),
            "closed_at": iso(t.closed_at),
            "position": position,
        }


def message_json(message: HandoffMessage) -> dict[str, Any]:
    """A stored message as the transcript shows it."""
    return {
        "id": message.id,
        "ticket_id": message.ticket_id,
        "sender": message.sender,
        "text": message.text,
        "staff_name": message.staff_name,
        "at": iso(message.created_at),
    }


def _ticket_query() -> Any:
    return select(HandoffTicket, StaffUser.username, StaffUser.display_name).outerjoin(
        StaffUser, StaffUser.id == HandoffTicket.assigned_to
    )


def _views(rows: Iterable[Any]) -> list[TicketView]:
    return [TicketView(row[0], row[1], row[2]) for row in rows]


async def get_ticket(session: AsyncSession, ticket_id: int) -> TicketView:
    """Load one ticket with its assignee.

    Raises:
        HandoffError: not_found if there is none.

    """
    row = (await session.execute(_ticket_query().where(HandoffTicket.id == ticket_id))).first()
    if row is None:
        raise HandoffError("not_found", f"there is no handoff {ticket_id}")
    return TicketView(row[0], row[1], row[2])


async def open_ticket_for(session: AsyncSession, conversation_id: str) -> HandoffTicket | None:
    """The conversation's open (queued or assigned) ticket, if any."""
    result = await session.execute(
        select(HandoffTicket).where(
            HandoffTicket.conversation_id == conversation_id,
            HandoffTicket.status.in_(OPEN_STATUSES),
        )
    )
    return result.scalars().first()


async def queue(session: AsyncSession) -> list[TicketView]:
    """Waiting tickets in queue order: urgent first, then longest waiting."""
    result = await session.execute(
        _ticket_query()
        .where(HandoffTicket.status == "queued")
        .order_by(_PRIORITY_RANK, HandoffTicket.created_at, HandoffTicket.id)
    )
    return _views(result.all())


async def list_tickets(
    session: AsyncSession, statuses: Sequence[str], limit: int = 200
) -> list[TicketView]:
    """Tickets with the given statuses, queue order (urgent first, then oldest).

    Args:
        session: The database session.
        statuses: Statuses to include.
        limit: At most this many (closed tickets accumulate; the newest are kept).

    Returns:
        The tickets.

    """
    result = await session.execute(
        _ticket_query()
        .where(HandoffTicket.status.in_(list(statuses)))
        .order_by(_PRIORITY_RANK, HandoffTicket.created_at, HandoffTicket.id)
        .limit(limit)
    )
    return _views(result.all())


async def median_handle_seconds(session: AsyncSession) -> float | None:
    """Median time from claim to close over recent handled tickets (None without history)."""
    result = await session.execute(
        select(HandoffTicket.claimed_at, HandoffTicket.closed_at)
        .where(
            HandoffTicket.status.in_(("resolved", "released")),
            HandoffTicket.claimed_at.is_not(None),
            HandoffTicket.closed_at.is_not(None),
        )
        .order_by(HandoffTicket.closed_at.desc())
        .limit(HANDLE_TIME_SAMPLE)
    )
    durations = [
        (as_utc(closed) - as_utc(claimed)).total_seconds() for claimed, closed in result.all()
    ]
    return statistics.median(durations) if durations else None


async def handle_seconds(session: AsyncSession, default: int) -> float:
    """Median handle time, or the configured default until there is history."""
    median = await median_handle_seconds(session)
    return median if median is not None and median > 0 else float(default)


def expected_wait(position: int, per_caller: float) -> int:
    """Expected wait in seconds for a queue position (position × handle time)."""
    return int(round(max(position, 0) * per_caller))


async def queue_length(session: AsyncSession) -> int:
    """How many callers are waiting."""
    result = await session.execute(
        select(func.count()).select_from(HandoffTicket).where(HandoffTicket.status == "queued")
    )
    return int(result.scalar_one())


async def position_of(session: AsyncSession, ticket: HandoffTicket) -> int | None:
    """1-based place of a queued ticket (None if it is not queued).

    One indexed query of the queued ids in queue order; the queue is short by
    design (HOTLINE_MAX_QUEUE).
    """
    if ticket.status != "queued":
        return None
    result = await session.execute(
        select(HandoffTicket.id)
        .where(HandoffTicket.status == "queued")
        .order_by(_PRIORITY_RANK, HandoffTicket.created_at, HandoffTicket.id)
    )
    ids = list(result.scalars())
    return ids.index(ticket.id) + 1 if ticket.id in ids else None


async def create_ticket(
    session: AsyncSession,
    *,
    conversation_id: str,
    channel: str,
    reason: str | None,
    priority: str,
    summary: dict[str, Any],
    client_key: str | None = None,
) -> tuple[HandoffTicket, bool]:
    """Create a ticket, or return the conversation's open one (commits).

    Args:
        session: The database session.
        conversation_id: Rasa's sender id.
        channel: The caller's channel (rest, socketio, twilio...).
        reason: The caller's reason (None when skipped).
        priority: "urgent" or "normal".
        summary: What the bot learned (any JSON object).
        client_key: The caller's address key (`bot.handoff.limits`), if known.

    Returns:
        (ticket, created?). An open ticket for the same conversation is returned as
        it is; an urgent request upgrades its priority.

    """
    # Holding the queue's lock from here to the commit makes the count below and
    # the insert one step: each caller is told a distinct place, whichever process.
    await lock_queue(session)
    existing = await open_ticket_for(session, conversation_id)
    if existing is not None:
        if priority == "urgent" and existing.priority != "urgent":
            existing.priority = "urgent"
            await session.commit()
        return existing, False
    ticket = HandoffTicket(
        conversation_id=conversation_id,
        channel=channel,
        status="queued",
        priority=priority,
        reason=reason,
        summary=summary,
        client_key=client_key,
        # Stamped under the lock, so queue order (created_at) follows the order
        # places were given out (processes share one clock per host; see
        # docs/decisions.md on several hosts).
        created_at=utcnow(),
    )
    session.add(ticket)
    try:
        await session.flush()
        # Set the place the bot is about to announce in the same commit, so the queue
        # worker never sees this ticket without it (and never announces it twice).
        ticket.last_position = await position_of(session, ticket)
        await session.commit()
    except IntegrityError:
        # Another request created it first (the partial unique index caught the race).
        await session.rollback()
        existing = await open_ticket_for(session, conversation_id)
        if existing is None:
            raise
        return existing, False
    return ticket, True


def _insert(session: AsyncSession) -> Any:
    name = session.bind.dialect.name if session.bind is not None else "sqlite"
    return postgresql.insert if name == "postgresql" else sqlite.insert


async def add_message(
    session: AsyncSession,
    ticket: HandoffTicket,
    sender: str,
    text: str,
    *,
    message_id: str | None = None,
    staff: Staff | None = None,
) -> HandoffMessage | None:
    """Store a message of a handed-over conversation (idempotent on `message_id`).

    Uses `INSERT ... ON CONFLICT DO NOTHING` on (conversation_id, message_id), so
    a relayed message posted twice, even concurrently, is stored once.

    Args:
        session: The database session (the caller commits).
        ticket: The ticket.
        sender: caller, bot, staff or system.
        text: The message.
        message_id: Rasa's message id (caller messages).
        staff: The author (staff messages).

    Returns:
        The stored message, or None if `message_id` was stored before.

    """
    now = utcnow()
    values = {
        "ticket_id": ticket.id,
        "conversation_id": ticket.conversation_id,
        "sender": sender,
        "text": text,
        "message_id": message_id,
        "staff_id": staff.id if staff else None,
        # What callers may see (their widget shows it); never the sign-in name.
        "staff_name": staff.public_name if staff else None,
        "created_at": now,
    }
    insert = _insert(session)
    statement = insert(HandoffMessage).values(**values)
    if message_id is not None:
        statement = statement.on_conflict_do_nothing(
            index_elements=["conversation_id", "message_id"]
        )
    result = await session.execute(statement)
    if result.rowcount == 0:
        return None
    (new_id,) = result.inserted_primary_key
    return HandoffMessage(id=new_id, **values)


async def messages_of(session: AsyncSession, ticket_id: int) -> list[HandoffMessage]:
    """A ticket's stored messages, oldest first."""
    result = await session.execute(
        select(HandoffMessage)
        .where(HandoffMessage.ticket_id == ticket_id)
        .order_by(HandoffMessage.id)
    )
    return list(result.scalars())


async def transition(
    session: AsyncSession,
    ticket_id: int,
    action: str,
    allowed: Sequence[str],
    values: dict[str, Any],
    *,
    staff: Staff | None = None,
) -> TicketView:
    """Change a ticket's state if it is in one of `allowed` (atomically; the caller commits).

    When `staff` is given and is not a supervisor, the ticket must be assigned
    to them (or unassigned): an agent cannot act on a colleague's conversation.

    Args:
        session: The database session.
        ticket_id: The ticket.
        action: Its name, for the error message ("claim", "resolve"...).
        allowed: Statuses the transition starts from.
        values: Columns to set.
        staff: The member acting (checks ownership for agents).

    Returns:
        The updated ticket.

    Raises:
        HandoffError: not_found no such ticket; conflict wrong status or someone else's.

    """
    condition = [HandoffTicket.id == ticket_id, HandoffTicket.status.in_(list(allowed))]
    if staff is not None and not staff.is_supervisor:
        condition.append(
            HandoffTicket.assigned_to.is_(None) | (HandoffTicket.assigned_to == staff.id)
        )
    result = await session.execute(
        update(HandoffTicket)
        .where(*condition)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount == 0:
        view = await get_ticket(session, ticket_id)
        status = view.ticket.status
        if view.assigned_username and (status in allowed or status == "assigned"):
            raise HandoffError(
                "conflict", f"cannot {action}: this conversation is with {view.assigned_name}"
            )
        wanted = " or ".join(allowed)
        raise HandoffError(
            "conflict", f"cannot {action} a handoff that is {status}; it must be {wanted}"
        )
    session.expire_all()
    return await get_ticket(session, ticket_id)


async def require_assigned_to(session: AsyncSession, ticket_id: int, staff: Staff) -> TicketView:
    """Load a ticket that `staff` may write to (assigned to them; supervisors: any assigned).

    Raises:
        HandoffError: not_found no ticket; conflict not assigned, or assigned to someone else.

    """
    view = await get_ticket(session, ticket_id)
    if view.ticket.status != "assigned":
        raise HandoffError(
            "conflict", f"cannot reply to a handoff that is {view.ticket.status}; claim it first"
        )
    if view.ticket.assigned_to != staff.id and not staff.is_supervisor:
        raise HandoffError("conflict", f"this conversation is with {view.assigned_name}")
    return view


async def latest_ticket_for(session: AsyncSession, conversation_id: str) -> HandoffTicket | None:
    """The conversation's most recent ticket (any status)."""
    result = await session.execute(
        select(HandoffTicket)
        .where(HandoffTicket.conversation_id == conversation_id)
        .order_by(HandoffTicket.created_at.desc(), HandoffTicket.id.desc())
        .limit(1)
    )
    return result.scalars().first()


async def add_feedback(session: AsyncSession, conversation_id: str, rating: int) -> Feedback:
    """Store a satisfaction rating against the conversation's last ticket (caller commits)."""
    ticket = await latest_ticket_for(session, conversation_id)
    feedback = Feedback(
        conversation_id=conversation_id,
        ticket_id=ticket.id if ticket else None,
        rating=rating,
        created_at=utcnow(),
    )
    session.add(feedback)
    await session.flush()
    return feedback


def callback_json(callback: CallbackRequest) -> dict[str, Any]:
    """A callback request as the API shows it."""
    return {
        "id": callback.id,
        "conversation_id": callback.conversation_id,
        "name": callback.name,
        "phone": callback.phone,
        "preferred_time": callback.preferred_time,
        "reason": callback.reason,
        "status": callback.status,
        "notes": callback.notes,
        "created_at": iso(callback.created_at),
        "done_at": iso(callback.done_at),
    }


async def list_callbacks(session: AsyncSession, status: str | None) -> list[CallbackRequest]:
    """Callback requests, oldest first (open first when not filtered)."""
    query = select(CallbackRequest)
    if status:
        query = query.where(CallbackRequest.status == status)
    open_first = case((CallbackRequest.status == "open", 0), else_=1)
    result = await session.execute(
        query.order_by(open_first, CallbackRequest.created_at, CallbackRequest.id).limit(500)
    )
    return list(result.scalars())


async def list_canned(session: AsyncSession) -> list[CannedResponse]:
    """Canned responses by title."""
    result = await session.execute(select(CannedResponse).order_by(CannedResponse.title))
    return list(result.scalars())


@dataclass(frozen=True)
class Figures:
    """Simple figures for supervisors.

    Attributes:
        waiting_now: Callers in the queue.
        longest_wait_seconds: The longest current wait (0 when nobody waits).
        handled_today: Tickets resolved or handed back since midnight (UK).
        median_wait_seconds: Median time to claim, of tickets claimed today (None if none).
        satisfaction_average: Mean rating over the last 30 days (None without ratings).
        satisfaction_count: Ratings over the last 30 days.
        satisfaction_counts: Ratings by value (1-5) over the last 30 days.
        open_callbacks: Callback requests not done yet.

    """

    waiting_now: int
    longest_wait_seconds: int
    handled_today: int
    median_wait_seconds: int | None
    satisfaction_average: float | None
    satisfaction_count: int
    satisfaction_counts: dict[int, int]
    open_callbacks: int


async def figures(session: AsyncSession, now: dt.datetime | None = None) -> Figures:
    """Compute the supervisor figures (a handful of aggregate queries)."""
    now = now or utcnow()
    local = now.astimezone(UK)
    midnight = dt.datetime.combine(local.date(), dt.time(0, 0), tzinfo=UK).astimezone(
        dt.timezone.utc
    )
    waiting, oldest = (
        await session.execute(
            select(func.count(), func.min(HandoffTicket.created_at)).where(
                HandoffTicket.status == "queued"
            )
        )
    ).one()
    handled = (
        await session.execute(
            select(func.count())
            .select_from(HandoffTicket)
            .where(
                HandoffTicket.status.in_(("resolved", "released")),
                HandoffTicket.closed_at >= midnight,
            )
        )
    ).scalar_one()
    claimed = (
        await session.execute(
            select(HandoffTicket.created_at, HandoffTicket.claimed_at).where(
                HandoffTicket.claimed_at >= midnight
            )
        )
    ).all()
    waits = [(as_utc(c) - as_utc(a)).total_seconds() for a, c in claimed]
    month = now - dt.timedelta(days=30)
    ratings = (
        await session.execute(
            select(Feedback.rating, func.count())
            .where(Feedback.created_at >= month)
            .group_by(Feedback.rating)
        )
    ).all()
    counts = {value: 0 for value in range(1, 6)}
    for rating, count in ratings:
        counts[int(rating)] = int(count)
    total = sum(counts.values())
    callbacks = (
        await session.execute(
            select(func.count())
            .select_from(CallbackRequest)
            .where(CallbackRequest.status == "open")
        )
    ).scalar_one()
    return Figures(
        waiting_now=int(waiting),
        longest_wait_seconds=(
            max(0, int((now - as_utc(oldest)).total_seconds())) if oldest is not None else 0
        ),
        handled_today=int(handled),
        median_wait_seconds=int(statistics.median(waits)) if waits else None,
        satisfaction_average=(
            round(sum(k * v for k, v in counts.items()) / total, 2) if total else None
        ),
        satisfaction_count=total,
        satisfaction_counts=counts,
        open_callbacks=int(callbacks),
    )
