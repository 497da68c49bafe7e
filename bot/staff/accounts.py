"""Staff accounts, sign-in with lockout, sessions and the audit log.

Sessions are random tokens (256 bits); only their SHA-256 is stored, so a copy
of the database does not let anyone sign in. The same token works as a cookie
(console pages) and as a Bearer token (JSON API). Each session has its own CSRF
token for forms and scripts.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.clock import as_utc, utcnow
from bot.db.models import STAFF_ROLES, AuditEntry, LoginAttempt, StaffSession, StaffUser
from bot.staff.passwords import (
    check_policy,
    hash_password_async,
    needs_rehash,
    verify_password_async,
)

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,79}$")


class AccountError(ValueError):
    """A staff-account operation is refused; the message says why."""


@dataclass(frozen=True)
class Staff:
    """The signed-in staff member (a plain value, safe to keep after the session ends).

    Attributes:
        id: Database id.
        username: Sign-in name.
        display_name: Name shown to callers ("You're now talking to ...").
        role: "agent" or "supervisor".

    """

    id: int
    username: str
    display_name: str
    role: str

    @property
    def is_supervisor(self) -> bool:
        """Whether the member may use supervisor pages and calls."""
        return self.role == "supervisor"

    @property
    def public_name(self) -> str | None:
        """The name callers may see: the display name, never the sign-in name.

        An account whose display name is empty or is its user name (older accounts
        defaulted to it) has no public name: callers hear "a hotline adviser". A
        user name is half of a sign-in, and told to callers it invites lockout games.
        """
        name = " ".join(self.display_name.split())
        if not name or name.lower() == self.username.lower():
            return None
        return name


@dataclass(frozen=True)
class AuthSession:
    """A valid session: who, and the CSRF token of the session."""

    staff: Staff
    csrf_token: str
    token_hash: str


@dataclass(frozen=True)
class LoginResult:
    """Outcome of a sign-in attempt.

    Attributes:
        token: The new session token (None unless signed in).
        session: The session (None unless signed in).
        locked: True when refused because of too many recent failures.

    """

    token: str | None = None
    session: AuthSession | None = None
    locked: bool = False


def _staff(user: StaffUser) -> Staff:
    return Staff(
        id=int(user.id),
        username=str(user.username),
        display_name=str(user.display_name),
        role=str(user.role),
    )


def normalise_username(raw: str) -> str:
    """Lower-case and validate a user name.

    Args:
        raw: As typed.

    Returns:
        The normalised name.

    Raises:
        AccountError: If it is not 2-80 of a-z, 0-9, '.', '_', '-'.

    """
    name = raw.strip().lower()
    if not USERNAME.match(name):
        raise AccountError(
            "user names are 2-80 characters: letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def token_hash(token: str) -> str:
    """SHA-256 hex of a session token (what the database stores)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def audit(
    session: AsyncSession,
    actor: Staff | str,
    action: str,
    target: str | None = None,
    **detail: Any,
) -> None:
    """Add an audit entry (committed with the caller's transaction).

    Args:
        session: The database session.
        actor: The staff member, or a label like "system" / "cli".
        action: What was done, e.g. "handoff.claim".
        target: What it was done to, e.g. "handoff:12".
        **detail: Extra JSON-able facts.

    """
    session.add(
        AuditEntry(
            at=utcnow(),
            actor_id=actor.id if isinstance(actor, Staff) else None,
            actor=actor.username if isinstance(actor, Staff) else actor,
            action=action,
            target=target,
            detail=json.dumps(detail, default=str) if detail else None,
        )
    )


async def get_user(session: AsyncSession, username: str) -> StaffUser | None:
    """Load a user by (normalised) name."""
    result = await session.execute(
        select(StaffUser).where(StaffUser.username == username.strip().lower())
    )
    return result.scalar_one_or_none()


