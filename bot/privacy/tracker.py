"""Rasa's tracker store as the privacy jobs see it: the ``events`` table, read and deleted.

Rasa's SQL tracker store (``bot/tracker_store.py``) keeps one row per event in
``events`` (``sender_id`` is the conversation id, ``timestamp`` seconds since the
epoch, ``data`` the event's JSON). Rasa has no API to delete a conversation, so
retention and erasure delete the rows here, in the same database Rasa uses:
``RASA_TRACKER_STORE_URL`` (PostgreSQL, several Rasa instances) or the SQLite
file ``RASA_TRACKER_DB``. Rasa reads a conversation from the table on every
message, so a deleted one is simply new the next time.

A database Rasa has not written to yet (no file, no table) holds no trackers.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from bot.config import Settings, normalise_database_url

_metadata = sa.MetaData()
#: Rasa's table, as ``rasa.core.tracker_store.SQLTrackerStore.SQLEvent`` defines it.
EVENTS = sa.Table(
    "events",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False, index=True),
    sa.Column("type_name", sa.String(255), nullable=False),
    sa.Column("timestamp", sa.Float),
    sa.Column("intent_name", sa.String(255)),
    sa.Column("action_name", sa.String(255)),
    sa.Column("data", sa.Text),
)
# Conversations deleted per statement (SQLite allows 999 bound parameters).
_BATCH = 200


def tracker_database_url(settings: Settings) -> str:
    """The async URL of Rasa's tracker store for these settings.

    Args:
        settings: The application settings.

    Returns:
        ``postgresql+asyncpg://...`` for ``RASA_TRACKER_STORE_URL``, else
        ``sqlite+aiosqlite:///<RASA_TRACKER_DB>``.
    """
    if settings.rasa_tracker_store_url:
        return normalise_database_url(settings.rasa_tracker_store_url, settings.project_root)
    return f"sqlite+aiosqlite:///{settings.rasa_tracker_db}"


@dataclass(frozen=True)
class StoredEvent:
    """One row of Rasa's events table."""

    id: int
    conversation_id: str
    type_name: str
    timestamp: float | None
    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The event for an export: its type, time and Rasa's JSON."""
        return {"type": self.type_name, "timestamp": self.timestamp, "event": self.data}


def _decode(raw: str | None) -> dict[str, Any]:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return {"unreadable": True}
    return value if isinstance(value, dict) else {"value": value}


def _event(row: Any, conversation_id: str) -> StoredEvent:
    return StoredEvent(row.id, conversation_id, row.type_name, row.timestamp, _decode(row.data))


