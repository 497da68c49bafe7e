"""Ticket locks in Redis stay correct when several Rasa instances take tickets at once."""

from __future__ import annotations

import os
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from rasa.core.lock_store import RedisLockStore

from bot.lock_store import HotlineRedisLockStore

REDIS = {"host": "localhost", "port": 6379, "db": 15}


@pytest.fixture(autouse=True)
def redis_available() -> None:
    import redis

    try:
        redis.Redis(**REDIS, socket_timeout=2).ping()
    except redis.RedisError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis unreachable under CI: {exc}")
        pytest.skip(f"Redis unreachable: {exc}")


def _tickets_from_two_instances(cls: type[RedisLockStore], count: int = 200) -> list[int]:
    stores = [cls(**REDIS, key_prefix="hotlinetest"), cls(**REDIS, key_prefix="hotlinetest")]
    conversation = uuid.uuid4().hex
    with ThreadPoolExecutor(max_workers=16) as pool:
        tickets = list(pool.map(lambda i: stores[i % 2].issue_ticket(conversation), range(count)))
    stores[0].delete_lock(conversation)
    return tickets


def test_every_ticket_is_issued_once() -> None:
    tickets = _tickets_from_two_instances(HotlineRedisLockStore)
    assert sorted(tickets) == list(range(len(tickets)))


def test_rasas_own_store_can_issue_a_ticket_twice() -> None:
    # Why ours exists: the same load on Rasa's store hands out duplicates.
    tickets = _tickets_from_two_instances(RedisLockStore)
    assert len(set(tickets)) < len(tickets)


def test_serving_and_cleaning_up_keep_the_order() -> None:
    store = HotlineRedisLockStore(**REDIS, key_prefix="hotlinetest")
    conversation = uuid.uuid4().hex
    first, second = store.issue_ticket(conversation), store.issue_ticket(conversation)
    lock = store.get_lock(conversation)
    assert lock is not None and not lock.is_locked(first) and lock.is_locked(second)
    store.cleanup(conversation, first)
    lock = store.get_lock(conversation)
    assert lock is not None and not lock.is_locked(second)
    store.update_lock(conversation)
    store.cleanup(conversation, second)
    assert store.get_lock(conversation) is None  # nobody waits: the key is gone


def test_created_from_rasas_endpoint_config() -> None:
    from rasa.core.lock_store import LockStore
    from rasa.utils.endpoints import EndpointConfig

    config = EndpointConfig(url="localhost", type="bot.lock_store.HotlineRedisLockStore",
                            port=6379, db=15, key_prefix="hotlinetest")
    store = LockStore.create(config)
    assert isinstance(store, HotlineRedisLockStore)
    assert store.key_prefix.startswith("hotlinetest")
