"""Only Rasa can call the action server (issue 11, finding 1).

The server runs as the stack runs it (`python -m actions.server`), on a free
loopback port, and is attacked with the forged request of the finding.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from actions.server import authorised, refusal
from bot.core.net import is_loopback

ROOT = Path(__file__).resolve().parent.parent

# The finding's request: open a ticket for someone else's conversation.
FORGED = {
    "next_action": "action_handoff_request",
    "sender_id": "VICTIM",
    "tracker": {
        "sender_id": "VICTIM",
        "slots": {"handoff_reason": "x"},
        "latest_message": {"text": "x", "intent": {"name": "request_human"}},
        "events": [],
        "active_loop": {},
    },
    "domain": {},
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def call(
    url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback)
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, int]]:
    port = free_port()
    token = secrets.token_urlsafe(16)
    work = tmp_path_factory.mktemp("actions")
    env = {
        **os.environ,
        "HOTLINE_ACTIONS_TOKEN": token,
        "ACTIONS_PORT": str(port),
        "DATABASE_URL": f"sqlite:///{work / 'hotline.db'}",
        # Nothing listens here: a ticket could not be opened even if a call got through.
        "HOTLINE_APP_URL": f"http://127.0.0.1:{free_port()}",
    }
    log = (work / "actions.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "actions.server"], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while not _up(url):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"action server did not start: {(work / 'actions.log').read_text()}")
        time.sleep(0.5)
    yield url, token, port
    process.terminate()
    process.wait(timeout=20)


def _up(url: str) -> bool:
    try:
        return call(f"{url}/health")[0] == 200
    except OSError:
        return False


def test_the_forged_request_of_the_finding_is_refused(server: tuple[str, str, int]) -> None:
    url, _, _ = server
    status, body = call(
        f"{url}/webhook", json.dumps(FORGED).encode(), {"Content-Type": "application/json"}
    )
    assert status == 401
    assert b"VICTIM" not in body


def test_a_wrong_token_is_refused(server: tuple[str, str, int]) -> None:
    url, token, _ = server
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}x"}
    assert call(f"{url}/webhook", json.dumps(FORGED).encode(), headers)[0] == 401
    assert call(f"{url}/actions", headers=headers)[0] == 401


def test_a_browser_form_post_is_refused_even_with_the_token(server: tuple[str, str, int]) -> None:
    url, token, _ = server
    headers = {"Content-Type": "text/plain", "Authorization": f"Bearer {token}"}
    assert call(f"{url}/webhook", json.dumps(FORGED).encode(), headers)[0] == 415


def test_no_cors_headers_are_sent(server: tuple[str, str, int]) -> None:
    url, _, _ = server
    request = urllib.request.Request(
        f"{url}/webhook",
        method="OPTIONS",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            headers = response.headers
    except urllib.error.HTTPError as error:
        headers = error.headers
    assert headers.get("Access-Control-Allow-Origin") in (None, "")


def test_rasa_with_the_token_gets_through(server: tuple[str, str, int]) -> None:
    url, token, _ = server
    status, body = call(f"{url}/actions", headers={"Authorization": f"Bearer {token}"})
    assert status == 200
    assert {"name": "action_handoff_request"} in json.loads(body)


def test_health_is_open(server: tuple[str, str, int]) -> None:
    url, _, _ = server
    assert call(f"{url}/health")[0] == 200


def test_it_listens_on_loopback_only(server: tuple[str, str, int]) -> None:
    _, _, port = server
    listening = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, _, hex_port = local.rpartition(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                listening.append(address)
    assert listening == ["0100007F"]  # 127.0.0.1, nothing on 0.0.0.0 or ::


def test_the_rules() -> None:
    assert authorised("Bearer abc", "abc")
    assert authorised("bearer abc", "abc")
    assert not authorised("Bearer abc", "")
    assert not authorised(None, "abc")
    assert not authorised("Basic abc", "abc")
    assert not authorised("Bearer abcd", "abc")
    assert refusal("/health", None, None, "abc") is None
    assert refusal("/webhook", "application/json; charset=utf-8", "Bearer abc", "abc") is None
    assert refusal("/webhook", "text/plain", "Bearer abc", "abc") == 415
    assert refusal("/webhook", "application/json", None, "abc") == 401
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.5")


def test_without_a_token_it_does_not_start(tmp_path: Path) -> None:
    env = {**os.environ, "HOTLINE_ACTIONS_TOKEN": "", "ACTIONS_PORT": str(free_port())}
    done = subprocess.run(
        [sys.executable, "-m", "actions.server"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert b"HOTLINE_ACTIONS_TOKEN" in done.stderr