async def create_user(
    session: AsyncSession,
    username: str,
    password: str,
    role: str = "agent",
    display_name: str | None = None,
    actor: Staff | str = "cli",
) -> Staff:
    """Create an account (the caller commits).

    Args:
        session: The database session.
        username: Sign-in name.
        password: Password (checked against the policy).
        role: "agent" or "supervisor".
        display_name: Shown to callers; without one they see "a hotline adviser".
        actor: Who is creating it (for the audit log).

    Returns:
        The new member.

    Raises:
        AccountError: If the name is taken or invalid, or the role is unknown.
        PasswordPolicyError: If the password is refused.

    """
    name = normalise_username(username)
    if role not in STAFF_ROLES:
        raise AccountError(f"role must be one of: {', '.join(STAFF_ROLES)}")
    check_policy(password)
    if await get_user(session, name) is not None:
        raise AccountError(f"user {name!r} already exists")
    user = StaffUser(
        username=name,
        display_name=" ".join((display_name or "").split())[:200],
        role=role,
        password_hash=await hash_password_async(password),
        active=True,
        created_at=utcnow(),
    )
    session.add(user)
    await session.flush()
    await audit(session, actor, "staff.create", f"staff:{name}", role=role)
    return _staff(user)


async def list_users(session: AsyncSession) -> list[StaffUser]:
    """All accounts, by name."""
    result = await session.execute(select(StaffUser).order_by(StaffUser.username))
    return list(result.scalars())


async def disable_user(session: AsyncSession, username: str, actor: Staff | str = "cli") -> None:
    """Disable an account and end its sessions (the caller commits).

    Raises:
        AccountError: If there is no such user.

    """
    user = await get_user(session, username)
    if user is None:
        raise AccountError(f"no user {username!r}")
    user.active = False
    await session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))
    await audit(session, actor, "staff.disable", f"staff:{user.username}")


async def set_password(
    session: AsyncSession, username: str, password: str, actor: Staff | str = "cli"
) -> None:
    """Set a new password, re-enable the account and end its sessions (caller commits).

    Raises:
        AccountError: If there is no such user.
        PasswordPolicyError: If the password is refused.

    """
    check_policy(password)
    user = await get_user(session, username)
    if user is None:
        raise AccountError(f"no user {username!r}")
    user.password_hash = await hash_password_async(password)
    user.active = True
    await session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))
    # A new password also clears the lockout: the supervisor has checked who this is.
    await session.execute(delete(LoginAttempt).where(LoginAttempt.username == user.username))
    await audit(session, actor, "staff.set_password", f"staff:{user.username}")


async def recent_failures(
    session: AsyncSession,
    username: str | None,
    window_seconds: int,
    now: dt.datetime,
    remote: str | None = None,
) -> int:
    """Failed sign-ins within the window, for a user name, an address or both.

    Args:
        session: The database session.
        username: Count this user name's failures (None: any name).
        window_seconds: How far back to count.
        now: The current time.
        remote: Count only failures from this address (None: any address).

    Returns:
        The failures since the window began, or since the name's last success
        from the same address when there is one.
    """
    since = now - dt.timedelta(seconds=window_seconds)

    def matching(query: Any) -> Any:
        if username is not None:
            query = query.where(LoginAttempt.username == username)
        if remote is not None:
            query = query.where(LoginAttempt.remote == remote)
        return query

    if username is not None:
        last_ok = (
            await session.execute(
                matching(select(func.max(LoginAttempt.at))).where(LoginAttempt.success.is_(True))
            )
        ).scalar_one_or_none()
        if last_ok is not None and as_utc(last_ok) > since:
            since = as_utc(last_ok)
    count = await session.execute(
        matching(select(func.count()).select_from(LoginAttempt)).where(
            LoginAttempt.success.is_(False), LoginAttempt.at > since
        )
    )
    return int(count.scalar_one())


