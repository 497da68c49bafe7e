"""CSV validation, import and export of the awards register (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.__main__ import main
from bot.awards.commands import export_csv, import_file, open_session
from bot.awards.csv_io import COLUMNS, amount_gbp_pence, parse_csv_text, rows_to_csv
from bot.config import Settings
from bot.db.models import Alias, Award, AwardSupplier, ProgrammeFigure, Recipient, Supplier
from tests.conftest import SEED_CSV

TODAY = dt.date(2024, 1, 1)
HEADER = ",".join(COLUMNS)
GOOD = (
    '"Spiral Health CIC","Blackpool Teaching Hospitals NHS Foundation Trust","health",45000,'
    '"Make it Happen",yes,live,"North West",2013-02-15,"expansion advice","release"'
)


def csv_text(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


def test_seed_file_is_valid() -> None:
    result = parse_csv_text(SEED_CSV.read_text(encoding="utf-8"), TODAY)
    assert result.errors == []
    assert len(result.rows) == 7
    threebm = next(r for r in result.rows if r.recipient.startswith("3BM"))
    assert threebm.amount_pence == 5_585_200
    assert (threebm.announced_on, threebm.announced_precision) == (dt.date(2012, 1, 1), "year")
    oldham = next(r for r in result.rows if r.recipient.startswith("Oldham"))
    assert [s.name for s in oldham.suppliers] == ["Mouchel", "SCA Group", "Turning Point"]
    # "yes" for a bid of three: at least one SME, but not known which.
    assert oldham.sme_supplier == "yes"
    assert {s.sme for s in oldham.suppliers} == {"unknown"}


def test_every_bad_row_is_reported_with_its_line_and_reason() -> None:
    text = csv_text(
        GOOD,
        '"","Knowsley Council","youth services",93000,"X",unknown,exploring,"North West",'
        '2013,"","src"',
        '"B","Body","arts",-5,"X",unknown,exploring,"North West",2013,"","src"',
        '"C","Body","arts",12.345,"X",maybe,retired,"Narnia",2013-02-30,"",""',
        '"D","Body","arts","£1,000","X; ; Y",unknown,live,"London",2012,"","src"',
        '"E","Body","arts",1000',
    )
    result = parse_csv_text(text, TODAY)
    messages = [str(error) for error in result.errors]
    assert "line 3: recipient is empty" in messages
    assert any(m.startswith("line 4: amount_gbp must be more than zero") for m in messages)
    line5 = [m for m in messages if m.startswith("line 5:")]
    assert any("more than two decimal places" in m for m in line5)
    assert any("sme_supplier 'maybe'" in m for m in line5)
    assert any("stage 'retired'" in m for m in line5)
    assert any("region 'Narnia'" in m for m in line5)
    assert any("announced '2013-02-30'" in m for m in line5)
    assert any("source is empty" in m for m in line5)
    assert any(m.startswith("line 6: suppliers has an empty name") for m in messages)
    assert "line 7: expected 11 fields, found 4" in messages
    assert result.bad_lines == [3, 4, 5, 6, 7]
    assert [row.line for row in result.rows] == [2]


def test_line_numbers_count_quoted_newlines() -> None:
    multi_line = GOOD.replace('"expansion advice"', '"expansion\nadvice\nover three lines"')
    bad = GOOD.replace("45000", "lots").replace("Spiral Health CIC", "Other")
    result = parse_csv_text(csv_text(multi_line, bad), TODAY)
    assert [str(e) for e in result.errors] == [
        "line 5: amount_gbp 'lots' is not a number of pounds"
    ]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "line 1: the file is empty; expected a header row"),
        ("recipient,amount_gbp\nA,1\n", "line 1: missing column(s): public_body"),
    ],
)
def test_header_problems(text: str, reason: str) -> None:
    errors = [str(e) for e in parse_csv_text(text, TODAY).errors]
    assert errors and errors[0].startswith(reason)


def test_duplicate_rows_and_future_dates() -> None:
    future = GOOD.replace("Spiral Health CIC", "Future").replace("2013-02-15", "2099-01-01")
    result = parse_csv_text(csv_text(GOOD, GOOD, future), TODAY)
    messages = [str(e) for e in result.errors]
    assert (
        "line 3: duplicate of line 2 (same recipient, public body and announcement date)"
        in messages
    )
    assert "line 4: announced '2099-01-01' is in the future" in messages


@pytest.mark.parametrize(
    ("raw", "pence"),
    [("93000", 9_300_000), ("93,000", 9_300_000), ("£93,000", 9_300_000), ("55852.5", 5_585_250)],
)
def test_amounts_are_exact(raw: str, pence: int) -> None:
    assert amount_gbp_pence(raw) == pence


def test_per_supplier_sme_flags_round_trip() -> None:
    row = GOOD.replace('"Make it Happen",yes', '"Make it Happen; Mouchel","yes;no"')
    parsed = parse_csv_text(csv_text(row), TODAY)
    assert parsed.errors == []
    assert [(s.name, s.sme) for s in parsed.rows[0].suppliers] == [
        ("Make it Happen", "yes"),
        ("Mouchel", "no"),
    ]
    again = parse_csv_text(rows_to_csv(parsed.rows), TODAY)
    assert again.rows == parsed.rows
    mismatch = GOOD.replace('"Make it Happen",yes', '"Make it Happen; Mouchel","yes;no;no"')
    assert "3 values for 2 suppliers" in str(parse_csv_text(csv_text(mismatch), TODAY).errors[0])


def test_export_round_trips_the_seed() -> None:
    parsed = parse_csv_text(SEED_CSV.read_text(encoding="utf-8"), TODAY)
    assert parse_csv_text(rows_to_csv(parsed.rows), TODAY).rows == parsed.rows


# --- importing into the database (both backends) --------------------------------------


async def _snapshot(settings: Settings) -> dict[str, object]:
    async with open_session(settings) as session:
        awards = (await session.execute(select(Award).order_by(Award.id))).scalars().all()
        links = (
            await session.execute(
                select(AwardSupplier.award_id, AwardSupplier.supplier_id, AwardSupplier.sme)
            )
        ).all()
        aliases = (await session.execute(select(Alias.kind, Alias.alias, Alias.canonical))).all()
        return {
            "awards": [
                (a.id, a.recipient_id, a.amount_pence, a.updated_at, a.source, a.sme_supplier)
                for a in awards
            ],
            "links": sorted(links),
            "aliases": sorted(aliases),
            "suppliers": (await session.execute(select(func.count(Supplier.id)))).scalar_one(),
        }


async def test_import_is_idempotent(db_settings: Settings) -> None:
    first = await import_file(db_settings, SEED_CSV, write_entities=False)
    assert first.report is not None
    assert (first.report.added, first.report.updated) == (7, 0)
    before = await _snapshot(db_settings)
    second = await import_file(db_settings, SEED_CSV, write_entities=False)
    assert second.report is not None
    assert (second.report.added, second.report.updated, second.report.unchanged) == (0, 0, 7)
    assert not second.report.changed
    assert await _snapshot(db_settings) == before
    assert before["suppliers"] == 10  # Mutual Ventures appears twice but is one supplier


async def test_reimporting_a_changed_row_updates_it(db_settings: Settings, tmp_path: Path) -> None:
    await import_file(db_settings, SEED_CSV, write_entities=False)
    changed = SEED_CSV.read_text(encoding="utf-8").replace(
        '20000,"Mutual Ventures",yes', '21000,"Mutual Ventures; Mouchel","yes;no"'
    )
    path = tmp_path / "changed.csv"
    path.write_text(changed, encoding="utf-8")
    outcome = await import_file(db_settings, path, write_entities=False)
    assert outcome.report is not None
    assert (outcome.report.added, outcome.report.updated, outcome.report.unchanged) == (0, 1, 6)
    exported = await export_csv(db_settings)
    assert "21000,Mutual Ventures; Mouchel,yes;no" in exported


async def test_export_then_import_changes_nothing(db_settings: Settings, tmp_path: Path) -> None:
    await import_file(db_settings, SEED_CSV, write_entities=False)
    path = tmp_path / "export.csv"
    path.write_text(await export_csv(db_settings), encoding="utf-8")
    outcome = await import_file(db_settings, path, write_entities=False)
    assert outcome.report is not None and not outcome.report.changed


async def test_programme_figures_are_seeded_by_the_migration(db_settings: Settings) -> None:
    async with open_session(db_settings) as session:
        figures = {f.name: f for f in (await session.execute(select(ProgrammeFigure))).scalars()}
    assert figures["contracts_awarded"].value == 21
    assert figures["contracts_to_smes"].value == 14
    assert (figures["support_procured"].value, figures["support_procured"].unit) == (
        100_000_000,
        "pence",
    )
    assert figures["support_procured"].approximate is True
    assert all(f.source and f.as_of == dt.date(2013, 2, 15) for f in figures.values())


# --- the command line (sync tests: it runs its own event loop) ----------------------


def _count(settings: Settings) -> int:
    import asyncio

    async def count() -> int:
        async with open_session(settings) as session:
            return int((await session.execute(select(func.count(Award.id)))).scalar_one())

    return asyncio.run(count())


def _bad_file(tmp_path: Path) -> Path:
    text = SEED_CSV.read_text(encoding="utf-8").splitlines()
    text[3] = text[3].replace(",46000,", ",forty-six,")  # line 4
    text[6] = text[6].replace(",developing,", ",dormant,")  # line 7
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    return path


def test_cli_rejects_a_file_with_errors(
    sqlite_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["awards", "import", str(_bad_file(tmp_path))], settings=sqlite_settings)
    err = capsys.readouterr().err
    assert code == 1
    assert "line 4: amount_gbp 'forty-six' is not a number of pounds" in err
    assert "line 7: stage 'dormant' must be one of exploring, developing, live" in err
    assert "nothing imported" in err
    assert _count(sqlite_settings) == 0


def test_cli_skip_invalid_imports_the_rest(
    sqlite_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["awards", "import", str(_bad_file(tmp_path)), "--skip-invalid"], settings=sqlite_settings
    )
    out = capsys.readouterr()
    assert code == 0
    assert "line 4: amount_gbp 'forty-six' is not a number of pounds (skipped)" in out.err
    assert "added 5, updated 0, unchanged 0, skipped 2 invalid" in out.out
    assert _count(sqlite_settings) == 5
    assert sqlite_settings.lookup_file.exists()  # regenerated after a change


def test_cli_dry_run_and_idempotent_reimport(
    sqlite_settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["awards", "import", str(SEED_CSV), "--dry-run"], settings=sqlite_settings) == 0
    assert "dry run, nothing saved: would have added 7" in capsys.readouterr().out
    assert _count(sqlite_settings) == 0
    assert main(["awards", "import", str(SEED_CSV)], settings=sqlite_settings) == 0
    assert main(["awards", "import", str(SEED_CSV)], settings=sqlite_settings) == 0
    assert "added 0, updated 0, unchanged 7" in capsys.readouterr().out
    assert _count(sqlite_settings) == 7


def test_cli_export_entities_and_usage(
    sqlite_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["seed"], settings=sqlite_settings) == 0
    assert main(["seed"], settings=sqlite_settings) == 0  # already seeded: no-op
    out_file = tmp_path / "out.csv"
    assert main(["awards", "export", str(out_file)], settings=sqlite_settings) == 0
    assert (
        parse_csv_text(out_file.read_text(encoding="utf-8"), TODAY).rows
        == parse_csv_text(SEED_CSV.read_text(encoding="utf-8"), TODAY).rows
    )
    assert main(["awards", "entities", "--check"], settings=sqlite_settings) == 0
    sqlite_settings.lookup_file.write_text("stale", encoding="utf-8")
    assert main(["awards", "entities", "--check"], settings=sqlite_settings) == 1
    assert main(["awards", "import", str(tmp_path / "missing.csv")], settings=sqlite_settings) == 2
    with pytest.raises(SystemExit) as exit_info:
        main(["awards", "frobnicate"], settings=sqlite_settings)
    assert exit_info.value.code == 2
    capsys.readouterr()


def test_recipient_names_are_stored_once(sqlite_settings: Settings) -> None:
    import asyncio

    assert main(["seed"], settings=sqlite_settings) == 0

    async def names() -> list[str]:
        async with open_session(sqlite_settings) as session:
            return list((await session.execute(select(Recipient.name))).scalars())

    assert len(asyncio.run(names())) == 7
