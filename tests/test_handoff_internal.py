"""The internal API the action server calls: auth, availability, tickets, relay, updates."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.config import Settings
from bot.core.hours import parse_hours
from bot.web.app import create_app
from tests.handoff_support import INTERNAL, FakeRasa, create_handoff, login, relay

INTERNAL_CALLS = [
    ("GET", "/internal/availability"),
    ("POST", "/internal/handoffs"),
    ("POST", "/internal/handoffs/c/messages"),
    ("POST", "/internal/handoffs/c/cancel"),
    ("POST", "/internal/callbacks"),
    ("POST", "/internal/feedback"),
]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Basic aW50ZXJuYWw="},
        {"Authorization": INTERNAL["Authorization"][:-1]},  # a prefix of the secret
        {"Authorization": INTERNAL["Authorization"].upper()},  # case matters in the secret
    ],
)
async def test_internal_api_refuses_a_missing_or_wrong_token(
    client: TestClient, headers: dict[str, str]
) -> None:
    for method, path in INTERNAL_CALLS:
        response = await client.request(method, path, json={}, headers=headers)
        assert response.status == 401, (method, path)


async def test_internal_api_refuses_everything_without_a_configured_token(
    aiohttp_client: Any, staffed: Settings
) -> None:
    client = await aiohttp_client(create_app(replace(staffed, internal_token="")))
    response = await client.get("/internal/availability", headers={"Authorization": "Bearer "})
    assert response.status == 401


async def test_staff_login_does_not_open_the_internal_api(client: TestClient) -> None:
    staff = await login(client, "sup")
    assert (await client.get("/internal/availability", headers=staff)).status == 401


async def test_availability_when_staffed(client: TestClient) -> None:
    response = await client.get("/internal/availability", headers=INTERNAL)
    body = await response.json()
    assert body["staffed"] is True and body["accepting"] is True and body["reason"] is None
    assert body["queue_length"] == 0
    assert body["expected_wait_seconds"] == 300  # one caller × the 5-minute default
    await create_handoff(client, "c1")
    body = await (await client.get("/internal/availability", headers=INTERNAL)).json()
    assert body["queue_length"] == 1 and body["expected_wait_seconds"] == 600


async def test_availability_when_closed_or_full(aiohttp_client: Any, staffed: Settings) -> None:
    closed = replace(staffed, hotline_hours=parse_hours("sat 00:00-00:01", "2026-12-25"))
    client = await aiohttp_client(create_app(closed))
    body = await (await client.get("/internal/availability", headers=INTERNAL)).json()
    assert (body["staffed"], body["accepting"], body["reason"]) == (False, False, "closed")
    assert body["next_opening"]

    full = await aiohttp_client(create_app(replace(staffed, hotline_max_queue=1)))
    await create_handoff(full, "c1")
    body = await (await full.get("/internal/availability", headers=INTERNAL)).json()
    assert (body["staffed"], body["accepting"], body["reason"]) == (True, False, "queue_full")


async def test_create_refuses_a_closed_line_and_a_full_queue(
    aiohttp_client: Any, staffed: Settings
) -> None:
    """Issue 11, finding 1: the web app, not the action server, decides who may queue."""
    closed = replace(staffed, hotline_hours=parse_hours("sat 00:00-00:01", "2026-12-25"))
    client = await aiohttp_client(create_app(closed))
    for priority in ("normal", "urgent"):
        response = await client.post(
            "/internal/handoffs",
            json={"conversation_id": "web:x", "priority": priority},
            headers=INTERNAL,
        )
        assert response.status == 409
        assert (await response.json())["reason"] == "closed"

    full = await aiohttp_client(create_app(replace(staffed, hotline_max_queue=2)))
    await create_handoff(full, "c1")
    await create_handoff(full, "c2")
    response = await full.post(
        "/internal/handoffs", json={"conversation_id": "c3"}, headers=INTERNAL
    )
    assert response.status == 409 and (await response.json())["reason"] == "queue_full"
    # Someone already queued still gets their ticket back, and distress is let in.
    assert (await create_handoff(full, "c1"))["created"] is False
    urgent = await full.post(
        "/internal/handoffs",
        json={"conversation_id": "c4", "priority": "urgent"},
        headers=INTERNAL,
    )
    assert urgent.status == 201 and (await urgent.json())["position"] == 1
    body = await (await full.get("/internal/availability", headers=INTERNAL)).json()
    assert body["queue_length"] == 3


async def test_create_returns_place_and_wait_and_never_duplicates(client: TestClient) -> None:
    first = await create_handoff(client, "c1")
    assert first["position"] == 1 and first["status"] == "queued" and first["created"] is True
    assert first["expected_wait_seconds"] == 300
    second = await create_handoff(client, "c2")
    assert second["position"] == 2 and second["expected_wait_seconds"] == 600
    again = await create_handoff(client, "c1")
    assert again["id"] == first["id"] and again["created"] is False
    # Concurrent creates for one conversation still give one ticket.
    results = await asyncio.gather(*(create_handoff(client, "c3") for _ in range(5)))
    assert len({r["id"] for r in results}) == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "conversation_id"),
        ({"conversation_id": ""}, "conversation_id"),
        ({"conversation_id": 5}, "conversation_id"),
        ({"conversation_id": "c", "priority": "high"}, "priority"),
        ({"conversation_id": "c", "summary": "text"}, "summary"),
        ({"conversation_id": "c", "reason": "x" * 2001}, "reason"),
    ],
)
async def test_create_rejects_bad_input(
    client: TestClient, payload: dict[str, Any], field: str
) -> None:
    response = await client.post("/internal/handoffs", json=payload, headers=INTERNAL)
    assert response.status == 400
    assert (await response.json())["field"] == field


async def test_relay_is_idempotent_on_message_id(client: TestClient) -> None:
    alice = await login(client, "alice")
    tid = (await create_handoff(client, "c1"))["id"]
    first = await relay(client, "c1", "hello?", "msg-1")
    assert first == {"ticket_id": tid, "stored": True}
    assert (await relay(client, "c1", "hello?", "msg-1"))["stored"] is False
    # Concurrent duplicates too.
    results = await asyncio.gather(*(relay(client, "c1", "again", "msg-2") for _ in range(5)))
    assert sum(r["stored"] for r in results) == 1
    detail = await (await client.get(f"/api/handoffs/{tid}", headers=alice)).json()
    callers = [m["text"] for m in detail["transcript"] if m["sender"] == "caller"]
    assert callers == ["hello?", "again"]


async def test_relay_needs_an_open_ticket_and_valid_input(client: TestClient) -> None:
    response = await client.post(
        "/internal/handoffs/nobody/messages",
        json={"text": "hi", "message_id": "m"},
        headers=INTERNAL,
    )
    assert response.status == 404
    await create_handoff(client, "c1")
    bad = await client.post("/internal/handoffs/c1/messages", json={"text": ""}, headers=INTERNAL)
    assert bad.status == 400 and (await bad.json())["field"] == "text"


async def test_cancel_leaves_the_queue(client: TestClient, fake_rasa: FakeRasa) -> None:
    await create_handoff(client, "c1")
    await create_handoff(client, "c2")
    response = await client.post("/internal/handoffs/c1/cancel", headers=INTERNAL)
    assert response.status == 200
    assert (await response.json())["status"] == "cancelled"
    nothing = await client.post("/internal/handoffs/c1/cancel", headers=INTERNAL)
    assert nothing.status == 200 and (await nothing.json())["cancelled"] is False
    # c2 moved up from 2 to 1, so it hears about it (once).
    await fake_rasa.wait_for(lambda: fake_rasa.texts_for("c2"))
    assert fake_rasa.texts_for("c2") == [
        "You're next in the queue. The expected wait is about 5 minutes."
    ]
    assert fake_rasa.texts_for("c1") == []
    new = await create_handoff(client, "c1")
    assert new["created"] is True and new["position"] == 2


async def test_queue_updates_only_go_to_callers_whose_place_changed(
    client: TestClient, fake_rasa: FakeRasa
) -> None:
    alice = await login(client, "alice")
    ids = [(await create_handoff(client, f"q{i}"))["id"] for i in range(3)]
    await asyncio.sleep(0.2)
    assert fake_rasa.posted == []  # joining at the back moves nobody
    urgent = await create_handoff(client, "q-urgent", priority="urgent")
    assert urgent["position"] == 1
    await fake_rasa.wait_for(lambda: len(fake_rasa.posted) >= 3)
    assert fake_rasa.texts_for("q0") == [
        "You're now number 2 in the queue. The expected wait is about 10 minutes."
    ]
    assert fake_rasa.texts_for("q-urgent") == []
    fake_rasa.posted.clear()
    await client.post(f"/api/handoffs/{ids[2]}/claim", headers=alice)  # the last one: no moves
    await asyncio.sleep(0.2)
    assert [cid for cid, _, _ in fake_rasa.posted] == ["q2"]  # only the claim message
    await client.post(f"/api/handoffs/{urgent['id']}/claim", headers=alice)
    await fake_rasa.wait_for(lambda: fake_rasa.texts_for("q1"))
    assert fake_rasa.texts_for("q1")[-1].startswith("You're now number 2")
    assert fake_rasa.texts_for("q0")[-1].startswith("You're next in the queue")


async def test_callbacks_validate_the_phone_and_name(client: TestClient) -> None:
    for payload, field in [
        ({"name": "Pat", "phone": "12345"}, "phone"),
        ({"name": "Pat", "phone": "+1 212 555 0100"}, "phone"),
        ({"phone": "07700 900123"}, "name"),
        ({"name": "Pat"}, "phone"),
    ]:
        response = await client.post("/internal/callbacks", json=payload, headers=INTERNAL)
        assert response.status == 400, payload
        assert (await response.json())["field"] == field
    ok = await client.post(
        "/internal/callbacks", json={"name": "Pat", "phone": "+44 7700 900123"}, headers=INTERNAL
    )
    assert ok.status == 201


@pytest.mark.parametrize("rating", [0, 6, "five", None, 2.5, True])
async def test_feedback_rating_must_be_1_to_5(client: TestClient, rating: Any) -> None:
    response = await client.post(
        "/internal/feedback", json={"conversation_id": "c", "rating": rating}, headers=INTERNAL
    )
    assert response.status == 400


async def test_feedback_accepts_a_rating_as_text(client: TestClient) -> None:
    response = await client.post(
        "/internal/feedback", json={"conversation_id": "c", "rating": "5"}, headers=INTERNAL
    )
    assert response.status == 201