async def login(
    session: AsyncSession,
    username: str,
    password: str,
    *,
    remote: str | None,
    max_failures: int,
    window_seconds: int,
    session_seconds: int,
    max_address_failures: int | None = None,
) -> LoginResult:
    """Check credentials, with lockout, and open a session (commits).

    A user name with `max_failures` failures from one address within
    `window_seconds` is locked for that address: even the right password is
    refused there until the window has passed, while the member can still sign
    in from anywhere else, so a stranger cannot lock an adviser out. An address
    with `max_address_failures` failures in the window, whatever the names, is
    refused altogether (password spraying). Unknown names are throttled the same
    way, so lockout does not reveal which exist.

    Args:
        session: The database session.
        username: As typed.
        password: As typed.
        remote: Client address (for the audit log).
        max_failures: Failures allowed for one name from one address in the window.
        window_seconds: The window.
        session_seconds: Lifetime of the new session.
        max_address_failures: Failures allowed from one address in the window
            (default: four times `max_failures`).

    Returns:
        The result: a token and session, or `locked`, or neither (bad credentials).

    """
    name = username.strip().lower()[:80]
    now = utcnow()
    address_limit = max_address_failures or 4 * max_failures
    address = remote or ""
    locked = (
        await recent_failures(session, name, window_seconds, now, address) >= max_failures
        or await recent_failures(session, None, window_seconds, now, address) >= address_limit
    )
    if locked:
        await audit(session, name or "?", "auth.locked", f"staff:{name}", remote=remote)
        await session.commit()
        return LoginResult(locked=True)
    user = await get_user(session, name) if name else None
    usable = user is not None and bool(user.active)
    ok = await verify_password_async(user.password_hash if usable and user else None, password)
    session.add(LoginAttempt(username=name, remote=address, at=now, success=ok))
    if not ok or user is None:
        await audit(session, name or "?", "auth.failed", f"staff:{name}", remote=remote)
        await session.commit()
        return LoginResult()
    if needs_rehash(str(user.password_hash)):
        user.password_hash = await hash_password_async(password)
    user.last_login_at = now
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    hashed = token_hash(token)
    session.add(
        StaffSession(
            token_hash=hashed,
            user_id=user.id,
            csrf_token=csrf,
            created_at=now,
            expires_at=now + dt.timedelta(seconds=session_seconds),
        )
    )
    staff = _staff(user)
    await audit(session, staff, "auth.login", f"staff:{name}", remote=remote)
    await session.commit()
    return LoginResult(token=token, session=AuthSession(staff, csrf, hashed))


async def session_for_token(session: AsyncSession, token: str) -> AuthSession | None:
    """The valid session for a token (None if unknown, expired or the user is disabled)."""
    if not token or len(token) > 200:
        return None
    hashed = token_hash(token)
    row = (
        await session.execute(
            select(StaffSession, StaffUser)
            .join(StaffUser, StaffUser.id == StaffSession.user_id)
            .where(StaffSession.token_hash == hashed)
        )
    ).one_or_none()
    if row is None:
        return None
    stored, user = row
    if not user.active or as_utc(stored.expires_at) <= utcnow():
        return None
    return AuthSession(_staff(user), str(stored.csrf_token), hashed)


async def logout(session: AsyncSession, auth: AuthSession) -> None:
    """End a session (commits)."""
    await session.execute(delete(StaffSession).where(StaffSession.token_hash == auth.token_hash))
    await audit(session, auth.staff, "auth.logout", f"staff:{auth.staff.username}")
    await session.commit()


async def ensure_admin(
    session: AsyncSession, username: str, password: str | None
) -> tuple[str, str | None]:
    """Make sure the first supervisor exists (commits).

    Args:
        session: The database session.
        username: `HOTLINE_ADMIN_USER`.
        password: `HOTLINE_ADMIN_PASSWORD`; when None and the user is new, a random
            password is generated and returned (to be printed once).

    Returns:
        (what happened: "created" / "updated" / "exists", generated password or None).

    """
    name = normalise_username(username)
    user = await get_user(session, name)
    generated = None
    if user is None:
        if password is None:
            generated = password = secrets.token_urlsafe(18)
        await create_user(session, name, password, "supervisor", actor="ensure-admin")
        await session.commit()
        return "created", generated
    outcome = "exists"
    if user.role != "supervisor" or not user.active:
        await session.execute(
            update(StaffUser).where(StaffUser.id == user.id).values(role="supervisor", active=True)
        )
        outcome = "updated"
    if password is not None and not await verify_password_async(str(user.password_hash), password):
        # The environment is the source of truth for the first supervisor's password.
        await set_password(session, name, password, actor="ensure-admin")
        outcome = "updated"
    await session.commit()
    return outcome, None
