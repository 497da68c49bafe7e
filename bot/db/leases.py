"""Job leases: of several processes, one runs a piece of background work at a time.

The `job_leases` table (revision 0003, `bot.db.models.JobLease`) holds one row
per job: who holds it and until when. A process takes a lease with one
conditional UPDATE (free or expired, and optionally due), which the database
applies to one transaction at a time on SQLite and PostgreSQL alike, so exactly
one process sees its row updated. A holder that dies simply lets its lease run
out; another process takes over then.

Used by the handoff's queue updates (`bot.handoff.runtime`); the retention job
(`bot.privacy.retention`) takes its lease the same way on the same table.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket

from sqlalchemy import and_, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import utcnow
from bot.db.models import JobLease


def holder_name() -> str:
    """A lease holder name unique to this caller: host, process id, a random tag.

    The tag tells apart two runtimes in one process (tests run several apps).
    """
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"


async def _ensure_row(session: AsyncSession, name: str) -> None:
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    await session.execute(insert(JobLease).values(name=name).on_conflict_do_nothing())


async def take(
    session: AsyncSession,
    name: str,
    holder: str,
    lease_seconds: float,
    *,
    interval_seconds: float = 0,
    now: dt.datetime | None = None,
) -> bool:
    """Take the job's lease if it is free (or expired) and the job is due (commits).

    Args:
        session: A session of the application database.
        name: The job (e.g. ``handoff.queue``).
        holder: Who takes it (:func:`holder_name`).
        lease_seconds: How long the lease lasts unless released or renewed.
        interval_seconds: The job is due only this long after it last finished (0: always).
        now: The time (tests).

    Returns:
        Whether this holder has the lease now.

    """
    now = now or utcnow()
    await _ensure_row(session, name)
    due = or_(
        JobLease.last_run_at.is_(None),
        JobLease.last_run_at <= now - dt.timedelta(seconds=interval_seconds),
    )
    result = await session.execute(
        update(JobLease)
        .where(
            JobLease.name == name,
            or_(JobLease.lease_until.is_(None), JobLease.lease_until < now),
            due,
        )
        .values(holder=holder, lease_until=now + dt.timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False)
    )
    await session.commit()
    return int(getattr(result, "rowcount", 0) or 0) == 1


async def release(
    session: AsyncSession,
    name: str,
    holder: str,
    *,
    finished: dt.datetime | None = None,
) -> None:
    """Give the lease back (commits); `finished` marks the job done at that time.

    Args:
        session: A session of the application database.
        name: The job.
        holder: Who holds it; a lease someone else took over is left alone.
        finished: When the run finished (None: not marked done, e.g. it failed).

    """
    values: dict[str, object] = {"holder": None, "lease_until": None}
    if finished is not None:
        values["last_run_at"] = finished
    await session.execute(
        update(JobLease)
        .where(and_(JobLease.name == name, JobLease.holder == holder))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    await session.commit()
