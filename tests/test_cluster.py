"""The local cluster (``python -m bot.cluster``): HAProxy, two web processes, two Rasa.

One cluster per module, on its own ports, a fresh PostgreSQL database and the
test Redis database. Callers are python-socketio clients through the balancer
(polling first, then the WebSocket upgrade, so the balancer's stickiness is
used); staff use the JSON API through the balancer; the console WebSocket is
opened on web process 1 itself.

- 50 callers handed over at once: every queue place distinct, both web
  processes and both Rasa instances used, every caller message on the console
  once, every staff reply at its caller once (its latency printed).
- Failover: one Rasa instance, then one web process, then the action server
  are killed between the messages of running conversations (one with an
  adviser); the callers reconnect by themselves (as the widget does: socket.io
  reconnection, then `session_request` again) and carry on, with nothing lost
  or answered twice.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import socketio

from tests.conftest import PG_ADMIN_URL

pytestmark = [pytest.mark.cluster, pytest.mark.model, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "current.tar.gz"
N = 50
READY_TIMEOUT = 420.0
REPLY_TIMEOUT = 60.0
PASSWORD = "correct horse battery staple"


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _port_block(size: int) -> int:
    """A base port with `size` free ports after it."""
    for _ in range(200):
        base = secrets.randbelow(20_000) + 30_000
        if all(_free(base + i) for i in range(size)):
            return base
    raise RuntimeError("no free ports")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
            return 200 <= response.status < 300
    except OSError:
        return False


@dataclass
class Cluster:
    """A running cluster's addresses and its members' process ids."""

    web_url: str
    rasa_url: str
    web1_url: str
    stats_url: str
    state_file: Path
    env: dict[str, str]

    def state(self) -> dict[str, dict[str, int]]:
        return dict(json.loads(self.state_file.read_text()))

    def kill(self, name: str) -> int:
        """SIGKILL one member (no clean shutdown); returns its old pid."""
        pid = self.state()[name]["pid"]
        os.kill(pid, signal.SIGKILL)
        return pid

    async def restarted(self, name: str, old_pid: int, health_url: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            state = self.state().get(name, {})
            if state.get("pid") not in (None, old_pid) and _answers(health_url):
                return
            assert time.monotonic() < deadline, f"{name} was not restarted"
            await asyncio.sleep(0.5)

    def _servers(self) -> list[dict[str, str]]:
        with urllib.request.urlopen(self.stats_url + ";csv", timeout=5) as response:  # noqa: S310
            text = response.read().decode()
        rows = csv.DictReader(io.StringIO(text.lstrip("# ")))
        return [row for row in rows if row["svname"] not in ("FRONTEND", "BACKEND")]

    def sessions_per_server(self) -> dict[str, int]:
        """HAProxy's total sessions per server (`stot`), e.g. {"rasa1": 30, ...}."""
        return {row["svname"]: int(row["stot"] or 0) for row in self._servers()}

    def all_up(self) -> bool:
        """Whether HAProxy's health checks have every server up."""
        try:
            rows = self._servers()
        except OSError:
            return False
        return len(rows) == 4 and all(row["status"] == "UP" for row in rows)


@pytest.fixture(scope="module")
def cluster(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    import psycopg2
    from psycopg2 import sql

    if not MODEL.exists():
        pytest.fail("no trained model at models/current.tar.gz: run `make train`")
    work = tmp_path_factory.mktemp("cluster")
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    name = f"hotline_cluster_{uuid.uuid4().hex[:10]}"
    database_url = f"{base}/{name}"
    web, rasa = _port_block(4), _port_block(3)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "RASA_TRACKER_STORE_URL": database_url,
        "RASA_LOCK_STORE_URL": redis_url,
        "HOTLINE_PUBSUB_URL": redis_url,
        "WEB_PORT": str(web),
        "RASA_PORT": str(rasa),
        "ACTIONS_PORT": str(_port_block(1)),
        "RASA_TOKEN": secrets.token_urlsafe(16),
        "HOTLINE_INTERNAL_TOKEN": secrets.token_urlsafe(16),
        "HOTLINE_ACTIONS_TOKEN": secrets.token_urlsafe(16),
        "HOTLINE_SESSION_KEY": secrets.token_urlsafe(16),
        "HOTLINE_HOURS": "always",
        "HOTLINE_MAX_QUEUE": str(N * 2),
        # Every test caller comes from this one machine.
        "HOTLINE_MAX_TICKETS_PER_CLIENT": str(N * 2),
        "HOTLINE_ADMIN_USER": "admin",
        "HOTLINE_ADMIN_PASSWORD": PASSWORD,
        "RASA_TELEMETRY_ENABLED": "false",
    }
    log_path = work / "cluster.log"
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cluster"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    found = Cluster(
        web_url=f"http://localhost:{web}",
        rasa_url=f"http://localhost:{rasa}",
        web1_url=f"http://localhost:{web + 1}",
        stats_url=f"http://localhost:{web + 3}/stats",
        state_file=ROOT / "var" / f"cluster-{web}.json",
        env=env,
    )
    members = [
        f"http://localhost:{p}/health" for p in (web + 1, web + 2, int(env["ACTIONS_PORT"]))
    ] + [f"http://localhost:{p}/" for p in (rasa + 1, rasa + 2)]
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while not all(_answers(u) for u in members) or not found.all_up():
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail("the cluster did not start:\n" + log_path.read_text()[-5000:])
            time.sleep(1)
        yield found
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
        admin = psycopg2.connect(PG_ADMIN_URL, connect_timeout=3)
        admin.autocommit = True
        with admin.cursor() as cursor:
            cursor.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        admin.close()


