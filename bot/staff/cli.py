"""`python -m bot staff ...`: manage console accounts from the command line.

    python -m bot staff ensure-admin         first supervisor from HOTLINE_ADMIN_USER /
                                             HOTLINE_ADMIN_PASSWORD (random password printed
                                             once if unset); run by the stack at start-up
    python -m bot staff add USER --role agent|supervisor [--name NAME] [--password-stdin]
    python -m bot staff list
    python -m bot staff disable USER
    python -m bot staff set-password USER [--password-stdin]

Passwords are read from a prompt (typed twice, not echoed) or one line of stdin,
never from the command line (it would end up in shell history and `ps`).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.staff import accounts
from bot.staff.passwords import PasswordPolicyError, check_policy

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
T = TypeVar("T")


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def _with_session(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    from bot.db.migrate import upgrade
    from bot.db.session import create_engine, create_sessionmaker

    upgrade(settings)  # idempotent; a fresh deployment has no staff tables yet

    async def run() -> T:
        engine = create_engine(settings)
        try:
            async with create_sessionmaker(engine)() as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def read_password(from_stdin: bool) -> str:
    """Read a new password from stdin (one line) or a prompt (twice).

    Raises:
        PasswordPolicyError: If it is refused or the two entries differ.

    """
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("New password: ")
        if getpass.getpass("Repeat it: ") != password:
            raise PasswordPolicyError("the two passwords differ")
    check_policy(password)
    return password


def cmd_ensure_admin(settings: Settings, args: argparse.Namespace) -> int:
    """Create (or repair) the first supervisor (`HOTLINE_ADMIN_USER`, `HOTLINE_ADMIN_PASSWORD`)."""
    username = settings.admin_user
    password = settings.admin_password or None
    try:
        if password is not None:
            check_policy(password)
        outcome, generated = _with_session(
            settings, lambda s: accounts.ensure_admin(s, username, password)
        )
    except (accounts.AccountError, PasswordPolicyError) as exc:
        _err(f"HOTLINE_ADMIN_USER / HOTLINE_ADMIN_PASSWORD: {exc}")
        return EXIT_USAGE
    if generated:
        print(
            f"created supervisor {username!r} with password: {generated}\n"
            "(shown once; change it with: python -m bot staff set-password "
            f"{username})"
        )
    else:
        print(f"supervisor {username!r}: {outcome}")
    return EXIT_OK


def cmd_add(settings: Settings, args: argparse.Namespace) -> int:
    """Add an account."""
    try:
        accounts.normalise_username(args.user)
        password = read_password(args.password_stdin)

        async def work(session: AsyncSession) -> accounts.Staff:
            staff = await accounts.create_user(
                session, args.user, password, args.role, args.name, actor="cli"
            )
            await session.commit()
            return staff

        staff = _with_session(settings, work)
    except (accounts.AccountError, PasswordPolicyError) as exc:
        _err(str(exc))
        return EXIT_INVALID
    print(f"added {staff.role} {staff.username!r}")
    return EXIT_OK


def cmd_list(settings: Settings, args: argparse.Namespace) -> int:
    """List accounts."""
    users: list[Any] = _with_session(settings, accounts.list_users)
    print(f"{'user':<24} {'role':<11} {'active':<7} {'last sign-in':<20} name")
    for user in users:
        last = user.last_login_at.strftime("%Y-%m-%d %H:%M") if user.last_login_at else "never"
        active = "yes" if user.active else "no"
        print(f"{user.username:<24} {user.role:<11} {active:<7} {last:<20} {user.display_name}")
    return EXIT_OK


def cmd_disable(settings: Settings, args: argparse.Namespace) -> int:
    """Disable an account (its sessions end at once)."""

    async def work(session: AsyncSession) -> None:
        await accounts.disable_user(session, args.user, actor="cli")
        await session.commit()

    try:
        _with_session(settings, work)
    except accounts.AccountError as exc:
        _err(str(exc))
        return EXIT_INVALID
    print(f"disabled {args.user!r}")
    return EXIT_OK


def cmd_set_password(settings: Settings, args: argparse.Namespace) -> int:
    """Set a new password (re-enables the account, clears its lockout)."""
    try:
        password = read_password(args.password_stdin)

        async def work(session: AsyncSession) -> None:
            await accounts.set_password(session, args.user, password, actor="cli")
            await session.commit()

        _with_session(settings, work)
    except (accounts.AccountError, PasswordPolicyError) as exc:
        _err(str(exc))
        return EXIT_INVALID
    print(f"password set for {args.user!r}")
    return EXIT_OK


def add_parsers(groups: Any) -> None:
    """Add the `staff` command group to the main parser's sub-parsers."""
    staff = groups.add_parser("staff", help="console accounts").add_subparsers(
        dest="cmd", required=True
    )
    staff.add_parser(
        "ensure-admin", help="create the first supervisor from HOTLINE_ADMIN_USER/_PASSWORD"
    ).set_defaults(func=cmd_ensure_admin)
    add = staff.add_parser("add", help="add an account")
    add.add_argument("user")
    add.add_argument("--role", choices=("agent", "supervisor"), default="agent")
    add.add_argument("--name", help="name shown to callers (default: the user name)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.set_defaults(func=cmd_add)
    staff.add_parser("list", help="list accounts").set_defaults(func=cmd_list)
    disable = staff.add_parser("disable", help="disable an account")
    disable.add_argument("user")
    disable.set_defaults(func=cmd_disable)
    setpw = staff.add_parser("set-password", help="set a new password")
    setpw.add_argument("user")
    setpw.add_argument("--password-stdin", action="store_true", help="read it from stdin")
    setpw.set_defaults(func=cmd_set_password)
