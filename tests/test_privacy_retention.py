"""Issue 13: each retention rule, on SQLite and PostgreSQL, with records of different ages.

Everything is written as the product writes it (Rasa's tracker store, the ORM) and
read back with plain SQL; a record younger than its period is never touched.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import replace

import pytest

from bot.config import ConfigError, Settings
from bot.core.clock import utcnow
from bot.db import leases
from bot.db.models import (
    AuditEntry,
    CallbackRequest,
    Feedback,
    HandoffMessage,
    HandoffTicket,
    LoginAttempt,
)
from bot.db.session import create_engine, create_sessionmaker
from bot.privacy import retention
from bot.privacy.tracker import TrackerEvents
from tests.privacy_support import (
    app_rows,
    tracker_rows,
    write_conversation,
)

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.timezone.utc)


def days_ago(days: float) -> dt.datetime:
    return NOW - dt.timedelta(days=days)


def test_defaults_and_settings() -> None:
    settings = Settings.from_env({})
    assert (
        settings.retain_conversations_days,
        settings.retain_callbacks_days,
        settings.retain_ratings_days,
        settings.retain_audit_days,
        settings.purge_interval_seconds,
    ) == (90, 30, 365, 730, 3600)
    custom = Settings.from_env(
        {"HOTLINE_RETAIN_CONVERSATIONS_DAYS": "7", "HOTLINE_PURGE_INTERVAL_SECONDS": "0"}
    )
    assert custom.retain_conversations_days == 7 and custom.purge_interval_seconds == 0
    for env, needle in (
        ({"HOTLINE_RETAIN_CONVERSATIONS_DAYS": "0"}, "HOTLINE_RETAIN_CONVERSATIONS_DAYS"),
        ({"HOTLINE_RETAIN_AUDIT_DAYS": "forever"}, "HOTLINE_RETAIN_AUDIT_DAYS"),
        ({"HOTLINE_PURGE_INTERVAL_SECONDS": "5"}, "HOTLINE_PURGE_INTERVAL_SECONDS"),
    ):
        with pytest.raises(ConfigError, match=needle):
            Settings.from_env(env)


async def _seed(settings: Settings) -> dict[str, int]:
    """Old and young records of every kind; returns the ids to look for."""
    await write_conversation(settings, "web:old", ["how do I apply?"], days_ago(100))
    await write_conversation(settings, "web:young", ["how do I apply?"], days_ago(10))
    # Old activity, but a ticket is still open: kept.
    await write_conversation(settings, "web:waiting", ["a person please"], days_ago(100))
    engine = create_engine(settings)
    ids: dict[str, int] = {}
    try:
        async with create_sessionmaker(engine)() as session:
            tickets = {
                "old": HandoffTicket(
                    conversation_id="web:old",
                    channel="socketio",
                    status="resolved",
                    created_at=days_ago(101),
                    closed_at=days_ago(100),
                ),
                "young": HandoffTicket(
                    conversation_id="web:young",
                    channel="socketio",
                    status="resolved",
                    created_at=days_ago(101),
                    closed_at=days_ago(10),
                ),
                "open": HandoffTicket(
                    conversation_id="web:waiting",
                    channel="socketio",
                    status="queued",
                    created_at=days_ago(100),
                ),
            }
            session.add_all(tickets.values())
            await session.flush()
            for name, ticket in tickets.items():
                ids[f"ticket_{name}"] = int(ticket.id)
                session.add(
                    HandoffMessage(
                        ticket_id=ticket.id,
                        conversation_id=ticket.conversation_id,
                        sender="caller",
                        text=f"message of {name}",
                        created_at=ticket.created_at,
                    )
                )
            callbacks = {
                "done_old": CallbackRequest(
                    name="Old",
                    phone="07700900001",
                    status="done",
                    created_at=days_ago(60),
                    done_at=days_ago(31),
                ),
                "done_young": CallbackRequest(
                    name="Young",
                    phone="07700900002",
                    status="done",
                    created_at=days_ago(60),
                    done_at=days_ago(29),
                ),
                "open_old": CallbackRequest(
                    name="Waiting", phone="07700900003", status="open", created_at=days_ago(400)
                ),
            }
            session.add_all(callbacks.values())
            ratings = {
                "ancient": Feedback(conversation_id="web:a", rating=5, created_at=days_ago(366)),
                "old": Feedback(conversation_id="web:b", rating=4, created_at=days_ago(91)),
                "young": Feedback(conversation_id="web:c", rating=3, created_at=days_ago(89)),
            }
            session.add_all(ratings.values())
            audits = {
                "old": AuditEntry(at=days_ago(731), actor="sup", action="handoff.claim"),
                "young": AuditEntry(at=days_ago(729), actor="sup", action="handoff.claim"),
            }
            session.add_all(audits.values())
            session.add_all(
                [
                    LoginAttempt(username="sup", at=days_ago(731), success=True),
                    LoginAttempt(username="sup", at=days_ago(729), success=True),
                ]
            )
            await session.flush()
            ids.update({f"callback_{k}": int(v.id) for k, v in callbacks.items()})
            ids.update({f"rating_{k}": int(v.id) for k, v in ratings.items()})
            ids.update({f"audit_{k}": int(v.id) for k, v in audits.items()})
            await session.commit()
    finally:
        await engine.dispose()
    return ids


async def _purge(settings: Settings) -> retention.PurgeReport:
    engine = create_engine(settings)
    tracker = TrackerEvents.from_settings(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            return await retention.purge(
                session, tracker, retention.RetentionPolicy.from_settings(settings), now=NOW
            )
    finally:
        await tracker.close()
        await engine.dispose()


async def test_each_rule_deletes_only_what_is_past_its_time(privacy_settings: Settings) -> None:
    settings = privacy_settings
    ids = await _seed(settings)
    report = await _purge(settings)

    # Conversations: Rasa's tracker rows.
    senders = {sender for sender, _ in tracker_rows(settings)}
    assert senders == {"web:young", "web:waiting"}
    assert report.tracker_conversations == 1 and report.tracker_events == 3
    # Tickets and their transcripts: the old closed one goes; young and open stay.
    tickets = {row[0] for row in app_rows(settings, "SELECT id FROM handoff_tickets")}
    assert tickets == {ids["ticket_young"], ids["ticket_open"]}
    messages = {row[0] for row in app_rows(settings, "SELECT text FROM handoff_messages")}
    assert messages == {"message of young", "message of open"}
    # Callbacks: done more than 30 days ago goes; recently done and open stay.
    callbacks = {row[0] for row in app_rows(settings, "SELECT id FROM callback_requests")}
    assert callbacks == {ids["callback_done_young"], ids["callback_open_old"]}
    # Ratings: past 365 days deleted; past the conversation period unlinked; young untouched.
    ratings = dict(app_rows(settings, "SELECT id, conversation_id FROM feedback"))
    assert ratings == {ids["rating_old"]: "anonymised", ids["rating_young"]: "web:c"}
    # Audit log and sign-in attempts: past 730 days deleted (the purge's own entry is new).
    audit = dict(app_rows(settings, "SELECT id, action FROM audit_log"))
    assert ids["audit_old"] not in audit and audit[ids["audit_young"]] == "handoff.claim"
    assert list(audit.values()).count("privacy.purge") == 1
    assert [row[0] for row in app_rows(settings, "SELECT COUNT(*) FROM login_attempts")] == [1]
    assert (report.tickets, report.messages, report.callbacks) == (1, 1, 1)
    assert (report.ratings_deleted, report.ratings_anonymised) == (1, 1)
    assert (report.audit_entries, report.login_attempts) == (1, 1)

    # A second run finds nothing more to do.
    again = await _purge(settings)
    assert again.tracker_events == again.tickets == again.callbacks == again.audit_entries == 0


async def test_shorter_periods_from_the_settings_reach_younger_records(
    privacy_settings: Settings,
) -> None:
    settings = replace(privacy_settings, retain_conversations_days=5)
    await _seed(settings)
    await _purge(settings)
    assert {sender for sender, _ in tracker_rows(settings)} == {"web:waiting"}


async def test_the_lease_lets_one_process_run_per_interval(privacy_settings: Settings) -> None:
    settings = privacy_settings
    await write_conversation(settings, "web:old", ["hello"], days_ago(100))
    policy = retention.RetentionPolicy.from_settings(settings)
    engines = [create_engine(settings), create_engine(settings)]
    trackers = [TrackerEvents.from_settings(settings) for _ in engines]
    try:
        # Two "processes", each with its own engine, at the same moment.
        first, second = await asyncio.gather(
            *(
                retention.run_if_due(
                    create_sessionmaker(engine), tracker, policy, 3600, holder=f"p{n}", now=NOW
                )
                for n, (engine, tracker) in enumerate(zip(engines, trackers, strict=True))
            )
        )
        reports = [r for r in (first, second) if r is not None]
        assert len(reports) == 1 and reports[0].tracker_events == 3
        sessions = create_sessionmaker(engines[0])
        soon = NOW + dt.timedelta(minutes=30)
        assert await retention.run_if_due(sessions, trackers[0], policy, 3600, now=soon) is None
        later = NOW + dt.timedelta(hours=1, seconds=1)
        assert await retention.run_if_due(sessions, trackers[0], policy, 3600, now=later)
        rows = app_rows(settings, "SELECT holder, lease_until FROM job_leases")
        assert rows == [(None, None)]  # released after each run
    finally:
        for tracker in trackers:
            await tracker.close()
        for engine in engines:
            await engine.dispose()


async def test_an_expired_lease_is_taken_over(privacy_settings: Settings) -> None:
    settings = privacy_settings
    policy = retention.RetentionPolicy.from_settings(settings)
    engine = create_engine(settings)
    tracker = TrackerEvents.from_settings(settings)
    try:
        sessions = create_sessionmaker(engine)
        async with sessions() as session:
            # A process that died while holding the lease.
            assert await leases.take(
                session,
                retention.JOB_NAME,
                "dead",
                retention.LEASE_SECONDS,
                interval_seconds=3600,
                now=NOW,
            )
        assert await retention.run_if_due(sessions, tracker, policy, 3600, now=NOW) is None
        after = NOW + dt.timedelta(seconds=retention.LEASE_SECONDS + 1)
        assert await retention.run_if_due(sessions, tracker, policy, 3600, now=after) is not None
    finally:
        await tracker.close()
        await engine.dispose()


async def test_no_tracker_store_yet_is_nothing_to_purge(db_settings: Settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = replace(db_settings, rasa_tracker_db=tmp_path / "never-written.db")
    report = await _purge(settings)
    assert report.tracker_events == 0
    assert not (tmp_path / "never-written.db").exists()


def test_the_command_purges(privacy_settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    from bot.__main__ import main

    asyncio.run(
        write_conversation(
            privacy_settings, "web:ancient", ["hi"], utcnow() - dt.timedelta(days=200)
        )
    )
    asyncio.run(write_conversation(privacy_settings, "web:today", ["hi"], utcnow()))
    assert main(["privacy", "purge"], settings=privacy_settings) == 0
    assert "tracker events: 3" in capsys.readouterr().out
    assert {s for s, _ in tracker_rows(privacy_settings)} == {"web:today"}
    actors = app_rows(
        privacy_settings, "SELECT actor FROM audit_log WHERE action = 'privacy.purge'"
    )
    assert actors == [("cli",)]