class Caller:
    """A socket.io caller that reconnects by itself and asks for its session again (the widget)."""

    def __init__(self, rasa_url: str) -> None:
        self.url = rasa_url
        self.session_id = uuid.uuid4().hex
        self.client = socketio.AsyncClient(reconnection=True, reconnection_delay=0.5)
        self.received: list[tuple[float, dict[str, Any]]] = []
        self.changed = asyncio.Event()
        self.confirmed = asyncio.Event()
        self.connects = 0
        self.client.on("bot_uttered", self._received)
        self.client.on("session_confirm", self._confirmed)
        self.client.on("connect", self._connected)
        self.client.on("disconnect", self.confirmed.clear)

    async def _connected(self) -> None:
        self.connects += 1
        self.confirmed.clear()
        await self.client.emit("session_request", {"session_id": self.session_id})

    async def _confirmed(self, *_: Any) -> None:
        self.confirmed.set()

    async def _received(self, message: dict[str, Any]) -> None:
        self.received.append((time.perf_counter(), message))
        self.changed.set()

    async def connect(self) -> None:
        await self.client.connect(self.url, transports=["polling", "websocket"])
        await asyncio.wait_for(self.confirmed.wait(), 20)

    async def say(self, text: str) -> None:
        await asyncio.wait_for(self.confirmed.wait(), REPLY_TIMEOUT)
        await self.client.emit("user_uttered", {"message": text, "session_id": self.session_id})

    def texts(self) -> list[str]:
        return [m["text"] for _, m in self.received if m.get("text")]

    async def wait_for(self, words: str, count: int = 1, timeout: float = REPLY_TIMEOUT) -> str:
        """Wait until `count` received texts contain `words`; returns the last of them."""
        deadline = time.monotonic() + timeout
        while True:
            hits = [t for t in self.texts() if words.lower() in t.lower()]
            if len(hits) >= count:
                return hits[count - 1]
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no {words!r} (x{count}) in {self.texts()}"
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), remaining)
            except TimeoutError:
                continue


