"""Rasa's SQL tracker store with cheaper reads and, on SQLite, pooled connections.

``endpoints.yml`` names :class:`HotlineSQLTrackerStore` instead of ``SQL``.
The table, the rows and every result are Rasa's own; what changes is the
cost per message, which py-spy put at about a quarter of the Rasa server's
time on our REST benchmark (docs/benchmarks.md):

- Reading a conversation selects only the ``data`` column instead of building
  an ORM object per event; the same query, filters and order otherwise.
- On SQLite, Rasa's engine opens a new connection for every read and write
  (SQLAlchemy 1.4 uses no pool for SQLite files). Here connections are kept
  in a small pool, and the database runs in write-ahead-log mode with
  ``synchronous=NORMAL``: a commit no longer waits for the disk twice, and
  the file stays consistent after a crash (the last commits can be lost on a
  power cut, which a chat transcript can afford). PostgreSQL and other
  databases keep Rasa's engine as it is.
- Every event is stored with bank details, card numbers and National Insurance
  numbers masked (``bot.core.pii.SENSITIVE``, issue 13): the caller's text, the
  parse data, slot values, metadata. The caller is told not to send them
  (``actions/privacy.py``); the conversation in memory for the current turn
  is untouched, only what is written is masked.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy.pool import QueuePool

from bot.core.pii import SENSITIVE, mask_value

SQLITE_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


class HotlineSQLTrackerStore(SQLTrackerStore):  # type: ignore[misc]
    """Rasa's ``SQLTrackerStore``, same settings (``dialect``, ``db``, ``host``...)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Creates Rasa's store, then swaps a pooled engine in for SQLite files."""
        super().__init__(*args, **kwargs)
        engine: sa.engine.Engine = self.engine  # type: ignore[has-type]
        url = engine.url
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            engine.dispose()
            self.engine = sa.create_engine(
                url,
                poolclass=QueuePool,
                pool_size=2,
                max_overflow=4,
                # Rasa uses the store from its event loop's thread only; the pool
                # may still hand a connection to another thread on shutdown.
                connect_args={"check_same_thread": False},
            )
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        """Rasa's read, selecting only the serialised events."""
        everything = fetch_events_from_all_sessions
        with self.session_scope() as session:
            query = self._event_query(session, sender_id, fetch_events_from_all_sessions=everything)
            rows = query.with_entities(self.SQLEvent.data).all()
        events = [json.loads(data) for (data,) in rows]
        if self.domain and events:
            return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        return None

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Rasa's ``SQLTrackerStore.save``, with each new event's data masked first.

        The same rows as Rasa's (only events not yet stored, the same columns);
        the JSON in ``data`` has sensitive numbers replaced by labels such as
        ``[card number removed]``.
        """
        await self.stream_events(tracker)
        with self.session_scope() as session:
            for event in self._additional_events(session, tracker):
                data = mask_value(event.as_dict(), SENSITIVE)
                assert isinstance(data, dict)  # noqa: S101 - masking keeps the shape
                intent = (data.get("parse_data") or {}).get("intent", {}).get(INTENT_NAME_KEY)
                session.add(
                    self.SQLEvent(
                        sender_id=tracker.sender_id,
                        type_name=event.type_name,
                        timestamp=data.get("timestamp"),
                        intent_name=intent,
                        action_name=data.get("name"),
                        data=json.dumps(data),
                    )
                )
            session.commit()
