"""Issue 13: a person's data found, exported and erased; nothing left in either database.

By conversation id and by phone number, from the command line, the console
(supervisors only) and the widget (the session secret's holder), on SQLite and
PostgreSQL. Every check of "gone" reads the tables themselves.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.config import Settings
from bot.core.conversations import web_conversation_id
from bot.db.models import CallbackRequest, Feedback, HandoffMessage, HandoffTicket
from bot.db.session import create_engine, create_sessionmaker
from bot.privacy import subject
from tests.handoff_support import create_staff, handoff_settings_for, login
from tests.privacy_support import (
    app_rows,
    tracker_rows,
    write_conversation,
)

NOW = dt.datetime.now(dt.timezone.utc)
KEY = "privacy-erasure-test-key"
SECRET = "cafe" * 8
MINE = web_conversation_id(KEY, SECRET)
NUMBER = "07700 900123"
NATIONAL = "07700900123"


async def _seed(settings: Settings) -> None:
    """Two callers' conversations (and a call from NUMBER) in every store."""
    await write_conversation(settings, MINE, ["I'd like a callback please"], NOW)
    await write_conversation(settings, "web:someone-else", ["what is a mutual?"], NOW)
    await write_conversation(
        settings,
        "phone:call1",
        ["hello"],
        NOW,
        twilio_voice={"call_sid": "CA1", "from": "+447700900123"},
    )
    await write_conversation(settings, "web:typed", [f"ring me on {NUMBER} thanks"], NOW)
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            for conversation in (MINE, "web:someone-else"):
                ticket = HandoffTicket(
                    conversation_id=conversation,
                    channel="socketio",
                    status="resolved",
                    created_at=NOW,
                    closed_at=NOW,
                    summary={"organisation": "Youth team"},
                )
                session.add(ticket)
                await session.flush()
                session.add(
                    HandoffMessage(
                        ticket_id=ticket.id,
                        conversation_id=conversation,
                        sender="caller",
                        text=f"hello from {conversation}",
                        created_at=NOW,
                    )
                )
                session.add(
                    Feedback(
                        conversation_id=conversation, ticket_id=ticket.id, rating=4, created_at=NOW
                    )
                )
            session.add(
                CallbackRequest(
                    conversation_id=MINE,
                    name="Jo Caller",
                    phone=NATIONAL,
                    status="open",
                    created_at=NOW,
                )
            )
            session.add(
                CallbackRequest(
                    conversation_id="web:someone-else",
                    name="Other Person",
                    phone="07700900999",
                    status="open",
                    created_at=NOW,
                )
            )
            await session.commit()
    finally:
        await engine.dispose()


def _left(settings: Settings, conversation: str) -> dict[str, int]:
    """What is left of one conversation in every table that holds conversations."""
    counts = {"tracker": len(tracker_rows(settings, conversation))}
    for table in ("handoff_tickets", "handoff_messages", "feedback", "callback_requests"):
        sql = f"SELECT COUNT(*) FROM {table} WHERE conversation_id = '{conversation}'"  # noqa: S608
        counts[table] = int(app_rows(settings, sql)[0][0])
    return counts


NOTHING = {
    "tracker": 0,
    "handoff_tickets": 0,
    "handoff_messages": 0,
    "feedback": 0,
    "callback_requests": 0,
}


def test_queries_are_read_as_numbers_or_conversation_ids() -> None:
    assert subject.parse_query(" 07700 900123 ") == subject.Query("phone", NATIONAL)
    assert subject.parse_query("+44 7700 900123") == subject.Query("phone", NATIONAL)
    assert subject.parse_query(MINE) == subject.Query("conversation", MINE)
    assert subject.parse_query("rest:07700900123").kind == "conversation"
    for bad in ("", "   ", "a b", "x" * 300, "web:<script>"):
        with pytest.raises(subject.SubjectError):
            subject.parse_query(bad)
    assert subject.Query("phone", NATIONAL).audit_target == "phone:…123"


def test_cli_finds_exports_and_erases_a_conversation(
    privacy_settings: Settings, capsys: pytest.CaptureFixture[str], tmp_path: Any
) -> None:
    import asyncio

    from bot.__main__ import main

    settings = privacy_settings
    asyncio.run(_seed(settings))
    assert main(["privacy", "find", MINE], settings=settings) == 0
    assert "tracker_events: 3" in capsys.readouterr().out
    target = tmp_path / "export.json"
    assert main(["privacy", "export", MINE, str(target)], settings=settings) == 0
    export = json.loads(target.read_text(encoding="utf-8"))
    (conversation,) = [c for c in export["conversations"] if c["conversation_id"] == MINE]
    texts = [e["event"].get("text") for e in conversation["tracker_events"]]
    assert "I'd like a callback please" in texts
    assert conversation["tickets"][0]["messages"][0]["text"] == f"hello from {MINE}"
    assert conversation["ratings"] == [{"rating": 4, "at": conversation["ratings"][0]["at"]}]
    assert export["callbacks"][0]["phone"] == NATIONAL
    # Without --yes nothing goes.
    assert main(["privacy", "erase", MINE], settings=settings) == 1
    assert _left(settings, MINE)["tracker"] == 3
    assert main(["privacy", "erase", MINE, "--yes"], settings=settings) == 0
    assert _left(settings, MINE) == NOTHING
    # The other caller is untouched.
    assert _left(settings, "web:someone-else") == {**NOTHING, "tracker": 3} | {
        "handoff_tickets": 1,
        "handoff_messages": 1,
        "feedback": 1,
        "callback_requests": 1,
    }
    audit = app_rows(
        settings, "SELECT actor, action, target FROM audit_log WHERE action LIKE 'privacy.%'"
    )
    assert ("cli", "privacy.export", f"conversation:{MINE}") in audit
    assert ("cli", "privacy.erase", f"conversation:{MINE}") in audit
    assert main(["privacy", "find", MINE], settings=settings) == 1  # nothing held now