class Console:
    """A console WebSocket collecting every event."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.task: asyncio.Task[None] | None = None

    async def open(self, http: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> None:
        ws = await http.ws_connect(url, headers=headers)
        first = await ws.receive_json()
        assert first["type"] == "snapshot"

        async def read() -> None:
            async for message in ws:
                self.events.append(json.loads(message.data))

        self.task = asyncio.create_task(read())

    def caller_texts(self) -> list[str]:
        return [
            e["message"]["text"]
            for e in self.events
            if e["type"] == "message" and e["message"]["sender"] == "caller"
        ]

    def places(self) -> dict[int, int]:
        """ticket id -> the place allocated at creation (the console's system note)."""
        found: dict[int, int] = {}
        for e in self.events:
            if e["type"] == "message" and e["message"]["sender"] == "system":
                match = re.search(r"place (\d+) in the queue", e["message"]["text"])
                if match:
                    found[e["ticket_id"]] = int(match.group(1))
        return found


async def _staff(http: aiohttp.ClientSession, web_url: str) -> dict[str, str]:
    async with http.post(
        f"{web_url}/api/login", json={"username": "admin", "password": PASSWORD}
    ) as response:
        assert response.status == 200, await response.text()
        return {"Authorization": f"Bearer {(await response.json())['token']}"}


async def _until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def _ticket_of(
    http: aiohttp.ClientSession, web_url: str, staff: dict[str, str], conversation: str
) -> dict[str, Any]:
    async with http.get(
        f"{web_url}/api/handoffs", params={"status": "all"}, headers=staff
    ) as response:
        items = (await response.json())["items"]
    return next(t for t in items if t["conversation_id"] == conversation)


async def _hand_over(caller: Caller, i: int) -> None:
    await caller.say("I'd like to speak to a person please")
    await caller.wait_for("what would you like help with")
    await caller.say(f"We need help with a business plan for our youth service {i}")
    await caller.wait_for("in the queue")


@pytest.mark.timeout(900)
async def test_fifty_callers_across_both_web_processes_and_both_rasa_instances(
    cluster: Cluster,
) -> None:
    from bot.core.conversations import web_conversation_id

    key = cluster.env["HOTLINE_SESSION_KEY"]
    before = cluster.sessions_per_server()
    async with aiohttp.ClientSession() as http:
        staff = await _staff(http, cluster.web_url)
        console = Console()  # on web process 1 itself
        await console.open(http, f"{cluster.web1_url}/console/ws", staff)
        callers = [Caller(cluster.rasa_url) for _ in range(N)]
        await asyncio.gather(*(c.connect() for c in callers))
        started = time.perf_counter()
        await asyncio.gather(*(_hand_over(c, i) for i, c in enumerate(callers)))
        print(f"\n{N} handoffs through the cluster: {time.perf_counter() - started:.1f} s")

        await _until(lambda: len(console.places()) >= N, 30, "every ticket on console 1")
        places = console.places()
        assert sorted(places.values()) == list(range(1, N + 1)), "every queue place distinct"
        created = [e["ticket"]["id"] for e in console.events if e.get("event") == "created"]
        assert sorted(created) == sorted(places), "each ticket announced once on console 1"

        # Caller messages while queued: relayed by the action server through the balancer.
        await asyncio.gather(*(c.say(f"caller note {i}") for i, c in enumerate(callers)))
        expected = sorted(f"caller note {i}" for i in range(N))
        await _until(lambda: len(console.caller_texts()) >= N, 60, "every caller message")
        await asyncio.sleep(1)  # a duplicate would arrive in this time
        assert sorted(console.caller_texts()) == expected

        # Advisers take every conversation and reply to each at once.
        tickets = {}
        for i, caller in enumerate(callers):
            conversation = web_conversation_id(key, caller.session_id)
            tickets[i] = await _ticket_of(http, cluster.web_url, staff, conversation)

        async def claim(i: int) -> None:
            async with http.post(
                f"{cluster.web_url}/api/handoffs/{tickets[i]['id']}/claim", headers=staff
            ) as response:
                assert response.status == 200, await response.text()

        await asyncio.gather(*(claim(i) for i in range(N)))
        await asyncio.gather(*(c.wait_for("adviser") for c in callers))
        sent: dict[int, float] = {}

        async def reply(i: int) -> None:
            sent[i] = time.perf_counter()
            async with http.post(
                f"{cluster.web_url}/api/handoffs/{tickets[i]['id']}/reply",
                json={"text": f"staff reply {i}"},
                headers=staff,
            ) as response:
                assert response.status == 201, await response.text()

        await asyncio.gather(*(reply(i) for i in range(N)))
        await asyncio.gather(*(c.wait_for(f"staff reply {i}") for i, c in enumerate(callers)))
        await asyncio.sleep(1)
        latencies = []
        for i, caller in enumerate(callers):
            hits = [(at, m) for at, m in caller.received if m.get("text") == f"staff reply {i}"]
            assert len(hits) == 1, f"caller {i} got its reply {len(hits)} times"
            latencies.append(hits[0][0] - sent[i])
            others = [
                t for t in caller.texts() if t.startswith("staff reply") and t != f"staff reply {i}"
            ]
            assert not others, "a reply reached the wrong caller"
        ms = sorted(v * 1000 for v in latencies)
        p95 = ms[max(0, round(0.95 * len(ms)) - 1)]
        print(
            f"staff reply -> caller ({N} at once): "
            f"p50 {statistics.median(ms):.0f} ms, p95 {p95:.0f} ms"
        )
        await asyncio.gather(*(c.client.disconnect() for c in callers))

        # A ticket made through web process 2 directly reaches the console on process 1 live.
        direct = f"web:direct-{uuid.uuid4().hex}"
        async with http.post(
            f"http://localhost:{int(cluster.env['WEB_PORT']) + 2}/internal/handoffs",
            json={"conversation_id": direct, "channel": "socketio"},
            headers={"Authorization": f"Bearer {cluster.env['HOTLINE_INTERNAL_TOKEN']}"},
        ) as response:
            assert response.status == 201
            made = await response.json()
        await _until(
            lambda: any(
                e.get("event") == "created" and e["ticket"]["id"] == made["id"]
                for e in console.events
            ),
            10,
            "the ticket made on web 2 on console 1",
        )
        assert console.task is not None
        console.task.cancel()

    after = cluster.sessions_per_server()
    for server in ("web1", "web2", "rasa1", "rasa2"):
        assert after[server] > before.get(server, 0), f"{server} served none of it"


async def _exchange(caller: Caller, text: str, expect: str) -> None:
    """The caller says `text` and is answered once: `expect` arrives, nothing twice."""
    seen = len(caller.received)
    await caller.say(text)
    deadline = time.monotonic() + REPLY_TIMEOUT
    while not any(expect.lower() in t.lower() for t in _texts(caller, seen)):
        assert time.monotonic() < deadline, f"{text!r} unanswered: {caller.texts()[-5:]}"
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.5)  # a second answer would arrive in this time
    new = _texts(caller, seen)
    assert len(new) == len(set(new)), f"{text!r} answered twice: {new}"


