"""Shared by the privacy tests: both databases, trackers written by our real tracker store.

`privacy_settings` is `db_settings` (SQLite, then PostgreSQL) with Rasa's tracker
store beside it: a SQLite file next to the app's database, or the same PostgreSQL
database (``RASA_TRACKER_STORE_URL``), emptied first. Trackers are written with
`bot.tracker_store.HotlineSQLTrackerStore`, as Rasa writes them, and the tests
read the rows back with plain SQL.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg2
import pytest
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine import make_url

from bot.config import Settings
from bot.tracker_store import HotlineSQLTrackerStore


@pytest.fixture
def privacy_settings(db_settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    """`db_settings` with its own, empty tracker store on the same backend.

    On PostgreSQL Rasa's `events` table is dropped afterwards, so the shared test
    database holds only our schema for the tests that compare it with the models.
    """
    if db_settings.is_sqlite:
        yield replace(db_settings, rasa_tracker_db=tmp_path / "rasa_tracker.db")
        return
    url = db_settings.sync_database_url.replace("postgresql+psycopg2://", "postgresql://")
    settings = replace(db_settings, rasa_tracker_store_url=url)
    HotlineSQLTrackerStore(**store_kwargs(settings)).engine.dispose()  # creates Rasa's table
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("DELETE FROM events")
    yield settings
    with psycopg2.connect(url) as connection, connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS events")


def store_kwargs(settings: Settings) -> dict[str, Any]:
    """Rasa's tracker store settings for these settings (as endpoints.yml gives them)."""
    if not settings.rasa_tracker_store_url:
        return {"dialect": "sqlite", "db": str(settings.rasa_tracker_db)}
    url = make_url(settings.rasa_tracker_store_url)
    return {
        "dialect": "postgresql",
        "host": url.host,
        "port": url.port,
        "db": url.database,
        "username": url.username,
    }


async def write_conversation(
    settings: Settings, conversation_id: str, texts: list[str], at: dt.datetime, **metadata: Any
) -> None:
    """Store a conversation whose events all happened at ``at`` (caller text, bot reply)."""
    store = HotlineSQLTrackerStore(**store_kwargs(settings))
    tracker = DialogueStateTracker(conversation_id, [])
    stamp = at.timestamp()
    for text in texts:
        intent = {"name": "ask_how_to_apply", "confidence": 0.9}
        parse = {"text": text, "intent": intent, "entities": []}
        tracker.update(
            UserUttered(text, intent, [], parse_data=parse, timestamp=stamp, metadata=metadata)
        )
        tracker.update(ActionExecuted("utter_how_to_apply", timestamp=stamp))
        tracker.update(BotUttered("You apply through the hotline.", timestamp=stamp))
    await store.save(tracker)
    store.engine.dispose()


def tracker_rows(settings: Settings, conversation_id: str | None = None) -> list[tuple[str, str]]:
    """``(sender_id, data)`` of the rows in Rasa's table, read with plain SQL."""
    where, params = ("WHERE sender_id = %s", (conversation_id,)) if conversation_id else ("", ())
    if settings.rasa_tracker_store_url:
        with psycopg2.connect(settings.rasa_tracker_store_url) as conn, conn.cursor() as cursor:
            cursor.execute(f"SELECT sender_id, data FROM events {where} ORDER BY id", params)  # noqa: S608
            return list(cursor.fetchall())
    if not Path(settings.rasa_tracker_db).exists():
        return []
    with sqlite3.connect(settings.rasa_tracker_db) as conn:
        query = f"SELECT sender_id, data FROM events {where.replace('%s', '?')} ORDER BY id"  # noqa: S608
        return list(conn.execute(query, params))


def user_texts(settings: Settings, conversation_id: str) -> list[str]:
    """The caller messages of a conversation as stored (the JSON's `text`)."""
    texts = []
    for _sender, data in tracker_rows(settings, conversation_id):
        event = json.loads(data)
        if event.get("event") == "user":
            texts.append(event["text"])
    return texts


def app_rows(settings: Settings, sql: str) -> list[tuple[Any, ...]]:
    """Rows of a plain SQL query on the application database (either backend)."""
    if settings.is_sqlite:
        path = settings.database_url.split(":///", 1)[1]
        with sqlite3.connect(path) as conn:
            return list(conn.execute(sql))
    url = settings.sync_database_url.replace("postgresql+psycopg2://", "postgresql://")
    with psycopg2.connect(url) as conn, conn.cursor() as cursor:
        cursor.execute(sql)
        return list(cursor.fetchall())
