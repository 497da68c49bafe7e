"""Ticket locks in Redis stay correct when several Rasa instances take tickets at once."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import pytest
from rasa.core.lock_store import RedisLockStore

from bot.lock_store import HotlineRedisLockStore


@pytest.fixture
def redis_settings(redis_url: str) -> dict[str, Any]:
    url = urlsplit(redis_url)
    return {"host": url.hostname, "port": url.port or 6379, "db": int(url.path.strip("/") or 0)}


def _tickets_from_two_instances(
    cls: type[RedisLockStore], redis: dict[str, Any], count: int = 200
) -> list[int]:
    stores = [cls(**redis, key_prefix="hotlinetest"), cls(**redis, key_prefix="hotlinetest")]
    conversation = uuid.uuid4().hex
    with ThreadPoolExecutor(max_workers=16) as pool:
        tickets = list(pool.map(lambda i: stores[i % 2].issue_ticket(conversation), range(count)))
    stores[0].delete_lock(conversation)
    return tickets


def test_every_ticket_is_issued_once(redis_settings: dict[str, Any]) -> None:
    tickets = _tickets_from_two_instances(HotlineRedisLockStore, redis_settings)
    assert sorted(tickets) == list(range(len(tickets)))


def test_rasas_own_store_can_issue_a_ticket_twice(redis_settings: dict[str, Any]) -> None:
    # Why ours exists: the same load on Rasa's store hands out duplicates.
    tickets = _tickets_from_two_instances(RedisLockStore, redis_settings)
    assert len(set(tickets)) < len(tickets)


def test_serving_and_cleaning_up_keep_the_order(redis_settings: dict[str, Any]) -> None:
    store = HotlineRedisLockStore(**redis_settings, key_prefix="hotlinetest")
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


def test_created_from_rasas_endpoint_config(redis_settings: dict[str, Any]) -> None:
    from rasa.core.lock_store import LockStore
    from rasa.utils.endpoints import EndpointConfig

    config = EndpointConfig(
        url=redis_settings["host"],
        type="bot.lock_store.HotlineRedisLockStore",
        port=redis_settings["port"],
        db=redis_settings["db"],
        key_prefix="hotlinetest",
    )
    store = LockStore.create(config)
    assert isinstance(store, HotlineRedisLockStore)
    assert store.key_prefix.startswith("hotlinetest")