def _texts(caller: Caller, since: int) -> list[str]:
    return [m["text"] for _, m in caller.received[since:] if m.get("text")]


@pytest.mark.timeout(900)
async def test_failover_rasa_then_web_then_action_server(cluster: Cluster) -> None:
    from bot.core.conversations import web_conversation_id

    key = cluster.env["HOTLINE_SESSION_KEY"]
    web_port, rasa_port = int(cluster.env["WEB_PORT"]), int(cluster.env["RASA_PORT"])
    async with aiohttp.ClientSession() as http:
        staff = await _staff(http, cluster.web_url)
        # Four bot conversations (round robin puts them on both instances) and one
        # with an adviser.
        bots = [Caller(cluster.rasa_url) for _ in range(4)]
        adviser_caller = Caller(cluster.rasa_url)
        await asyncio.gather(*(c.connect() for c in [*bots, adviser_caller]))
        for caller in bots:
            await _exchange(caller, "what is a mutual?", "public service mutual")
        await _hand_over(adviser_caller, 0)
        conversation = web_conversation_id(key, adviser_caller.session_id)
        ticket = await _ticket_of(http, cluster.web_url, staff, conversation)
        async with http.post(
            f"{cluster.web_url}/api/handoffs/{ticket['id']}/claim", headers=staff
        ) as response:
            assert response.status == 200
        await adviser_caller.wait_for("adviser")

        async def with_adviser(step: str) -> None:
            await adviser_caller.say(f"caller during {step}")
            async with http.post(
                f"{cluster.web_url}/api/handoffs/{ticket['id']}/reply",
                json={"text": f"adviser during {step}"},
                headers=staff,
            ) as response:
                assert response.status == 201, await response.text()
            await adviser_caller.wait_for(f"adviser during {step}")

        steps = [
            ("rasa1", f"http://localhost:{rasa_port + 1}/"),
            ("web1", f"http://localhost:{web_port + 1}/health"),
            ("actions", f"http://localhost:{cluster.env['ACTIONS_PORT']}/health"),
        ]
        for name, health in steps:
            old = cluster.kill(name)
            await asyncio.sleep(1)  # between two messages of each conversation
            if name == "actions":
                # One action server: the conversation carries on once it is back.
                await cluster.restarted(name, old, health, 60)
            for caller in bots:
                await _exchange(caller, "how do we apply?", "how to apply")
            await with_adviser(name)

        # Nothing lost, nothing twice: the transcript holds each caller message once,
        # and the caller got each adviser message once.
        async with http.get(
            f"{cluster.web_url}/api/handoffs/{ticket['id']}", headers=staff
        ) as response:
            transcript = (await response.json())["transcript"]
        said = [m["text"] for m in transcript if m["sender"] == "caller"]
        for name, _ in steps:
            assert said.count(f"caller during {name}") == 1, said
            assert adviser_caller.texts().count(f"adviser during {name}") == 1
        assert any(c.connects > 1 for c in [*bots, adviser_caller]), "nobody had to reconnect"
        await asyncio.gather(*(c.client.disconnect() for c in [*bots, adviser_caller]))

    # The supervisor started the killed processes again.
    state = cluster.state()
    assert all(state[name]["restarts"] >= 1 for name, _ in steps)
