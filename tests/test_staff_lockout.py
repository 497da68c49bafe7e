"""Lockout that cannot be turned against staff (issue 11, finding 7).

Failures count per (user name, address), so a stranger guessing passwords locks
out only their own address; an address that fails against many names is
refused altogether; callers see a display name, never a sign-in name.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.db.session import create_engine, create_sessionmaker
from bot.handoff.operations import claim_text
from bot.staff.accounts import LoginResult, Staff, create_user, login

PASSWORD = "a-long-staff-password"
LIMITS = {"max_failures": 5, "max_address_failures": 12, "window_seconds": 900}


@pytest_asyncio.fixture
async def session(db_settings: Settings) -> AsyncIterator[AsyncSession]:
    engine = create_engine(db_settings)
    try:
        async with create_sessionmaker(engine)() as opened:
            for name in ("alice", "bob"):
                await create_user(opened, name, PASSWORD, display_name=f"{name.title()} Adviser")
            await opened.commit()
            yield opened
    finally:
        await engine.dispose()


async def attempt(session: AsyncSession, name: str, password: str, remote: str) -> LoginResult:
    return await login(session, name, password, remote=remote, session_seconds=3600, **LIMITS)


async def test_a_stranger_cannot_lock_an_adviser_out(session: AsyncSession) -> None:
    for _ in range(10):
        await attempt(session, "alice", "wrong-guess-123", "203.0.113.9")
    refused = await attempt(session, "alice", PASSWORD, "203.0.113.9")
    assert refused.locked and refused.token is None
    # Alice at her own desk signs in as usual.
    mine = await attempt(session, "alice", PASSWORD, "198.51.100.20")
    assert mine.token and not mine.locked


async def test_lockout_still_stops_guessing_from_one_address(session: AsyncSession) -> None:
    for _ in range(4):
        assert not (await attempt(session, "bob", "wrong-guess-123", "203.0.113.9")).locked
    await attempt(session, "bob", "wrong-guess-123", "203.0.113.9")
    assert (await attempt(session, "bob", PASSWORD, "203.0.113.9")).locked


async def test_an_address_spraying_many_names_is_refused(session: AsyncSession) -> None:
    # Four failures per name stays under the per-name limit; the address limit stops it.
    for name in ("alice", "bob", "carol"):
        for _ in range(4):
            assert not (await attempt(session, name, "wrong-guess-123", "203.0.113.9")).locked
    assert (await attempt(session, "alice", PASSWORD, "203.0.113.9")).locked
    assert (await attempt(session, "alice", PASSWORD, "198.51.100.20")).token


async def test_unknown_names_are_throttled_like_real_ones(session: AsyncSession) -> None:
    for _ in range(5):
        await attempt(session, "nobody", "wrong-guess-123", "203.0.113.9")
    assert (await attempt(session, "nobody", "wrong-guess-123", "203.0.113.9")).locked


async def test_callers_never_hear_a_sign_in_name(session: AsyncSession) -> None:
    named = await create_user(session, "barsadmin", PASSWORD, display_name="Priya")
    unnamed = await create_user(session, "deskuser", PASSWORD)
    legacy = Staff(id=99, username="barsadmin", display_name="barsadmin", role="agent")
    assert claim_text(named) == "You're now talking to Priya, a hotline adviser."
    assert "deskuser" not in claim_text(unnamed)
    assert claim_text(unnamed) == "You're now talking to a hotline adviser."
    assert claim_text(legacy) == "You're now talking to a hotline adviser."
    assert legacy.public_name is None and named.public_name == "Priya"
