"""UTC time helpers: SQLite returns naive datetimes, PostgreSQL aware ones."""

from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    """The current time, aware, in UTC."""
    return dt.datetime.now(dt.timezone.utc)


def as_utc(value: dt.datetime) -> dt.datetime:
    """Return `value` as an aware UTC datetime (naive values are taken to be UTC).

    Args:
        value: A datetime read from the database.

    Returns:
        The same moment, aware.

    """
    if value.tzinfo is None:
        return value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc)


def iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 text of a database datetime in UTC (None stays None)."""
    return None if value is None else as_utc(value).isoformat()
