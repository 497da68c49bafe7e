"""Rasa's Redis lock store with atomic ticket updates, for several Rasa instances.

Rasa 3.6's ``RedisLockStore`` changes a conversation's ticket lock by reading it
(GET), changing it in Python and writing it back (SET). Two instances taking
a ticket for the same conversation at the same moment can both read the empty
lock and both write "ticket 0": both then handle the conversation at once and
messages are lost (``tests/test_multi_instance.py`` saw 5 of 8 lost). Here each
change runs in a Redis transaction that watches the key (WATCH/MULTI/EXEC) and
is retried if another instance changed the lock meanwhile. The lock format,
the keys and the waiting loop are Rasa's own.

``endpoints.yml``::

    lock_store:
      type: bot.lock_store.HotlineRedisLockStore
      url: localhost
      port: 6379
      db: 0
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore

T = TypeVar("T")


class HotlineRedisLockStore(RedisLockStore):  # type: ignore[misc]
    """``RedisLockStore`` whose ticket changes are atomic across instances."""

    def __init__(self, endpoint_config: Any = None, **kwargs: Any) -> None:
        """Takes Rasa's endpoint config (``url``, ``port``, ``db``, ``password``...)."""
        if endpoint_config is not None:
            kwargs = {
                "host": endpoint_config.url or "localhost",
                **endpoint_config.kwargs,
                **kwargs,
            }
        super().__init__(**kwargs)

    def _change(
        self,
        conversation_id: str,
        change: Callable[[TicketLock | None], tuple[TicketLock | None, T]],
    ) -> T:
        """Applies ``change`` to the stored lock atomically.

        ``change`` gets the stored lock (or ``None``) and returns the lock to
        store (``None`` deletes the key) and a value to return.
        """
        key = self.key_prefix + conversation_id
        outcome: list[T] = []

        def transaction(pipe: Any) -> None:
            raw = pipe.get(key)
            lock, value = change(TicketLock.from_dict(json.loads(raw)) if raw else None)
            pipe.multi()
            if lock is not None:
                pipe.set(key, lock.dumps())
            else:
                pipe.delete(key)
            outcome[:] = [value]

        # redis-py retries the function whenever the watched key changed meanwhile.
        self.red.transaction(transaction, key)
        return outcome[0]

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """Issues the next ticket, creating the lock if there is none."""

        def change(lock: TicketLock | None) -> tuple[TicketLock | None, int]:
            lock = lock or TicketLock(conversation_id)
            return lock, lock.issue_ticket(lock_lifetime)

        try:
            return self._change(conversation_id, change)
        except Exception as error:
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    def update_lock(self, conversation_id: str) -> None:
        """Removes expired tickets."""

        def change(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is not None:
                lock.remove_expired_tickets()
            return lock, None

        self._change(conversation_id, change)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        """Removes a served ticket."""

        def change(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is not None:
                lock.remove_ticket_for(ticket_number)
            return lock, None

        self._change(conversation_id, change)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Removes a served ticket, and the whole lock once nobody waits."""

        def change(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is None:
                return None, None
            lock.remove_ticket_for(ticket_number)
            return (lock if lock.is_someone_waiting() else None), None

        self._change(conversation_id, change)
