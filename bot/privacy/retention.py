"""The retention job: what is past its time is deleted or anonymised (issue 13).

The rules, each a setting (``bot/config.py``; docs/design.md, "Privacy"):

- A conversation (Rasa's tracker events; its closed tickets and their transcripts):
  ``HOTLINE_RETAIN_CONVERSATIONS_DAYS`` (90) after its last activity, then deleted.
  A conversation with an open ticket is kept.
- A callback request: ``HOTLINE_RETAIN_CALLBACKS_DAYS`` (30) after it was done,
  then deleted; an open one is kept until done.
- A satisfaction rating: ``HOTLINE_RETAIN_RATINGS_DAYS`` (365), then deleted; after
  the conversation period it is unlinked from its conversation (anonymised).
- The audit log and sign-in attempts: ``HOTLINE_RETAIN_AUDIT_DAYS`` (730), then
  deleted; expired staff sessions go at once.

:func:`run_if_due` is what the web app calls on a schedule: it takes the job's
lease row (one conditional UPDATE, atomic on SQLite and PostgreSQL alike), so of
several processes one runs the purge per interval and the others skip it.
``python -m bot privacy purge`` runs :func:`purge` at once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import sessionmaker

from bot.config import Settings
from bot.core.clock import utcnow
from bot.db import leases
from bot.db.models import (
    OPEN_STATUSES,
    AuditEntry,
    CallbackRequest,
    Feedback,
    HandoffMessage,
    HandoffTicket,
    LoginAttempt,
    StaffSession,
)
from bot.privacy.tracker import TrackerEvents
from bot.staff.accounts import audit

JOB_NAME = "privacy.purge"
#: How long a holder may run the job before another process may take it over.
LEASE_SECONDS = 15 * 60
#: What a rating's conversation id becomes when it is anonymised.
ANONYMISED = "anonymised"


@dataclass(frozen=True)
class RetentionPolicy:
    """How many days each kind of record is kept (from the settings)."""

    conversations_days: int
    callbacks_days: int
    ratings_days: int
    audit_days: int

    @classmethod
    def from_settings(cls, settings: Settings) -> RetentionPolicy:
        """The policy the settings configure."""
        return cls(
            settings.retain_conversations_days,
            settings.retain_callbacks_days,
            settings.retain_ratings_days,
            settings.retain_audit_days,
        )


@dataclass
class PurgeReport:
    """What one run deleted or anonymised (counts of rows)."""

    tracker_conversations: int = 0
    tracker_events: int = 0
    tickets: int = 0
    messages: int = 0
    callbacks: int = 0
    ratings_anonymised: int = 0
    ratings_deleted: int = 0
    audit_entries: int = 0
    login_attempts: int = 0
    staff_sessions: int = 0

    def as_dict(self) -> dict[str, int]:
        """The counts by name."""
        return asdict(self)

    def summary(self) -> str:
        """One line for the command line and the log."""
        return ", ".join(f"{name.replace('_', ' ')}: {n}" for name, n in self.as_dict().items())


def _rowcount(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


async def open_conversations(session: AsyncSession) -> set[str]:
    """Conversations with a queued or assigned ticket (never purged)."""
    rows = await session.execute(
        select(HandoffTicket.conversation_id).where(HandoffTicket.status.in_(OPEN_STATUSES))
    )
    return {str(conversation_id) for (conversation_id,) in rows}


async def purge(
    session: AsyncSession,
    tracker: TrackerEvents,
    policy: RetentionPolicy,
    now: dt.datetime | None = None,
    actor: str = "system",
) -> PurgeReport:
    """Delete or anonymise everything past its time, in both databases, and audit it.

    Args:
        session: A session on the application database (committed here).
        tracker: Rasa's tracker store.
        policy: The retention periods.
        now: The time to count from (tests); now by default.
        actor: Who ran it, for the audit log ("system" for the schedule, "cli").

    Returns:
        The counts.
    """
    now = now or utcnow()
    report = PurgeReport()
    conversations_cutoff = now - dt.timedelta(days=policy.conversations_days)
    keep = await open_conversations(session)
    report.tracker_conversations, report.tracker_events = await tracker.purge_inactive(
        conversations_cutoff.timestamp(), keep
    )

    # Tickets closed (or, never closed, created) before the cut-off, and their transcripts.
    last_activity = func.coalesce(HandoffTicket.closed_at, HandoffTicket.created_at)
    old_tickets = select(HandoffTicket.id).where(
        HandoffTicket.status.not_in(OPEN_STATUSES), last_activity < conversations_cutoff
    )
    report.messages = _rowcount(
        await session.execute(
            delete(HandoffMessage)
            .where(HandoffMessage.ticket_id.in_(old_tickets))
            .execution_options(synchronize_session=False)
        )
    )
    ticket_ids = [tid for (tid,) in await session.execute(old_tickets)]
    if ticket_ids:
        await session.execute(
            update(Feedback)
            .where(Feedback.ticket_id.in_(ticket_ids))
            .values(ticket_id=None)
            .execution_options(synchronize_session=False)
        )
        report.tickets = _rowcount(
            await session.execute(
                delete(HandoffTicket)
                .where(HandoffTicket.id.in_(ticket_ids))
                .execution_options(synchronize_session=False)
            )
        )

    report.ratings_deleted = _rowcount(
        await session.execute(
            delete(Feedback)
            .where(Feedback.created_at < now - dt.timedelta(days=policy.ratings_days))
            .execution_options(synchronize_session=False)
        )
    )
    report.ratings_anonymised = _rowcount(
        await session.execute(
            update(Feedback)
            .where(
                Feedback.created_at < conversations_cutoff, Feedback.conversation_id != ANONYMISED
            )
            .values(conversation_id=ANONYMISED, ticket_id=None)
            .execution_options(synchronize_session=False)
        )
    )
    report.callbacks = _rowcount(
        await session.execute(
            delete(CallbackRequest)
            .where(
                CallbackRequest.status == "done",
                CallbackRequest.done_at < now - dt.timedelta(days=policy.callbacks_days),
            )
            .execution_options(synchronize_session=False)
        )
    )
    audit_cutoff = now - dt.timedelta(days=policy.audit_days)
    report.audit_entries = _rowcount(
        await session.execute(
            delete(AuditEntry)
            .where(AuditEntry.at < audit_cutoff)
            .execution_options(synchronize_session=False)
        )
    )
    report.login_attempts = _rowcount(
        await session.execute(
            delete(LoginAttempt)
            .where(LoginAttempt.at < audit_cutoff)
            .execution_options(synchronize_session=False)
        )
    )
    report.staff_sessions = _rowcount(
        await session.execute(
            delete(StaffSession)
            .where(StaffSession.expires_at < now)
            .execution_options(synchronize_session=False)
        )
    )
    await audit(session, actor, "privacy.purge", None, **report.as_dict())
    await session.commit()
    return report


async def run_if_due(
    sessions: sessionmaker,
    tracker: TrackerEvents,
    policy: RetentionPolicy,
    interval_seconds: int,
    holder: str | None = None,
    now: dt.datetime | None = None,
) -> PurgeReport | None:
    """Run the purge if no other process holds it and it has not run within the interval.

    Args:
        sessions: Session factory of the application database.
        tracker: Rasa's tracker store.
        policy: The retention periods.
        interval_seconds: The schedule (``HOTLINE_PURGE_INTERVAL_SECONDS``).
        holder: This process's name (:func:`bot.db.leases.holder_name` by default).
        now: The time (tests).

    Returns:
        The report, or None when another process has it or it is not due.
    """
    holder = holder or leases.holder_name()
    started = now or utcnow()
    async with sessions() as session:
        # The one lease mechanism (bot/db/leases.py), as the queue worker's.
        if not await leases.take(
            session,
            JOB_NAME,
            holder,
            LEASE_SECONDS,
            interval_seconds=interval_seconds,
            now=started,
        ):
            return None
    finished: dt.datetime | None = None
    try:
        async with sessions() as session:
            report = await purge(session, tracker, policy, now=now)
        finished = now or utcnow()
    finally:
        # A failed run frees the lease without marking the job done: the next tick retries.
        async with sessions() as session:
            await leases.release(session, JOB_NAME, holder, finished=finished)
    return report
