"""Our SQL tracker store reads and writes exactly what Rasa's own does (SQLite, PostgreSQL)."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine import make_url

from bot.tracker_store import HotlineSQLTrackerStore
from tests.trackers import ROOT


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(ROOT / "domain.yml"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_settings(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    if request.param == "sqlite":
        return {"dialect": "sqlite", "db": str(tmp_path / "tracker.db")}
    url = make_url(request.getfixturevalue("pg_database_url"))
    return {
        "dialect": "postgresql",
        "host": url.host,
        "port": url.port,
        "db": url.database,
        "username": url.username,
    }


def _turn(tracker: DialogueStateTracker, text: str, intent: str, reply: str) -> None:
    parse = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []}
    tracker.update(UserUttered(text, parse["intent"], [], parse_data=parse))
    tracker.update(ActionExecuted(f"utter_{intent}"))
    tracker.update(BotUttered(reply, metadata={"utter_action": f"utter_{intent}"}))
    tracker.update(ActionExecuted("action_listen"))


async def test_reads_what_rasas_store_reads(domain: Domain, store_settings: dict[str, Any]) -> None:
    ours = HotlineSQLTrackerStore(domain=domain, **store_settings)
    rasas = SQLTrackerStore(domain=domain, **store_settings)
    sender = f"caller-{uuid.uuid4().hex}"
    tracker = DialogueStateTracker(sender, domain.slots)
    # As Rasa logs a new session: SessionStarted (made while the action ran)
    # comes first, then the action itself.
    tracker.update(SessionStarted())
    tracker.update(ActionExecuted("action_session_start"))
    tracker.update(ActionExecuted("action_listen"))
    _turn(tracker, "what is a mutual", "what_is_mutual", "A mutual is…")
    await ours.save(tracker)
    tracker.update(SlotSet("handoff_active", True))
    _turn(tracker, "how do I apply? 😀 <b>", "how_to_apply", "First, …")
    await ours.save(tracker)  # only the new events are added

    mine, theirs = await ours.retrieve(sender), await rasas.retrieve(sender)
    assert mine is not None and theirs is not None
    assert mine.current_state() == theirs.current_state()
    assert [e.as_dict() for e in mine.events] == [e.as_dict() for e in theirs.events]
    assert [e.as_dict() for e in mine.events] == [e.as_dict() for e in tracker.events]
    assert mine.get_slot("handoff_active") is True
    full = await ours.retrieve_full_tracker(sender)
    assert full is not None and len(full.events) == len(tracker.events)


async def test_reads_only_the_latest_session(
    domain: Domain, store_settings: dict[str, Any]
) -> None:
    store = HotlineSQLTrackerStore(domain=domain, **store_settings)
    rasas = SQLTrackerStore(domain=domain, **store_settings)
    sender = f"caller-{uuid.uuid4().hex}"
    tracker = DialogueStateTracker(sender, domain.slots)
    tracker.update(SessionStarted(timestamp=1.0))
    _turn(tracker, "hello", "greet", "Hello")
    tracker.update(ActionExecuted("action_session_start", timestamp=10**10))
    tracker.update(SessionStarted(timestamp=10**10))
    await store.save(tracker)
    latest = await store.retrieve(sender)
    full = await store.retrieve_full_tracker(sender)
    assert latest is not None and full is not None
    assert [e.type_name for e in latest.events] == ["action", "session_started"]
    theirs = await rasas.retrieve(sender)
    assert theirs is not None
    assert [e.as_dict() for e in latest.events] == [e.as_dict() for e in theirs.events]
    assert len(full.events) == len(tracker.events)


async def test_unknown_caller_has_no_tracker(
    domain: Domain, store_settings: dict[str, Any]
) -> None:
    store = HotlineSQLTrackerStore(domain=domain, **store_settings)
    assert await store.retrieve("nobody-" + uuid.uuid4().hex) is None


async def test_sqlite_file_runs_in_wal_mode_with_pooled_connections(
    domain: Domain, tmp_path: Path
) -> None:
    path = tmp_path / "tracker.db"
    store = HotlineSQLTrackerStore(domain=domain, dialect="sqlite", db=str(path))
    tracker = DialogueStateTracker("caller", domain.slots)
    _turn(tracker, "hi", "greet", "Hello")
    await store.save(tracker)
    assert store.engine.pool.__class__.__name__ == "QueuePool"
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("SELECT count(*) FROM events").fetchone()[0] == 4