async def test_a_phone_number_finds_callbacks_calls_and_typed_numbers(
    privacy_settings: Settings,
) -> None:
    settings = privacy_settings
    await _seed(settings)
    engine = create_engine(settings)
    from bot.privacy.tracker import TrackerEvents

    tracker = TrackerEvents.from_settings(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            found = await subject.find(session, tracker, subject.parse_query("+447700900123"))
            # The callback's conversation, the call from the number, the chat where it was typed.
            assert set(found.conversation_ids) == {MINE, "phone:call1", "web:typed"}
            assert [c.name for c in found.callbacks] == ["Jo Caller"]
            erased = await subject.erase(session, tracker, found, "cli")
            assert erased["callbacks"] == 1
    finally:
        await tracker.close()
        await engine.dispose()
    for conversation in (MINE, "phone:call1", "web:typed"):
        assert _left(settings, conversation) == NOTHING
    assert (
        app_rows(settings, f"SELECT COUNT(*) FROM callback_requests WHERE phone = '{NATIONAL}'")[0][
            0
        ]
        == 0
    )
    assert len(tracker_rows(settings, "web:someone-else")) == 3
    (detail,) = app_rows(settings, "SELECT detail FROM audit_log WHERE action = 'privacy.erase'")
    assert NATIONAL not in str(detail) and "900123" not in str(detail)


@pytest.fixture
async def web_client(aiohttp_client: Any, privacy_settings: Settings, fake_rasa: Any) -> TestClient:
    settings = replace(handoff_settings_for(privacy_settings, fake_rasa), session_key=KEY)
    await create_staff(settings)
    await _seed(settings)
    from bot.web.app import create_app

    client = await aiohttp_client(create_app(settings))
    client.settings = settings  # type: ignore[attr-defined]
    return client


async def test_the_widget_erases_its_own_conversation_on_the_server(web_client: TestClient) -> None:
    settings = web_client.settings  # type: ignore[attr-defined]
    # Knowing the conversation id is not enough: it names another (empty) conversation.
    response = await web_client.post("/widget/erase", json={"session_id": MINE.split(":")[1]})
    assert response.status == 200
    assert _left(settings, MINE)["tracker"] == 3
    for bad in (None, {}, {"session_id": "x"}, {"session_id": "<script>"}):
        assert (await web_client.post("/widget/erase", json=bad)).status == 400
    response = await web_client.post(
        "/widget/erase", json={"session_id": SECRET}, headers={"Origin": "http://localhost:8080"}
    )
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:8080"
    assert (await response.json())["erased"]["tracker_events"] == 3
    assert _left(settings, MINE) == NOTHING
    assert len(tracker_rows(settings, "web:someone-else")) == 3
    actors = app_rows(settings, "SELECT actor FROM audit_log WHERE action = 'privacy.erase'")
    assert ("caller",) in actors
    evil = await web_client.options(
        "/widget/erase",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "Access-Control-Allow-Origin" not in evil.headers


async def test_supervisors_find_export_and_erase_in_the_console(web_client: TestClient) -> None:
    settings = web_client.settings  # type: ignore[attr-defined]
    agent = await login(web_client, "alice")
    assert (await web_client.get("/console/privacy", headers=agent)).status == 403
    assert (await web_client.get(f"/console/privacy/export?q={MINE}", headers=agent)).status == 403
    sup = await login(web_client, "sup")
    page = await web_client.get("/console/privacy", params={"q": NUMBER}, headers=sup)
    assert page.status == 200
    html = await page.text()
    assert MINE in html and "phone:call1" in html and "web:someone-else" not in html
    bad = await web_client.get("/console/privacy", params={"q": "<b>"}, headers=sup)
    assert bad.status == 400 and "<b>" not in await bad.text()
    export = await web_client.get("/console/privacy/export", params={"q": MINE}, headers=sup)
    assert export.status == 200 and "attachment" in export.headers["Content-Disposition"]
    assert (await export.json())["query"] == {"kind": "conversation", "value": MINE}
    # The console's forms carry the session's CSRF token (cookie sign-in).
    csrf = (await (await web_client.get("/api/me", headers=sup)).json())["csrf_token"]
    forged = await web_client.post("/console/privacy/erase", data={"q": MINE, "confirm": "yes"})
    assert forged.status == 403 and _left(settings, MINE)["tracker"] == 3
    # Erasing needs the confirmation.
    unconfirmed = await web_client.post(
        "/console/privacy/erase", data={"q": MINE, "csrf_token": csrf}
    )
    assert unconfirmed.status == 400 and _left(settings, MINE)["tracker"] == 3
    done = await web_client.post(
        "/console/privacy/erase",
        data={"q": MINE, "confirm": "yes", "csrf_token": csrf},
        allow_redirects=False,
    )
    assert done.status == 303
    assert _left(settings, MINE) == NOTHING
    assert _left(settings, "web:someone-else")["tracker"] == 3
    audit = app_rows(
        settings, "SELECT actor, action, target FROM audit_log WHERE action LIKE 'privacy.%'"
    )
    assert ("sup", "privacy.export", f"conversation:{MINE}") in audit
    assert ("sup", "privacy.erase", f"conversation:{MINE}") in audit
