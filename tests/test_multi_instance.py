"""Two Rasa instances serve one conversation: trackers in PostgreSQL, locks in Redis.

This is the set-up the README describes for running several instances
(RASA_TRACKER_STORE_URL, RASA_LOCK_STORE_URL). Messages for one caller are
sent to both instances at once; Redis's lock must make them take turns, so the
shared tracker holds every message, each answered before the next is read.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator

import aiohttp
import pytest
import yaml

from bot.stack import ROOT, lock_store_settings, tracker_store_settings

pytestmark = [pytest.mark.model, pytest.mark.postgres]

MODEL = ROOT / "models" / "current.tar.gz"
MESSAGES = [
    "hello",
    "what is a mutual?",
    "how do we apply?",
    "who decides?",
    "is it still running?",
    "what's the hotline number?",
    "thanks",
    "goodbye",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def two_instances(
    pg_database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[list[str], str]]:
    if not MODEL.exists():
        pytest.fail("no trained model at models/current.tar.gz: run `make train`")
    work = tmp_path_factory.mktemp("multi")
    # One action server behind both instances, as in a deployment: answers such as the
    # hotline number's (with today's staffed hours) are custom actions.
    actions_port = _free_port()
    actions_token = secrets.token_urlsafe(16)
    endpoints = {
        "action_endpoint": {
            "url": f"http://localhost:{actions_port}/webhook",
            "headers": {"Authorization": f"Bearer {actions_token}"},
        },
        "tracker_store": tracker_store_settings(pg_database_url),
        "lock_store": lock_store_settings(redis_url),
    }
    (work / "endpoints.yml").write_text(yaml.safe_dump(endpoints))
    (work / "credentials.yml").write_text("rest:\n")
    token = secrets.token_urlsafe(16)
    ports = [_free_port(), _free_port()]
    logs = [(work / f"rasa-{p}.log").open("wb") for p in ports]
    actions_log = (work / "actions.log").open("wb")
    actions = subprocess.Popen(
        [sys.executable, "-m", "actions.server", "--port", str(actions_port)],
        cwd=ROOT,
        stdout=actions_log,
        stderr=subprocess.STDOUT,
        env={
            **os.environ,
            "HOTLINE_ACTIONS_TOKEN": actions_token,
            "DATABASE_URL": f"sqlite:///{work / 'hotline.db'}",
        },
    )
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bot.rasa_runtime",
                "run",
                "--model",
                str(MODEL),
                "--port",
                str(port),
                "--endpoints",
                str(work / "endpoints.yml"),
                "--credentials",
                str(work / "credentials.yml"),
                "--enable-api",
                f"--auth-token={token}",
            ],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"},
        )
        for port, log in zip(ports, logs, strict=True)
    ]
    logs.append(actions_log)
    urls = [f"http://localhost:{port}" for port in ports]
    try:
        deadline = time.monotonic() + 240
        for url, process, port in zip(urls, processes, ports, strict=True):
            while True:
                try:
                    with urllib.request.urlopen(url, timeout=2):  # noqa: S310 (loopback)
                        break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        pytest.fail(
                            f"Rasa on {port} did not start:\n"
                            + (work / f"rasa-{port}.log").read_text()[-4000:]
                        )
                    time.sleep(1)
        while True:
            try:
                with urllib.request.urlopen(  # noqa: S310 (loopback)
                    f"http://localhost:{actions_port}/health", timeout=2
                ):
                    break
            except OSError:
                if actions.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(
                        "action server did not start:\n" + (work / "actions.log").read_text()
                    )
                time.sleep(0.5)
        yield urls, token
    finally:
        processes.append(actions)
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in logs:
            log.close()


async def test_one_conversation_on_two_instances_takes_turns(
    two_instances: tuple[list[str], str],
) -> None:
    urls, token = two_instances
    sender = f"caller-{uuid.uuid4().hex}"
    async with aiohttp.ClientSession() as http:

        async def say(index: int, text: str) -> list[dict[str, str]]:
            url = urls[index % 2] + "/webhooks/rest/webhook"
            async with http.post(url, json={"sender": sender, "message": text}) as response:
                assert response.status == 200
                return list(await response.json())

        replies = await asyncio.gather(*(say(i, m) for i, m in enumerate(MESSAGES)))
        assert all(reply for reply in replies), "every message is answered"
        async with http.get(
            f"{urls[0]}/conversations/{sender}/tracker",
            headers={"Authorization": f"Bearer {token}"},
        ) as response:
            tracker = await response.json()

    kinds = [e["event"] for e in tracker["events"]]
    users = [e["text"] for e in tracker["events"] if e["event"] == "user"]
    assert sorted(users) == sorted(MESSAGES)  # nothing lost, nothing twice
    # Each message was read, answered and listened after before the next one:
    # a user event always follows an action_listen.
    for i, kind in enumerate(kinds):
        if kind == "user":
            previous = [e for e in tracker["events"][:i] if e["event"] == "action"]
            assert previous and previous[-1]["name"] == "action_listen"
    assert kinds.count("bot") >= len(MESSAGES)
    bot_texts = [e["text"] for e in tracker["events"] if e["event"] == "bot"]
    sent = [m["text"] for reply in replies for m in reply if "text" in m]
    assert sorted(bot_texts) == sorted(sent)
