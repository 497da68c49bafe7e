"""Staff accounts: the command line, argon2 hashes, ensure-admin, disabling, lockout reset."""

from __future__ import annotations

import asyncio
import io
from dataclasses import replace
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.__main__ import main
from bot.config import Settings
from bot.db.session import create_engine, create_sessionmaker
from bot.staff.accounts import get_user
from bot.web.app import create_app
from tests.handoff_support import handoff_settings_for


async def _user(settings: Settings, name: str) -> Any:
    engine = create_engine(settings)
    try:
        async with create_sessionmaker(engine)() as session:
            return await get_user(session, name)
    finally:
        await engine.dispose()


async def cli(args: list[str], settings: Settings) -> int:
    """Run the command line in a thread: it calls asyncio.run, the test has a loop."""
    return await asyncio.to_thread(main, args, settings)


def _stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(text))


async def test_ensure_admin_generates_a_password_once(
    db_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    db_settings = replace(db_settings, admin_user="chief", admin_password="")
    assert await cli(["staff", "ensure-admin"], db_settings) == 0
    out = capsys.readouterr().out
    assert "created supervisor 'chief' with password: " in out
    password = out.split("password: ")[1].split()[0]
    user = await _user(db_settings, "chief")
    assert user.role == "supervisor" and user.password_hash.startswith("$argon2id$")
    assert password not in user.password_hash
    assert await cli(["staff", "ensure-admin"], db_settings) == 0
    assert "password" not in capsys.readouterr().out  # printed only the first time


async def test_ensure_admin_takes_the_password_from_the_environment(
    db_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    short = replace(db_settings, admin_user="chief", admin_password="short")
    assert await cli(["staff", "ensure-admin"], short) == 2
    assert "at least 12" in capsys.readouterr().err
    long = replace(short, admin_password="a-long-admin-password")
    assert await cli(["staff", "ensure-admin"], long) == 0
    assert "a-long-admin-password" not in capsys.readouterr().out


async def test_add_list_disable_set_password(
    aiohttp_client: Any,
    db_settings: Settings,
    fake_rasa: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _stdin(monkeypatch, "first-password-123\n")
    args = [
        "staff",
        "add",
        "Carol",
        "--role",
        "supervisor",
        "--name",
        "Carol C",
        "--password-stdin",
    ]
    assert await cli(args, db_settings) == 0
    _stdin(monkeypatch, "first-password-123\n")
    assert await cli(["staff", "add", "carol", "--password-stdin"], db_settings) == 1
    assert "already exists" in capsys.readouterr().err
    _stdin(monkeypatch, "short\n")
    assert await cli(["staff", "add", "dan", "--password-stdin"], db_settings) == 1
    assert await cli(["staff", "list"], db_settings) == 0
    listing = capsys.readouterr().out
    assert "carol" in listing and "supervisor" in listing and "Carol C" in listing

    client: TestClient = await aiohttp_client(
        create_app(handoff_settings_for(db_settings, fake_rasa))
    )

    async def sign_in(password: str) -> int:
        response = await client.post("/api/login", json={"username": "carol", "password": password})
        return response.status

    assert await sign_in("first-password-123") == 200
    assert await cli(["staff", "disable", "carol"], db_settings) == 0
    assert await sign_in("first-password-123") == 401
    assert await cli(["staff", "disable", "nobody"], db_settings) == 1
    # A locked-out account is unlocked by a new password.
    for _ in range(5):
        await sign_in("wrong-password-xyz")
    _stdin(monkeypatch, "second-password-456\n")
    assert await cli(["staff", "set-password", "carol", "--password-stdin"], db_settings) == 0
    assert await sign_in("second-password-456") == 200
    assert await sign_in("first-password-123") == 401


async def test_disabling_ends_live_sessions(
    client: TestClient, staffed: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.handoff_support import login

    headers = await login(client, "bob")
    assert (await client.get("/api/me", headers=headers)).status == 200
    assert await cli(["staff", "disable", "bob"], staffed) == 0
    assert (await client.get("/api/me", headers=headers)).status == 401
