"""Flood limits on tickets and callbacks (issue 11, finding 6).

A dozen scripted chats from one address must not fill the queue, and nobody
may book unlimited callbacks to any UK number.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.config import Settings
from bot.core.conversations import client_address, client_key
from bot.web.app import create_app
from tests.handoff_support import INTERNAL

KEY = "server-key-for-tests"
ONE_PLACE = client_key(KEY, "203.0.113.9")
ELSEWHERE = client_key(KEY, "198.51.100.7")


async def ticket(client: TestClient, conversation: str, **extra: Any) -> tuple[int, dict[str, Any]]:
    payload = {"conversation_id": conversation, "channel": "socketio", "reason": "help", **extra}
    response = await client.post("/internal/handoffs", json=payload, headers=INTERNAL)
    return response.status, await response.json()


async def callback(client: TestClient, phone: str, **extra: Any) -> tuple[int, dict[str, Any]]:
    payload = {"name": "Sam", "phone": phone, **extra}
    response = await client.post("/internal/callbacks", json=payload, headers=INTERNAL)
    return response.status, await response.json()


@pytest.fixture
async def limited(aiohttp_client: Any, staffed: Settings) -> TestClient:
    settings = replace(
        staffed, hotline_max_tickets_per_client=2, hotline_max_callbacks_per_client=3
    )
    return await aiohttp_client(create_app(settings))


async def test_a_dozen_chats_from_one_address_take_two_places(limited: TestClient) -> None:
    answers = [await ticket(limited, f"web:flood{n}", client_key=ONE_PLACE) for n in range(12)]
    assert [status for status, _ in answers].count(201) == 2
    refused = [body for status, body in answers if status != 201]
    assert all(body["reason"] == "too_many" for body in refused)
    assert {status for status, _ in answers} == {201, 429}
    # A genuine caller elsewhere still gets a place, and so does one without an address.
    assert (await ticket(limited, "web:genuine", client_key=ELSEWHERE))[0] == 201
    assert (await ticket(limited, "phone:genuine"))[0] == 201
    # A caller already queued asking again gets their ticket back, not a refusal.
    status, body = await ticket(limited, "web:flood0", client_key=ONE_PLACE)
    assert status == 201 and body["created"] is False


async def test_one_open_callback_per_number_and_per_conversation(limited: TestClient) -> None:
    assert (await callback(limited, "07700 900123", conversation_id="web:a"))[0] == 201
    status, body = await callback(limited, "+44 7700 900123", conversation_id="web:b")
    assert (status, body["reason"]) == (409, "already_booked")
    status, body = await callback(limited, "07700 900456", conversation_id="web:a")
    assert (status, body["reason"]) == (409, "already_booked")


async def test_an_address_books_at_most_three_callbacks_a_day(limited: TestClient) -> None:
    for n in range(3):
        assert (await callback(limited, f"07700 90012{n}", client_key=ONE_PLACE))[0] == 201
    status, body = await callback(limited, "07700 900129", client_key=ONE_PLACE)
    assert (status, body["reason"]) == (429, "too_many")
    assert (await callback(limited, "07700 900129", client_key=ELSEWHERE))[0] == 201


@pytest.mark.parametrize("bad", ["203.0.113.9", "addr:xyz", 5, "addr:" + "0" * 33])
async def test_a_client_key_is_a_digest_never_an_address(limited: TestClient, bad: Any) -> None:
    status, body = await ticket(limited, "web:x", client_key=bad)
    assert status == 400 and body["field"] == "client_key"


def test_the_address_is_the_peer_unless_our_own_proxy_names_the_client() -> None:
    assert client_address("203.0.113.9", None) == "203.0.113.9"
    # A client on the internet cannot claim to be someone else.
    assert client_address("203.0.113.9", "198.51.100.7") == "203.0.113.9"
    # Behind HAProxy on loopback, the proxy's right-most entry is the client.
    assert client_address("127.0.0.1", "6.6.6.6, 198.51.100.7") == "198.51.100.7"
    assert client_key(KEY, "") is None
    assert ONE_PLACE != ELSEWHERE and client_key(KEY, "203.0.113.9") == ONE_PLACE
    assert "203.0.113.9" not in str(ONE_PLACE)


# --- Queued tickets whose caller has gone away expire -----------------------------------


async def presence(client: TestClient, conversation: str, present: Any) -> tuple[int, Any]:
    response = await client.post(
        f"/internal/handoffs/{conversation}/presence", json={"present": present}, headers=INTERNAL
    )
    return response.status, await response.json()


async def test_a_caller_whose_chat_stays_closed_gives_up_their_place(
    client: TestClient, fake_rasa: Any
) -> None:
    from bot.core.clock import utcnow
    from bot.web.context import SESSIONMAKER
    from bot.web.live import HANDOFF

    for name in ("web:left", "web:left2", "web:stays", "web:back"):
        assert (await ticket(client, name))[0] == 201
    assert (await presence(client, "web:left", False))[0] == 200
    assert (await presence(client, "web:left2", False))[0] == 200
    assert (await presence(client, "web:back", False))[0] == 200
    assert (await presence(client, "web:back", True))[0] == 200  # a reload: back at once
    runtime = client.app[HANDOFF]
    async with client.app[SESSIONMAKER]() as session:
        # Within the grace period (120 s) nothing happens ...
        soon = utcnow() + dt.timedelta(seconds=60)
        assert await runtime.expire_departed(session, now=soon) == []
    async with client.app[SESSIONMAKER]() as session:
        later = utcnow() + dt.timedelta(seconds=300)
        withdrawn = await runtime.expire_departed(session, now=later)
    assert len(withdrawn) == 2  # several in one sweep
    body = await (await client.get("/internal/availability", headers=INTERNAL)).json()
    assert body["queue_length"] == 2
    # The caller is told when they come back, and the bot answers them again.
    await fake_rasa.wait_for(lambda: fake_rasa.texts_for("web:left"))
    assert "left the queue" in fake_rasa.texts_for("web:left")[-1]
    assert not fake_rasa.texts_for("web:back") or "left the queue" not in " ".join(
        fake_rasa.texts_for("web:back")
    )
    # A later ticket for the same conversation starts afresh.
    status, again = await ticket(client, "web:left")
    assert status == 201 and again["created"] is True


@pytest.mark.parametrize("bad", [None, "no", 1, []])
async def test_presence_takes_true_or_false(client: TestClient, bad: Any) -> None:
    status, body = await presence(client, "web:x", bad)
    assert status == 400 and body["field"] == "present"


async def test_presence_of_a_conversation_without_a_waiting_ticket_is_harmless(
    client: TestClient,
) -> None:
    assert await presence(client, "web:nobody", False) == (200, {"ticket_id": None})


# --- Bulk close in the console --------------------------------------------------------


async def test_a_supervisor_closes_waiting_requests_in_bulk(
    client: TestClient, fake_rasa: Any
) -> None:
    from tests.handoff_support import login

    ids = [(await ticket(client, f"web:bulk{n}"))[1]["id"] for n in range(4)]
    alice = await login(client, "alice")
    taken = await client.post(f"/api/handoffs/{ids[3]}/claim", headers=alice)
    assert taken.status == 200
    # Agents may not; supervisors may.
    refused = await client.post("/api/handoffs/close", json={"ids": ids}, headers=alice)
    assert refused.status == 403
    sup = await login(client, "sup")
    response = await client.post("/api/handoffs/close", json={"ids": ids}, headers=sup)
    assert response.status == 200
    body = await response.json()
    # Never taken from the adviser who has it.
    assert body == {"closed": ids[:3], "skipped": [ids[3]]}
    availability = await (await client.get("/internal/availability", headers=INTERNAL)).json()
    assert availability["queue_length"] == 0
    await fake_rasa.wait_for(lambda: fake_rasa.texts_for("web:bulk0"))
    assert "closed by the hotline team" in fake_rasa.texts_for("web:bulk0")[-1]
    assert not any("closed by" in t for t in fake_rasa.texts_for("web:bulk3"))
    audit = await (await client.get("/api/audit", headers=sup)).json()
    assert any(item["action"] == "handoff.bulk_close" for item in audit["items"])


@pytest.mark.parametrize("ids", [None, [], "1,2", [0], [1.5], [True], [2**31], list(range(1, 202))])
async def test_bulk_close_refuses_unusable_ids(client: TestClient, ids: Any) -> None:
    from tests.handoff_support import login

    sup = await login(client, "sup")
    response = await client.post("/api/handoffs/close", json={"ids": ids}, headers=sup)
    assert response.status == 400 and (await response.json())["field"] == "ids"


async def test_the_queue_page_closes_ticked_requests(client: TestClient) -> None:
    import re

    from tests.test_console_pages import _form_login

    first = (await ticket(client, "web:page1"))[1]["id"]
    second = (await ticket(client, "web:page2"))[1]["id"]
    csrf = await _form_login(client, "sup")
    page = await (await client.get("/console")).text()
    assert 'id="bulk-close"' in page and f'value="{first}" form="bulk-close"' in page
    response = await client.post(
        "/console/handoffs/close",
        data={"csrf_token": csrf, "ids": [str(first)]},
        allow_redirects=False,
    )
    assert response.status == 303
    page = await (await client.get("/console")).text()
    assert f'data-ticket-id="{first}"' not in page
    assert f'data-ticket-id="{second}"' in page
    # Agents see no bulk close at all.
    await client.post("/console/logout", data={"csrf_token": csrf})
    await _form_login(client, "alice")
    assert "bulk-close" not in re.sub(
        r"<script.*?</script>", "", await (await client.get("/console")).text()
    )
