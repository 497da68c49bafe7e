"""Restarts on the single-process default (``python -m bot.stack``, what ``make run`` runs).

One stack on free ports with its own SQLite databases (``tests/live_stack.py``).
Three conversations run while Rasa, then the web app, then the action server
are killed (SIGKILL, no clean shutdown), one at a time, between two messages
of each conversation:

- a web caller on socket.io in the middle of the eligibility check,
- a REST caller,
- a web caller with an adviser (staff claim and reply through the staff API).

The supervisor (``bot/supervisor.py``) starts the dead process again; the
socket.io callers reconnect by themselves and ask for their session again, as
the widget does. Each conversation then carries on: the check asks its next
question, Rasa's tracker holds every caller message exactly once, the handoff
transcript holds each caller message once, and each adviser reply reaches the
caller once.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from tests.live_stack import LiveStack, running_stack
from tests.test_cluster import REPLY_TIMEOUT, Caller, _exchange, _hand_over, _staff, _ticket_of

pytestmark = pytest.mark.model

RESTART_TIMEOUT = 240.0
# The eligibility check, one answer after each restart: (answer, words of the next question).
CHECK = [
    ("we're a team at the council", "deliver public services"),
    ("yes", "significant influence or control"),
    ("yes, staff would sit on the board", "is the organisation in england"),
]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    """A stack of its own: its processes are killed here, so no other test may share it."""
    with running_stack(tmp_path_factory.mktemp("restarts"), {}) as running:
        yield running


def _pids(stack: LiveStack) -> dict[str, dict[str, int]]:
    return dict(json.loads(stack.state_file.read_text(encoding="utf-8")))


async def _answers(http: aiohttp.ClientSession, url: str) -> bool:
    try:
        async with http.get(url, timeout=aiohttp.ClientTimeout(total=2)) as response:
            return response.status == 200
    except (aiohttp.ClientError, TimeoutError):
        return False


async def _kill_and_wait(
    http: aiohttp.ClientSession, stack: LiveStack, name: str, health_url: str
) -> None:
    """SIGKILL one process, then wait until the supervisor has a new one answering."""
    old = _pids(stack)[name]
    os.kill(old["pid"], signal.SIGKILL)
    deadline = time.monotonic() + RESTART_TIMEOUT
    while True:
        now = _pids(stack).get(name, {})
        if now.get("pid") not in (None, old["pid"]) and await _answers(http, health_url):
            assert now["restarts"] == old["restarts"] + 1
            return
        assert time.monotonic() < deadline, f"{name} was not restarted"
        await asyncio.sleep(0.5)


async def _rest(http: aiohttp.ClientSession, stack: LiveStack, sender: str, text: str) -> list[str]:
    async with http.post(
        f"{stack.rasa_url}/webhooks/rest/webhook",
        json={"sender": sender, "message": text},
        timeout=aiohttp.ClientTimeout(total=REPLY_TIMEOUT),
    ) as response:
        assert response.status == 200, await response.text()
        return [m["text"] for m in await response.json() if m.get("text")]


async def _tracker_user_texts(
    http: aiohttp.ClientSession, stack: LiveStack, conversation: str
) -> list[str]:
    """What the caller said, in order, as Rasa's tracker store holds it."""
    async with http.get(
        f"{stack.rasa_url}/conversations/{conversation}/tracker",
        headers={"Authorization": f"Bearer {stack.rasa_token}"},
    ) as response:
        assert response.status == 200, await response.text()
        events: list[dict[str, Any]] = (await response.json())["events"]
    # Staff deliveries reach the tracker as external intents ("EXTERNAL: ..."): not the caller.
    return [
        e["text"]
        for e in events
        if e["event"] == "user" and e.get("text") and not e["text"].startswith("EXTERNAL: ")
    ]


