"""A pytest plugin that runs the whole stack (Rasa, actions, web app) once per session.

End-to-end and browser tests take the ``live_stack`` fixture. The stack runs on
its own ports with a fresh SQLite database and tracker store in a temporary
folder, the trained model, and the line staffed at all hours.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.core.conversations import phone_conversation_id, web_conversation_id

# The fake messaging services (Twilio, Telegram, ...) the stack's channels talk to.
from tests.channels_fakes import ChannelFakes, channel_fakes  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "current.tar.gz"
READY_TIMEOUT = 240.0


@dataclass(frozen=True)
class LiveStack:
    """URLs and secrets of a running stack."""

    rasa_url: str
    actions_url: str
    web_url: str
    rasa_token: str
    internal_token: str
    admin_user: str
    admin_password: str
    env: dict[str, str]

    def web_conversation(self, session_id: str) -> str:
        """The conversation id Rasa and staff see for a socket.io session secret."""
        return web_conversation_id(self.env["HOTLINE_SESSION_KEY"], session_id)

    def phone_conversation(self, call_sid: str) -> str:
        """The conversation id of one phone call."""
        return phone_conversation_id(self.env["HOTLINE_SESSION_KEY"], call_sid)

    @property
    def state_file(self) -> Path:
        """The supervisor's record of the processes' ids (bot/supervisor.py)."""
        return ROOT / "var" / f"stack-{self.env['WEB_PORT']}.json"


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
            return 200 <= response.status < 300
    except OSError:
        return False


@contextmanager
def running_stack(work: Path, extra_env: Mapping[str, str]) -> Iterator[LiveStack]:
    """Runs ``python -m bot.stack`` on free ports with its data in `work`.

    Args:
        work: A fresh folder for the databases and the log.
        extra_env: Added to the stack's environment (the channel fakes' URLs, ...).

    Yields:
        The stack once every part answers; it is stopped afterwards.

    """
    if not MODEL.exists():
        pytest.fail("no trained model at models/current.tar.gz: run `make train`")
    ports = {name: _free_port() for name in ("RASA_PORT", "ACTIONS_PORT", "WEB_PORT")}
    env = {
        **os.environ,
        **{k: str(v) for k, v in ports.items()},
        "DATABASE_URL": f"sqlite:///{work / 'hotline.db'}",
        "RASA_TRACKER_DB": str(work / "tracker.db"),
        "RASA_TOKEN": secrets.token_urlsafe(16),
        "HOTLINE_INTERNAL_TOKEN": secrets.token_urlsafe(16),
        "HOTLINE_ACTIONS_TOKEN": secrets.token_urlsafe(16),
        "HOTLINE_SESSION_KEY": secrets.token_urlsafe(16),
        "HOTLINE_HOURS": "always",
        "HOTLINE_ADMIN_USER": "admin",
        "HOTLINE_ADMIN_PASSWORD": "correct horse battery staple",
        "RASA_TELEMETRY_ENABLED": "false",
        **extra_env,
    }
    subprocess.run(
        [sys.executable, "-m", "bot", "seed"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    log = (work / "stack.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.stack"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    stack = LiveStack(
        rasa_url=f"http://localhost:{ports['RASA_PORT']}",
        actions_url=f"http://localhost:{ports['ACTIONS_PORT']}",
        web_url=f"http://localhost:{ports['WEB_PORT']}",
        rasa_token=env["RASA_TOKEN"],
        internal_token=env["HOTLINE_INTERNAL_TOKEN"],
        admin_user=env["HOTLINE_ADMIN_USER"],
        admin_password=env["HOTLINE_ADMIN_PASSWORD"],
        env=env,
    )
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        urls = [f"{stack.rasa_url}/", f"{stack.actions_url}/health", f"{stack.web_url}/health"]
        while not all(_answers(u) for u in urls):
            if process.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail("the stack did not start:\n" + (work / "stack.log").read_text()[-5000:])
            time.sleep(1)
        yield stack
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="session")
def live_stack(
    tmp_path_factory: pytest.TempPathFactory,
    channel_fakes: ChannelFakes,  # noqa: F811
) -> Iterator[LiveStack]:
    """Starts ``python -m bot.stack`` and yields its URLs once every part answers."""
    with running_stack(tmp_path_factory.mktemp("stack"), channel_fakes.env) as stack:
        yield stack
