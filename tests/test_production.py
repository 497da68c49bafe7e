"""Production mode refuses unsafe configuration; local mode says what it would refuse."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot import production
from bot.config import Settings

ROOT = Path(__file__).resolve().parent.parent

SAFE = {
    "HOTLINE_PRODUCTION": "true",
    "PUBLIC_BASE_URL": "https://hotline.example.gov.uk",
    "HOTLINE_COOKIE_SECURE": "true",
    "HOTLINE_SESSION_KEY": "k" * 40,
    "CORS_ORIGINS": "https://www.example.gov.uk",
    "TWILIO_AUTH_TOKEN": "twilio-secret",
    "HOTLINE_REST_TOKEN": "rest-secret",
}


def settings(env: dict[str, str]) -> Settings:
    return Settings.from_env(env)


def test_a_safe_configuration_starts() -> None:
    assert production.check(settings(SAFE), SAFE) == []


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"TWILIO_AUTH_TOKEN": ""}, "TWILIO_AUTH_TOKEN"),
        ({"HOTLINE_REST_TOKEN": ""}, "HOTLINE_REST_TOKEN"),
        ({"HOTLINE_COOKIE_SECURE": "false"}, "HOTLINE_COOKIE_SECURE"),
        ({"PUBLIC_BASE_URL": "http://hotline.example.gov.uk"}, "PUBLIC_BASE_URL"),
        ({"ACTIONS_HOST": "0.0.0.0"}, "ACTIONS_HOST"),
        ({"ACTIONS_HOST": "10.1.2.3"}, "ACTIONS_HOST"),
        ({"HOTLINE_SESSION_KEY": ""}, "HOTLINE_SESSION_KEY"),
        ({"CORS_ORIGINS": "http://www.example.gov.uk"}, "CORS_ORIGINS"),
    ],
)
def test_each_unsafe_choice_is_refused_by_name(change: dict[str, str], named: str) -> None:
    env = {**SAFE, **change}
    with pytest.raises(production.UnsafeForProduction, match=named):
        production.check(settings(env), env)


def test_local_mode_lists_what_production_would_refuse() -> None:
    env = {"HOTLINE_PRODUCTION": "false"}
    found = production.check(settings(env), env)
    assert any("TWILIO_AUTH_TOKEN" in p for p in found)
    assert any("HOTLINE_COOKIE_SECURE" in p for p in found)


def test_the_action_server_refuses_to_start_unsafe() -> None:
    env = {
        **os.environ,
        **SAFE,
        "HOTLINE_ACTIONS_TOKEN": "a-token",
        "ACTIONS_HOST": "0.0.0.0",
    }
    done = subprocess.run(
        [sys.executable, "-m", "actions.server"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert b"ACTIONS_HOST" in done.stderr


def test_the_web_app_refuses_to_start_unsafe(tmp_path: Path) -> None:
    env = {
        **os.environ,
        **SAFE,
        "HOTLINE_COOKIE_SECURE": "false",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'h.db'}",
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot", "web", "--port", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert b"HOTLINE_COOKIE_SECURE" in done.stderr


def test_the_stack_refuses_to_start_unsafe() -> None:
    env = {**os.environ, **SAFE, "TWILIO_AUTH_TOKEN": ""}
    done = subprocess.run(
        [sys.executable, "-m", "bot.stack"], cwd=ROOT, env=env, capture_output=True, timeout=120
    )
    assert done.returncode == 2
    assert b"TWILIO_AUTH_TOKEN" in done.stderr
