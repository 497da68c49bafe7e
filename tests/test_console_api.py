"""The staff JSON API: login, 401s, CSRF, lockout, every endpoint, state transitions."""

from __future__ import annotations

import time
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.config import Settings
from bot.handoff.summary import one_line, summarise
from bot.web.app import create_app
from tests.handoff_support import (
    INTERNAL,
    PASSWORDS,
    FakeRasa,
    create_handoff,
    login,
    relay,
)

STAFF_GETS = [
    "/api/me",
    "/api/handoffs",
    "/api/handoffs/1",
    "/api/callbacks",
    "/api/canned",
    "/api/figures",
    "/api/audit",
    "/api/nonexistent",
]
STAFF_POSTS = [
    "/api/logout",
    "/api/handoffs/1/claim",
    "/api/handoffs/1/reply",
    "/api/handoffs/1/typing",
    "/api/handoffs/1/release",
    "/api/handoffs/1/resolve",
    "/api/callbacks/1/done",
    "/api/canned",
]


async def test_login_answers_a_token_and_a_hardened_cookie(client: TestClient) -> None:
    response = await client.post(
        "/api/login", json={"username": "alice", "password": PASSWORDS["alice"]}
    )
    assert response.status == 200
    body = await response.json()
    assert body["token"] and body["token_type"] == "Bearer"
    assert body["user"] == {"username": "alice", "display_name": "Alice Adviser", "role": "agent"}
    cookie = response.headers["Set-Cookie"]
    assert "hotline_session=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Secure" not in cookie  # configured off for http://localhost in these tests
    me = await client.get("/api/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert (await me.json())["user"]["username"] == "alice"


async def test_secure_cookie_flag_is_on_when_configured(
    aiohttp_client: Any, staffed: Settings
) -> None:
    from dataclasses import replace

    client = await aiohttp_client(create_app(replace(staffed, cookie_secure=True)))
    response = await client.post(
        "/api/login", json={"username": "alice", "password": PASSWORDS["alice"]}
    )
    assert "Secure" in response.headers["Set-Cookie"]


@pytest.mark.parametrize(
    "payload",
    [
        {"username": "alice", "password": "wrong-password-123"},
        {"username": "nobody", "password": "whatever-password"},
    ],
)
async def test_login_refuses_bad_credentials(client: TestClient, payload: dict[str, str]) -> None:
    response = await client.post("/api/login", json=payload)
    assert response.status == 401
    assert "wrong user name or password" in (await response.json())["error"]
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize("body", ["not json", "[1, 2]", '{"username": "alice"}', ""])
async def test_login_rejects_bad_input(client: TestClient, body: str) -> None:
    response = await client.post(
        "/api/login", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status == 400
    assert "error" in await response.json()


async def test_every_staff_call_needs_login_but_awards_stay_public(client: TestClient) -> None:
    for path in STAFF_GETS:
        response = await client.get(path)
        assert response.status == 401, path
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    for path in STAFF_POSTS:
        response = await client.post(path, json={"text": "x"})
        assert response.status == 401, path
    bad = await client.get("/api/handoffs", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status == 401
    public = await client.get("/api/awards")
    assert public.status == 200


async def test_lockout_after_five_failures_even_with_the_right_password(
    client: TestClient,
) -> None:
    for _ in range(5):
        response = await client.post(
            "/api/login", json={"username": "bob", "password": "wrong-password-123"}
        )
        assert response.status == 401
    locked = await client.post("/api/login", json={"username": "bob", "password": PASSWORDS["bob"]})
    assert locked.status == 429
    assert "too many failed sign-ins" in (await locked.json())["error"]
    # Other accounts are not affected.
    await login(client, "alice")


async def test_csrf_is_required_for_cookie_writes_not_for_bearer(client: TestClient) -> None:
    await create_handoff(client, "conv-csrf")
    response = await client.post(
        "/api/login", json={"username": "alice", "password": PASSWORDS["alice"]}
    )
    body = await response.json()
    # The cookie alone (as a forged cross-site form would send it) is not enough.
    forged = await client.post("/api/handoffs/1/claim")
    assert forged.status == 403
    assert "CSRF" in (await forged.json())["error"]
    wrong = await client.post("/api/handoffs/1/claim", headers={"X-CSRF-Token": "nope"})
    assert wrong.status == 403
    ok = await client.post("/api/handoffs/1/claim", headers={"X-CSRF-Token": body["csrf_token"]})
    assert ok.status == 200, await ok.text()
    # Reads need no token.
    assert (await client.get("/api/handoffs")).status == 200
    # Bearer calls need none either: browsers never add that header on their own.
    client.session.cookie_jar.clear()
    bearer = {"Authorization": f"Bearer {body['token']}"}
    reply = await client.post("/api/handoffs/1/reply", json={"text": "hi"}, headers=bearer)
    assert reply.status == 201


async def test_logout_ends_the_session(client: TestClient) -> None:
    headers = await login(client, "alice")
    assert (await client.post("/api/logout", headers=headers)).status == 200
    assert (await client.get("/api/me", headers=headers)).status == 401


async def test_queue_lists_urgent_first_then_longest_waiting(client: TestClient) -> None:
    headers = await login(client, "alice")
    await create_handoff(client, "conv-a", summary={"one_line": "Asked about eligibility"})
    await create_handoff(client, "conv-b")
    urgent = await create_handoff(client, "conv-c", priority="urgent", reason="complaint")
    assert urgent["position"] == 1
    response = await client.get("/api/handoffs", headers=headers)
    items = (await response.json())["items"]
    assert [i["conversation_id"] for i in items] == ["conv-c", "conv-a", "conv-b"]
    assert [i["position"] for i in items] == [1, 2, 3]
    first = items[1]
    assert set(first) >= {
        "id",
        "conversation_id",
        "channel",
        "status",
        "priority",
        "reason",
        "waiting_seconds",
        "summary",
        "assigned_to",
    }
    assert first["summary"] == "Asked about eligibility"
    assert first["channel"] == "socketio" and first["status"] == "queued"
    assert first["assigned_to"] is None and first["waiting_seconds"] >= 0
    bad = await client.get("/api/handoffs?status=bogus", headers=headers)
    assert bad.status == 400 and (await bad.json())["field"] == "status"
    closed = await client.get("/api/handoffs?status=resolved", headers=headers)
    assert (await closed.json())["items"] == []


async def test_full_lifecycle_talks_to_rasa(client: TestClient, fake_rasa: FakeRasa) -> None:
    alice = await login(client, "alice")
    ticket = await create_handoff(client, "conv-life")
    tid = ticket["id"]

    claim = await client.post(f"/api/handoffs/{tid}/claim", headers=alice)
    assert claim.status == 200, await claim.text()
    body = await claim.json()
    assert body["delivered"] is True
    assert body["ticket"]["status"] == "assigned" and body["ticket"]["assigned_to"] == "alice"
    events = fake_rasa.events_for("conv-life")
    assert {"event": "slot", "name": "handoff_state", "value": "with_agent"} in events
    assert "You're now talking to Alice Adviser, a hotline adviser." in fake_rasa.texts_for(
        "conv-life"
    )

    reply = await client.post(f"/api/handoffs/{tid}/reply", json={"text": "Hello!"}, headers=alice)
    assert reply.status == 201
    staff_event = fake_rasa.events_for("conv-life")[-1]
    assert staff_event == {
        "event": "bot",
        "text": "Hello!",
        "metadata": {"sender": "staff", "staff_name": "Alice Adviser"},
    }
    typing = await client.post(f"/api/handoffs/{tid}/typing", headers=alice)
    assert typing.status == 200
    assert fake_rasa.events_for("conv-life")[-1]["data"] == {
        "custom": {"typing": True, "sender": "staff"}
    }

    resolve = await client.post(f"/api/handoffs/{tid}/resolve", headers=alice)
    assert resolve.status == 200
    assert (await resolve.json())["ticket"]["status"] == "resolved"
    last = fake_rasa.events_for("conv-life")[-4:]
    assert last[0] == {"event": "slot", "name": "handoff_state", "value": None}
    assert last[1]["text"] == "You're back with the automated assistant."
    assert [b["payload"] for b in last[2]["data"]["buttons"]][0] == '/rate_service{"rating": "1"}'
    assert last[3] == {"event": "slot", "name": "feedback_pending", "value": True}

    # The transcript keeps the staff reply; typing events are not messages.
    detail = await (await client.get(f"/api/handoffs/{tid}", headers=alice)).json()
    texts = [(m["sender"], m["text"]) for m in detail["transcript"]]
    assert ("staff", "Hello!") in texts


async def test_release_hands_back_to_the_bot(client: TestClient, fake_rasa: FakeRasa) -> None:
    alice = await login(client, "alice")
    tid = (await create_handoff(client, "conv-back"))["id"]
    await client.post(f"/api/handoffs/{tid}/claim", headers=alice)
    response = await client.post(f"/api/handoffs/{tid}/release", headers=alice)
    assert response.status == 200
    assert (await response.json())["ticket"]["status"] == "released"
    assert fake_rasa.texts_for("conv-back")[-1] == "You're back with the automated assistant."
    assert {"event": "slot", "name": "handoff_state", "value": None} in fake_rasa.events_for(
        "conv-back"
    )


async def test_invalid_transitions_are_409_with_a_reason(client: TestClient) -> None:
    alice = await login(client, "alice")
    bob = await login(client, "bob")
    sup = await login(client, "sup")
    tid = (await create_handoff(client, "conv-409"))["id"]

    reply = await client.post(f"/api/handoffs/{tid}/reply", json={"text": "x"}, headers=alice)
    assert reply.status == 409 and "claim it first" in (await reply.json())["error"]
    for action in ("release", "resolve"):
        response = await client.post(f"/api/handoffs/{tid}/{action}", headers=alice)
        assert response.status == 409, action
        assert "queued" in (await response.json())["error"]

    assert (await client.post(f"/api/handoffs/{tid}/claim", headers=alice)).status == 200
    twice = await client.post(f"/api/handoffs/{tid}/claim", headers=bob)
    assert twice.status == 409
    assert "Alice Adviser" in (await twice.json())["error"]
    other = await client.post(f"/api/handoffs/{tid}/reply", json={"text": "x"}, headers=bob)
    assert other.status == 409
    assert (await client.post(f"/api/handoffs/{tid}/resolve", headers=bob)).status == 409
    # A supervisor may step in.
    supervised = await client.post(
        f"/api/handoffs/{tid}/reply", json={"text": "supervisor here"}, headers=sup
    )
    assert supervised.status == 201
    assert (await client.post(f"/api/handoffs/{tid}/resolve", headers=alice)).status == 200
    again = await client.post(f"/api/handoffs/{tid}/resolve", headers=alice)
    assert again.status == 409
    assert "resolved" in (await again.json())["error"]
    assert (await client.post("/api/handoffs/999/claim", headers=alice)).status == 404
    assert (await client.get("/api/handoffs/999", headers=alice)).status == 404


async def test_concurrent_claims_have_one_winner(client: TestClient) -> None:
    import asyncio

    alice = await login(client, "alice")
    bob = await login(client, "bob")
    tid = (await create_handoff(client, "conv-race"))["id"]
    results = await asyncio.gather(
        client.post(f"/api/handoffs/{tid}/claim", headers=alice),
        client.post(f"/api/handoffs/{tid}/claim", headers=bob),
    )
    assert sorted(r.status for r in results) == [200, 409]


@pytest.mark.parametrize(
    "payload", [{}, {"text": ""}, {"text": "   "}, {"text": 5}, {"text": "x" * 4001}]
)
async def test_reply_rejects_bad_input(client: TestClient, payload: dict[str, Any]) -> None:
    alice = await login(client, "alice")
    tid = (await create_handoff(client, "conv-400"))["id"]
    await client.post(f"/api/handoffs/{tid}/claim", headers=alice)
    response = await client.post(f"/api/handoffs/{tid}/reply", json=payload, headers=alice)
    assert response.status == 400
    assert (await response.json())["field"] == "text"


async def test_reply_reports_when_rasa_is_down(client: TestClient, fake_rasa: FakeRasa) -> None:
    alice = await login(client, "alice")
    tid = (await create_handoff(client, "conv-down"))["id"]
    await client.post(f"/api/handoffs/{tid}/claim", headers=alice)
    fake_rasa.fail = True
    response = await client.post(f"/api/handoffs/{tid}/reply", json={"text": "hi"}, headers=alice)
    assert response.status == 502
    assert "not delivered" in (await response.json())["error"]
    detail = await (await client.get(f"/api/handoffs/{tid}", headers=alice)).json()
    assert all(m["sender"] != "staff" for m in detail["transcript"])  # nothing claimed as sent
    assert detail["history_note"] and "could not be read" in detail["history_note"]


async def test_transcript_has_the_bot_conversation_before_the_handoff(
    client: TestClient, fake_rasa: FakeRasa
) -> None:
    alice = await login(client, "alice")
    before = time.time() - 60
    fake_rasa.trackers["conv-t"] = {
        "sender_id": "conv-t",
        "slots": {
            "elig_applicant": "a youth team at the council",
            "elig_verdict": "likely eligible",
            "recipient": "3BM",
            "handoff_state": "queued",
            "requested_slot": None,
        },
        "events": [
            {"event": "action", "name": "action_listen", "timestamp": before},
            {
                "event": "user",
                "text": "are we eligible?",
                "timestamp": before + 1,
                "parse_data": {"intent": {"name": "check_eligibility"}, "entities": []},
            },
            {"event": "bot", "text": "Who is applying?", "timestamp": before + 2},
            {
                "event": "user",
                "text": "who supplied 3BM?",
                "timestamp": before + 3,
                "parse_data": {
                    "intent": {"name": "ask_award"},
                    "entities": [{"entity": "recipient", "value": "3BM"}],
                },
            },
            {"event": "bot", "data": {"custom": {"typing": True}}, "timestamp": before + 4},
            {
                "event": "bot",
                "text": "an earlier adviser reply",
                "metadata": {"sender": "staff", "staff_name": "Eve"},
                "timestamp": before + 5,
            },
            # After the handoff: comes from our own log instead (no duplicates).
            {"event": "user", "text": "relayed later", "timestamp": time.time() + 600},
        ],
    }
    tracker = fake_rasa.trackers["conv-t"]
    # The one summary: the action server builds it and sends it with the ticket.
    summary = summarise(tracker["events"], tracker["slots"])
    summary["one_line"] = one_line(summary)
    tid = (await create_handoff(client, "conv-t", reason="need a person", summary=summary))["id"]
    await relay(client, "conv-t", "relayed later", "m-1")
    detail = await (await client.get(f"/api/handoffs/{tid}", headers=alice)).json()
    pairs = [(m["sender"], m["text"]) for m in detail["transcript"]]
    assert pairs[:4] == [
        ("caller", "are we eligible?"),
        ("bot", "Who is applying?"),
        ("caller", "who supplied 3BM?"),
        ("staff", "an earlier adviser reply"),
    ]
    assert pairs[-1] == ("caller", "relayed later")
    assert pairs.count(("caller", "relayed later")) == 1
    learned = detail["bot_summary"]
    assert "tracker_summary" not in detail  # no second summary beside the bot's
    assert learned["topics"] == ["eligibility", "awards"]
    assert learned["organisation"] == "3BM"
    assert learned["eligibility"] == {"elig_applicant": "a youth team at the council"}
    assert learned["eligibility_verdict"] == "likely eligible"
    assert learned["award_lookups"] == ["3BM"]
    assert detail["reason"] == "need a person" and detail["history_note"] is None


async def test_callbacks_list_and_done(client: TestClient) -> None:
    alice = await login(client, "alice")
    response = await client.post(
        "/internal/callbacks",
        json={
            "conversation_id": "c1",
            "name": "Pat",
            "phone": "020 7946 0000",
            "preferred_time": "mornings",
            "reason": "funding",
        },
        headers=INTERNAL,
    )
    assert response.status == 201
    cid = (await response.json())["id"]
    items = (await (await client.get("/api/callbacks", headers=alice)).json())["items"]
    assert items[0]["phone"] == "02079460000" and items[0]["status"] == "open"
    done = await client.post(
        f"/api/callbacks/{cid}/done", json={"notes": "Called back, sorted"}, headers=alice
    )
    assert done.status == 200
    assert (await done.json())["notes"] == "Called back, sorted"
    again = await client.post(f"/api/callbacks/{cid}/done", headers=alice)
    assert again.status == 409
    assert (await client.post("/api/callbacks/999/done", headers=alice)).status == 404
    open_only = await client.get("/api/callbacks?status=open", headers=alice)
    assert (await open_only.json())["items"] == []
    assert (await client.get("/api/callbacks?status=x", headers=alice)).status == 400


async def test_canned_responses_are_edited_by_supervisors_only(client: TestClient) -> None:
    sup = await login(client, "sup")
    alice = await login(client, "alice")
    payload = {"title": "Greeting", "text": "Hello, how can I help?"}
    assert (await client.post("/api/canned", json=payload, headers=alice)).status == 403
    created = await client.post("/api/canned", json=payload, headers=sup)
    assert created.status == 201
    cid = (await created.json())["id"]
    assert (await client.post("/api/canned", json=payload, headers=sup)).status == 409
    assert (await client.post("/api/canned", json={"title": "x"}, headers=sup)).status == 400
    updated = await client.put(
        f"/api/canned/{cid}", json={"title": "Greeting", "text": "Hi!"}, headers=sup
    )
    assert (await updated.json())["text"] == "Hi!"
    listed = await (await client.get("/api/canned", headers=alice)).json()
    assert [c["title"] for c in listed["items"]] == ["Greeting"]
    assert (await client.delete(f"/api/canned/{cid}", headers=alice)).status == 403
    assert (await client.delete(f"/api/canned/{cid}", headers=sup)).status == 204
    assert (await client.delete(f"/api/canned/{cid}", headers=sup)).status == 404


async def test_figures_and_audit_for_supervisors(client: TestClient) -> None:
    sup = await login(client, "sup")
    alice = await login(client, "alice")
    assert (await client.get("/api/figures", headers=alice)).status == 403
    assert (await client.get("/api/audit", headers=alice)).status == 403
    tid = (await create_handoff(client, "conv-f"))["id"]
    await create_handoff(client, "conv-g")
    await client.post(f"/api/handoffs/{tid}/claim", headers=alice)
    await client.post(f"/api/handoffs/{tid}/resolve", headers=alice)
    feedback = await client.post(
        "/internal/feedback", json={"conversation_id": "conv-f", "rating": 4}, headers=INTERNAL
    )
    assert feedback.status == 201
    figures = await (await client.get("/api/figures", headers=sup)).json()
    assert figures["waiting_now"] == 1
    assert figures["handled_today"] == 1
    assert figures["median_wait_seconds"] is not None
    assert figures["satisfaction_average"] == 4.0 and figures["satisfaction_count"] == 1
    assert figures["satisfaction_counts"]["4"] == 1
    audit = (await (await client.get("/api/audit", headers=sup)).json())["items"]
    actions = [(e["actor"], e["action"]) for e in audit]
    assert ("alice", "handoff.claim") in actions and ("alice", "handoff.resolve") in actions
    assert ("alice", "auth.login") in actions and ("assistant", "handoff.create") in actions
