"""`python -m bot privacy ...`: retention, a person's data, the notice, the masked export.

    python -m bot privacy purge                 delete what is past its retention period now
    python -m bot privacy find QUERY            what is held for a conversation id or phone number
    python -m bot privacy export QUERY [FILE]   all of it as JSON (stdout without FILE), audited
    python -m bot privacy erase QUERY --yes     delete all of it from both databases, audited
    python -m bot privacy notice [--short]      the privacy notice as the settings make it
    python -m bot privacy export-nlu [FILE]     caller messages as NLU YAML, personal data masked

QUERY is a conversation id (`web:…`, `phone:…`, `rest:…`, a service's user id) or a
UK phone number. Exit codes: 0 done, 1 nothing found / not confirmed, 2 bad query.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import Settings
from bot.privacy import retention, subject, training
from bot.privacy.notice import privacy_notice
from bot.privacy.tracker import TrackerEvents

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
ACTOR = "cli"
T = TypeVar("T")


def _err(message: str) -> None:
    print(message, file=sys.stderr)


def _run(settings: Settings, work: Callable[[AsyncSession, TrackerEvents], Awaitable[T]]) -> T:
    from bot.db.migrate import upgrade
    from bot.db.session import create_engine, create_sessionmaker

    upgrade(settings)

    async def run() -> T:
        engine = create_engine(settings)
        tracker = TrackerEvents.from_settings(settings)
        try:
            async with create_sessionmaker(engine)() as session:
                return await work(session, tracker)
        finally:
            await tracker.close()
            await engine.dispose()

    return asyncio.run(run())


def cmd_purge(settings: Settings, args: argparse.Namespace) -> int:
    """Run the retention job now."""
    policy = retention.RetentionPolicy.from_settings(settings)
    report = _run(settings, lambda s, t: retention.purge(s, t, policy, actor=ACTOR))
    print(f"purged: {report.summary()}")
    return EXIT_OK


def _query(raw: str) -> subject.Query | None:
    try:
        return subject.parse_query(raw)
    except subject.SubjectError as error:
        _err(str(error))
        return None


def cmd_find(settings: Settings, args: argparse.Namespace) -> int:
    """Print what is held for a query."""
    query = _query(args.query)
    if query is None:
        return EXIT_USAGE
    found = _run(settings, lambda s, t: subject.find(s, t, query))
    for name, count in found.counts().items():
        print(f"{name}: {count}")
    for conversation_id in found.conversation_ids:
        print(f"conversation {conversation_id}")
    return EXIT_INVALID if found.empty else EXIT_OK


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    """Write everything held for a query as JSON (audited)."""
    query = _query(args.query)
    if query is None:
        return EXIT_USAGE

    async def work(session: AsyncSession, tracker: TrackerEvents) -> dict[str, Any]:
        found = await subject.find(session, tracker, query)
        await subject.record_export(session, ACTOR, found)
        return found.to_json()

    body = json.dumps(_run(settings, work), indent=2, ensure_ascii=False) + "\n"
    if args.file in (None, "-"):
        sys.stdout.write(body)
    else:
        Path(args.file).write_text(body, encoding="utf-8")
        print(f"wrote {args.file}")
    return EXIT_OK


def cmd_erase(settings: Settings, args: argparse.Namespace) -> int:
    """Delete everything held for a query (audited); needs --yes."""
    query = _query(args.query)
    if query is None:
        return EXIT_USAGE

    async def work(session: AsyncSession, tracker: TrackerEvents) -> dict[str, int] | None:
        found = await subject.find(session, tracker, query)
        if found.empty or not args.yes:
            for name, count in found.counts().items():
                print(f"{name}: {count}")
            return None
        return await subject.erase(session, tracker, found, ACTOR)

    erased = _run(settings, work)
    if erased is None:
        _err("nothing erased: " + ("nothing is held" if not args.yes else "add --yes"))
        return EXIT_INVALID
    print("erased: " + ", ".join(f"{name} {count}" for name, count in erased.items()))
    return EXIT_OK


def cmd_notice(settings: Settings, args: argparse.Namespace) -> int:
    """Print the privacy notice (or its short, spoken version)."""
    notice = privacy_notice(settings)
    if args.short:
        print(notice.short)
        return EXIT_OK
    print(notice.title)
    for section in notice.sections:
        print(f"\n{section.heading}")
        for paragraph in section.paragraphs:
            print(f"  {paragraph}")
    return EXIT_OK


def cmd_export_nlu(settings: Settings, args: argparse.Namespace) -> int:
    """Write the caller messages as masked NLU training data."""

    async def work(session: AsyncSession, tracker: TrackerEvents) -> str:
        return training.to_nlu_yaml(await training.masked_examples(tracker))

    text = _run(settings, work)
    if args.file in (None, "-"):
        sys.stdout.write(text)
    else:
        Path(args.file).write_text(text, encoding="utf-8")
        print(f"wrote {args.file}")
    return EXIT_OK


def add_parsers(groups: Any) -> None:
    """Add the `privacy` command group to the main parser's sub-parsers."""
    privacy = groups.add_parser("privacy", help="retention, erasure and access").add_subparsers(
        dest="cmd", required=True
    )
    privacy.add_parser("purge", help="delete what is past its retention period").set_defaults(
        func=cmd_purge
    )
    find = privacy.add_parser("find", help="what is held for a conversation or phone number")
    find.add_argument("query")
    find.set_defaults(func=cmd_find)
    export = privacy.add_parser("export", help="everything held, as JSON (audited)")
    export.add_argument("query")
    export.add_argument("file", nargs="?")
    export.set_defaults(func=cmd_export)
    erase = privacy.add_parser("erase", help="delete everything held (audited)")
    erase.add_argument("query")
    erase.add_argument("--yes", action="store_true", help="really erase")
    erase.set_defaults(func=cmd_erase)
    notice = privacy.add_parser("notice", help="print the privacy notice")
    notice.add_argument("--short", action="store_true", help="the phone line's short version")
    notice.set_defaults(func=cmd_notice)
    nlu = privacy.add_parser("export-nlu", help="caller messages as masked NLU training data")
    nlu.add_argument("file", nargs="?")
    nlu.set_defaults(func=cmd_export_nlu)
