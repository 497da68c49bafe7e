"""Command line: `python -m bot ...`.

    python -m bot db upgrade                 create or update the schema
    python -m bot seed                       upgrade, and import the seed CSV if empty
    python -m bot awards import FILE.csv [--skip-invalid] [--dry-run]
    python -m bot awards export [FILE.csv]   (stdout without FILE)
    python -m bot awards entities [--check]  write data/nlu/awards_lookup.yml
    python -m bot awards time-lookups        time register look-ups
    python -m bot web                        serve the awards pages on WEB_HOST:WEB_PORT
    python -m bot staff ensure-admin|add|list|disable|set-password   console accounts
    python -m bot handoff rules [--check]    write data/rules/handoff_relay.yml
    python -m bot privacy purge|find|export|erase|notice|export-nlu   (bot/privacy/cli.py)

Exit codes: 0 success, 1 validation errors (each printed as "line N: reason")
or a stale lookup file with --check, 2 usage or configuration errors.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from bot import production
from bot.config import ConfigError, Settings

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2


def _print_err(message: str) -> None:
    print(message, file=sys.stderr)


def cmd_db_upgrade(settings: Settings, args: argparse.Namespace) -> int:
    """Run Alembic migrations up to `args.revision`."""
    from bot.db.migrate import upgrade

    upgrade(settings, args.revision)
    print(f"database schema at {args.revision}")
    return EXIT_OK


def cmd_db_downgrade(settings: Settings, args: argparse.Namespace) -> int:
    """Run Alembic migrations down to `args.revision`."""
    from bot.db.migrate import downgrade

    downgrade(settings, args.revision)
    print(f"database schema at {args.revision}")
    return EXIT_OK


def cmd_awards_import(settings: Settings, args: argparse.Namespace) -> int:
    """Validate and import a CSV file."""
    from bot.awards.commands import import_file
    from bot.db.migrate import upgrade

    path = Path(args.file)
    if not path.is_file():
        _print_err(f"no such file: {path}")
        return EXIT_USAGE
    upgrade(settings)
    outcome = asyncio.run(
        import_file(
            settings,
            path,
            skip_invalid=args.skip_invalid,
            dry_run=args.dry_run,
            write_entities=not args.no_entities,
        )
    )
    for warning in outcome.parsed.warnings:
        _print_err(f"warning: {warning}")
    suffix = " (skipped)" if outcome.ok else ""
    for error in outcome.parsed.errors:
        _print_err(f"{error}{suffix}" if error.line else error.reason)
    if not outcome.ok:
        lines = len(outcome.parsed.bad_lines)
        _print_err(
            f"{path}: {lines} invalid line(s); nothing imported. Fix them, or use "
            "--skip-invalid to import the valid rows only."
        )
        return EXIT_INVALID
    assert outcome.report is not None  # noqa: S101 - ok implies a report
    for warning in outcome.report.warnings:
        _print_err(f"warning: {warning}")
    print(f"{path}: {outcome.report.summary()}")
    if outcome.entities_written:
        print(f"wrote {settings.lookup_file} (retrain the NLU model to use new names)")
    return EXIT_OK


def cmd_awards_export(settings: Settings, args: argparse.Namespace) -> int:
    """Export the register as CSV."""
    from bot.awards.commands import export_csv

    text = asyncio.run(export_csv(settings))
    if args.file in (None, "-"):
        sys.stdout.write(text)
    else:
        Path(args.file).write_text(text, encoding="utf-8")
        print(f"wrote {args.file}")
    return EXIT_OK


def cmd_awards_entities(settings: Settings, args: argparse.Namespace) -> int:
    """Write (or check) the generated NLU lookup tables."""
    from bot.awards.commands import lookup_yaml, write_entities_file

    target = Path(args.output) if args.output else settings.lookup_file
    if args.check:
        wanted = asyncio.run(lookup_yaml(settings))
        current = target.read_text(encoding="utf-8") if target.exists() else ""
        if current != wanted:
            _print_err(f"{target} is out of date: run python -m bot awards entities")
            return EXIT_INVALID
        print(f"{target} is up to date")
        return EXIT_OK
    asyncio.run(write_entities_file(settings, target))
    print(f"wrote {target}")
    return EXIT_OK


def cmd_awards_time(settings: Settings, args: argparse.Namespace) -> int:
    """Time register look-ups and print the statistics."""
    from bot.awards.timing import time_lookups
    from bot.db.session import create_engine, create_sessionmaker

    async def run() -> str:
        engine = create_engine(settings)
        try:
            timings = await time_lookups(create_sessionmaker(engine), repeats=args.repeats)
        finally:
            await engine.dispose()
        return timings.summary()

    print(asyncio.run(run()))
    return EXIT_OK


def cmd_seed(settings: Settings, args: argparse.Namespace) -> int:
    """Upgrade the schema and import the seed CSV when the register is empty."""
    from bot.awards.commands import award_count, write_entities_file
    from bot.db.migrate import upgrade

    upgrade(settings)
    if asyncio.run(award_count(settings)):
        print("register already has awards; seed skipped")
        if not settings.lookup_file.exists():
            asyncio.run(write_entities_file(settings))
        return EXIT_OK
    import_args = argparse.Namespace(
        file=str(settings.awards_csv), skip_invalid=False, dry_run=False, no_entities=False
    )
    return cmd_awards_import(settings, import_args)


def cmd_web(settings: Settings, args: argparse.Namespace) -> int:
    """Serve the awards pages and API."""
    from aiohttp import web

    from bot.web.app import create_app

    host = args.host or settings.web_host
    port = args.port or settings.web_port
    if not 0 < port < 65536:
        _print_err(f"--port must be between 1 and 65535, got {port}")
        return EXIT_USAGE
    settings = replace(settings, web_host=host, web_port=port)
    try:
        production.check(settings, os.environ)
    except ConfigError as error:
        _print_err(str(error))
        return EXIT_USAGE
    web.run_app(create_app(settings), host=host, port=port)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser (one sub-command group per concept).

    Returns:
        The parser; each leaf sets `func(settings, args) -> exit code`.

    """
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__.split("\n")[0])
    groups = parser.add_subparsers(dest="group", required=True, metavar="COMMAND")

    db = groups.add_parser("db", help="database schema").add_subparsers(dest="cmd", required=True)
    up = db.add_parser("upgrade", help="upgrade the schema (default: to head)")
    up.add_argument("revision", nargs="?", default="head")
    up.set_defaults(func=cmd_db_upgrade)
    down = db.add_parser("downgrade", help="downgrade the schema (default: to base)")
    down.add_argument("revision", nargs="?", default="base")
    down.set_defaults(func=cmd_db_downgrade)

    awards = groups.add_parser("awards", help="the awards register").add_subparsers(
        dest="cmd", required=True
    )
    imp = awards.add_parser("import", help="validate and import a CSV file")
    imp.add_argument("file")
    imp.add_argument("--skip-invalid", action="store_true", help="import the valid rows only")
    imp.add_argument(
        "--dry-run", action="store_true", help="report what would change; save nothing"
    )
    imp.add_argument("--no-entities", action="store_true", help="do not regenerate lookup tables")
    imp.set_defaults(func=cmd_awards_import)
    exp = awards.add_parser("export", help="export the register as CSV")
    exp.add_argument("file", nargs="?")
    exp.set_defaults(func=cmd_awards_export)
    ent = awards.add_parser("entities", help="write the NLU lookup tables from the register")
    ent.add_argument("--output", help="where to write (default data/nlu/awards_lookup.yml)")
    ent.add_argument("--check", action="store_true", help="exit 1 if the file is out of date")
    ent.set_defaults(func=cmd_awards_entities)
    tim = awards.add_parser("time-lookups", help="time register look-ups")
    tim.add_argument("--repeats", type=int, default=20)
    tim.set_defaults(func=cmd_awards_time)

    groups.add_parser("seed", help="upgrade and import the seed CSV if empty").set_defaults(
        func=cmd_seed
    )
    serve = groups.add_parser("web", help="serve the awards pages and API")
    serve.add_argument("--host", help="interface (default WEB_HOST, 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default WEB_PORT, 8080)")
    serve.set_defaults(func=cmd_web)
    from bot.handoff.rules import add_parsers as add_handoff_parsers
    from bot.privacy.cli import add_parsers as add_privacy_parsers
    from bot.staff.cli import add_parsers as add_staff_parsers

    add_staff_parsers(groups)
    add_handoff_parsers(groups)
    add_privacy_parsers(groups)
    return parser


def main(argv: Sequence[str] | None = None, settings: Settings | None = None) -> int:
    """Run the command line.

    Args:
        argv: Arguments (default `sys.argv[1:]`).
        settings: Settings to use instead of the environment's (tests).

    Returns:
        The exit code.

    """
    from bot.core import logmask

    logmask.install()  # personal data masked in every log record (issue 13)
    parser = build_parser()
    args = parser.parse_args(argv)
    if settings is None:
        try:
            settings = Settings.from_env()
        except ConfigError as exc:
            _print_err(f"configuration error: {exc}")
            return EXIT_USAGE
    return int(args.func(settings, args))


if __name__ == "__main__":
    sys.exit(main())