class TrackerEvents:
    """Reads and deletes conversations in Rasa's tracker store.

    Args:
        url: The async SQLAlchemy URL (:func:`tracker_database_url`).
        engine: An engine to use instead (tests); not disposed by :meth:`close`.
    """

    def __init__(self, url: str, engine: AsyncEngine | None = None) -> None:
        """Create the accessor; connects on first use."""
        self.url = url
        self._own = engine is None
        self._engine = engine
        self._sqlite_path = url.split(":///", 1)[1] if url.startswith("sqlite") else None

    @classmethod
    def from_settings(cls, settings: Settings) -> TrackerEvents:
        """The tracker store the settings name."""
        return cls(tracker_database_url(settings))

    async def close(self) -> None:
        """Dispose of the engine this object created."""
        if self._own and self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    def _exists(self) -> bool:
        # An SQLite file Rasa never created: nothing stored (and nothing to create).
        if self._sqlite_path is None:
            return True
        return Path(self._sqlite_path).is_file()

    async def _connection(self) -> AsyncIterator[AsyncConnection]:
        if not self._exists():
            return
        if self._engine is None:
            kwargs: dict[str, Any] = {"future": True}
            if self._sqlite_path is not None:
                kwargs["connect_args"] = {"timeout": 30}
            self._engine = create_async_engine(self.url, **kwargs)
        async with self._engine.begin() as connection:
            has_table = await connection.run_sync(lambda c: sa.inspect(c).has_table("events"))
            if has_table:
                yield connection

    async def events_of(self, conversation_id: str) -> list[StoredEvent]:
        """Every stored event of one conversation, oldest first."""
        query = (
            sa.select(EVENTS.c.id, EVENTS.c.type_name, EVENTS.c.timestamp, EVENTS.c.data)
            .where(EVENTS.c.sender_id == conversation_id)
            .order_by(EVENTS.c.id)
        )
        found: list[StoredEvent] = []
        async for connection in self._connection():
            for row in await connection.execute(query):
                found.append(
                    StoredEvent(
                        row.id, conversation_id, row.type_name, row.timestamp, _decode(row.data)
                    )
                )
        return found

    async def count(self, conversation_ids: Iterable[str]) -> int:
        """How many events the given conversations have (0 after erasure)."""
        ids = list(conversation_ids)
        if not ids:
            return 0
        total = 0
        async for connection in self._connection():
            for start in range(0, len(ids), _BATCH):
                chunk = ids[start : start + _BATCH]
                query = sa.select(sa.func.count()).where(EVENTS.c.sender_id.in_(chunk))
                total += int((await connection.execute(query)).scalar_one())
        return total

    async def delete(self, conversation_ids: Iterable[str]) -> int:
        """Delete every event of the given conversations.

        Returns:
            How many rows went.
        """
        ids = list(dict.fromkeys(conversation_ids))
        deleted = 0
        async for connection in self._connection():
            for start in range(0, len(ids), _BATCH):
                chunk = ids[start : start + _BATCH]
                result = await connection.execute(
                    EVENTS.delete().where(EVENTS.c.sender_id.in_(chunk))
                )
                deleted += result.rowcount or 0
        return deleted

    async def purge_inactive(self, before: float, keep: Iterable[str] = ()) -> tuple[int, int]:
        """Delete the conversations whose last event is older than ``before``.

        A conversation that gets a new event while this runs is not touched: the
        delete itself re-checks that no event of it is at or after ``before``.

        Args:
            before: Seconds since the epoch (the cut-off).
            keep: Conversations never deleted here (those with an open ticket).

        Returns:
            ``(conversations, events)`` deleted.
        """
        kept = set(keep)
        stale = (
            sa.select(EVENTS.c.sender_id)
            .group_by(EVENTS.c.sender_id)
            .having(sa.func.max(EVENTS.c.timestamp) < before)
        )
        conversations = events = 0
        async for connection in self._connection():
            senders = [s for (s,) in await connection.execute(stale) if s not in kept]
            recent = sa.select(EVENTS.c.sender_id).where(EVENTS.c.timestamp >= before)
            for start in range(0, len(senders), _BATCH):
                chunk = senders[start : start + _BATCH]
                result = await connection.execute(
                    EVENTS.delete().where(
                        EVENTS.c.sender_id.in_(chunk),
                        EVENTS.c.sender_id.not_in(recent.where(EVENTS.c.sender_id.in_(chunk))),
                    )
                )
                events += result.rowcount or 0
                conversations += len(chunk)
        return conversations, events

    async def scan(
        self, type_name: str | None = None, batch: int = 500
    ) -> AsyncIterator[StoredEvent]:
        """Every stored event (of one type), in id order, a batch at a time.

        Args:
            type_name: Only events of this type (e.g. ``user``), or all.
            batch: Rows read per query.

        Yields:
            The events.
        """
        last = 0
        while True:
            query = (
                sa.select(
                    EVENTS.c.id,
                    EVENTS.c.sender_id,
                    EVENTS.c.type_name,
                    EVENTS.c.timestamp,
                    EVENTS.c.data,
                )
                .where(EVENTS.c.id > last)
                .order_by(EVENTS.c.id)
                .limit(batch)
            )
            if type_name is not None:
                query = query.where(EVENTS.c.type_name == type_name)
            rows: list[Any] = []
            async for connection in self._connection():
                rows = list(await connection.execute(query))
            if not rows:
                return
            for row in rows:
                yield StoredEvent(
                    row.id, row.sender_id, row.type_name, row.timestamp, _decode(row.data)
                )
            last = rows[-1].id