@pytest.mark.timeout(1200)
async def test_each_process_restarted_mid_conversation_loses_nothing(stack: LiveStack) -> None:
    rest_sender = f"restarts-{uuid.uuid4().hex[:8]}"
    rest_said: list[str] = []
    rest_questions = [
        ("what is a mutual?", "public service mutual"),
        ("how do we apply?", "apply"),
    ]
    async with aiohttp.ClientSession() as http:
        staff = await _staff(http, stack.web_url)
        checker, adviser_caller = Caller(stack.rasa_url), Caller(stack.rasa_url)
        await asyncio.gather(checker.connect(), adviser_caller.connect())
        checker_said = ["am I eligible?"]
        await _exchange(checker, checker_said[0], "which of these best describes you")

        async def rest_turn(i: int) -> None:
            text, expect = rest_questions[i % len(rest_questions)]
            replies = await _rest(http, stack, rest_sender, text)
            rest_said.append(text)
            assert any(expect in r.lower() for r in replies), replies
            assert len(replies) == len(set(replies)), f"answered twice: {replies}"

        await rest_turn(0)

        await _hand_over(adviser_caller, 0)
        conversation = stack.web_conversation(adviser_caller.session_id)
        ticket = await _ticket_of(http, stack.web_url, staff, conversation)
        async with http.post(
            f"{stack.web_url}/api/handoffs/{ticket['id']}/claim", headers=staff
        ) as response:
            assert response.status == 200, await response.text()
        await adviser_caller.wait_for("adviser")

        steps = [
            ("rasa", f"{stack.rasa_url}/"),
            ("web", f"{stack.web_url}/health"),
            ("actions", f"{stack.actions_url}/health"),
        ]
        for i, (name, health) in enumerate(steps):
            await _kill_and_wait(http, stack, name, health)
            answer, next_question = CHECK[i]
            await _exchange(checker, answer, next_question)
            checker_said.append(answer)
            await rest_turn(i + 1)
            # The caller writes, then the adviser answers: both after the restart.
            seen = len(adviser_caller.received)
            await adviser_caller.say(f"caller after {name}")
            await _until_transcript_has(http, stack, staff, ticket["id"], f"caller after {name}")
            async with http.post(
                f"{stack.web_url}/api/handoffs/{ticket['id']}/reply",
                json={"text": f"adviser after {name}"},
                headers=staff,
            ) as response:
                assert response.status == 201, await response.text()
            await adviser_caller.wait_for(f"adviser after {name}")
            await asyncio.sleep(1.5)  # a second delivery would arrive in this time
            later = [m.get("text") for _, m in adviser_caller.received[seen:]]
            assert later.count(f"adviser after {name}") == 1, later

        # Nothing lost, nothing twice, in what the stores hold.
        assert await _tracker_user_texts(http, stack, f"rest:{rest_sender}") == rest_said
        checker_id = stack.web_conversation(checker.session_id)
        assert await _tracker_user_texts(http, stack, checker_id) == checker_said
        caller_lines = [f"caller after {name}" for name, _ in steps]
        tracked = await _tracker_user_texts(http, stack, conversation)
        assert tracked[-len(caller_lines) :] == caller_lines, tracked
        async with http.get(
            f"{stack.web_url}/api/handoffs/{ticket['id']}", headers=staff
        ) as response:
            transcript = (await response.json())["transcript"]
        said = [m["text"] for m in transcript if m["sender"] == "caller"]
        for line in caller_lines:
            assert said.count(line) == 1, said
        staff_said = [m["text"] for m in transcript if m["sender"] != "caller"]
        for name, _ in steps:
            assert staff_said.count(f"adviser after {name}") == 1, staff_said
            assert adviser_caller.texts().count(f"adviser after {name}") == 1
        # The Rasa restart dropped both sockets; they came back by themselves.
        assert checker.connects > 1 and adviser_caller.connects > 1
        await asyncio.gather(checker.client.disconnect(), adviser_caller.client.disconnect())

    assert all(_pids(stack)[name]["restarts"] == 1 for name, _ in steps)


async def _until_transcript_has(
    http: aiohttp.ClientSession,
    stack: LiveStack,
    staff: dict[str, str],
    ticket_id: int,
    text: str,
) -> None:
    """Wait until the caller's message reached the adviser's transcript (Rasa -> actions -> web)."""
    deadline = time.monotonic() + REPLY_TIMEOUT
    while True:
        async with http.get(f"{stack.web_url}/api/handoffs/{ticket_id}", headers=staff) as response:
            transcript = (await response.json())["transcript"]
        if any(m["sender"] == "caller" and m["text"] == text for m in transcript):
            return
        assert time.monotonic() < deadline, f"{text!r} never reached the transcript"
        await asyncio.sleep(0.3)
