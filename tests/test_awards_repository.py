"""Queries over the awards register, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from bot.awards.aliases import derive_aliases, derive_place, parse_alias_file
from bot.awards.commands import lookup_yaml
from bot.awards.matching import NameIndex, find_mentions
from bot.awards.repository import (
    AwardQuery,
    awards_by_ids,
    facets,
    load_name_indexes,
    programme_figures,
    register_totals,
    search_awards,
)
from bot.awards.timing import time_lookups
from bot.config import Settings
from bot.db.models import metadata


async def recipients(sessions: sessionmaker, **query: object) -> list[str]:
    async with sessions() as session:
        result = await search_awards(session, AwardQuery(**query))  # type: ignore[arg-type]
    return [award.recipient for award in result.awards]


async def test_by_recipient_alias_and_typo(sessions: sessionmaker) -> None:
    knowsley = "Knowsley Youth Services and Knowsley Youth Rights and Participation Services"
    assert await recipients(sessions, recipient="Knowsley Youth Services") == [knowsley]
    assert await recipients(sessions, recipient="knowsly") == [knowsley]
    assert await recipients(sessions, recipient="3BM") == ["3BM (Three Borough Mutual)"]
    assert await recipients(sessions, recipient="Three Borough Mutual") == [
        "3BM (Three Borough Mutual)"
    ]
    assert await recipients(sessions, recipient="spiral health") == ["Spiral Health CIC"]


async def test_by_place_region_sector_supplier(sessions: sessionmaker) -> None:
    assert await recipients(sessions, place="Oldham") == ["Oldham Council adult social care"]
    assert await recipients(sessions, place="Blackpool") == [
        "Blackpool Council youth services",
        "Spiral Health CIC",
    ]
    # The full name of a body selects that body only.
    assert await recipients(
        sessions, place="Blackpool Teaching Hospitals NHS Foundation Trust"
    ) == ["Spiral Health CIC"]
    assert await recipients(sessions, place="Hammersmith and Fulham") == [
        "3BM (Three Borough Mutual)"
    ]
    assert len(await recipients(sessions, region="the North West")) == 4
    assert await recipients(sessions, region="north-west") == await recipients(
        sessions, region="North West"
    )
    assert await recipients(sessions, sector="youth services") == [
        "Blackpool Council youth services",
        "Knowsley Youth Services and Knowsley Youth Rights and Participation Services",
    ]
    assert await recipients(sessions, sector="schools") == ["3BM (Three Borough Mutual)"]
    assert await recipients(sessions, supplier="Mutual Ventures") == [
        "Gloucestershire County Council adult education",
        "Hazlitt Arts Centre",
    ]
    assert await recipients(sessions, supplier="the Co-op") == [
        "Knowsley Youth Services and Knowsley Youth Rights and Participation Services"
    ]


async def test_amounts_dates_and_ordering(sessions: sessionmaker) -> None:
    assert await recipients(sessions, min_pence=4_000_001, order="largest") == [
        "Knowsley Youth Services and Knowsley Youth Rights and Participation Services",
        "3BM (Three Borough Mutual)",
        "Oldham Council adult social care",
        "Spiral Health CIC",
    ]
    assert await recipients(sessions, max_pence=1_000_000) == ["Blackpool Council youth services"]
    assert await recipients(sessions, order="smallest", limit=1) == [
        "Blackpool Council youth services"
    ]
    in_2012 = await recipients(
        sessions, date_from=dt.date(2012, 1, 1), date_to=dt.date(2012, 12, 31)
    )
    assert len(in_2012) == 3
    # A year-only date (stored as 1 January) must not match "January 2012".
    assert (
        await recipients(sessions, date_from=dt.date(2012, 1, 1), date_to=dt.date(2012, 1, 31))
        == []
    )
    assert (
        len(
            await recipients(sessions, date_from=dt.date(2013, 2, 15), date_to=dt.date(2013, 2, 15))
        )
        == 4
    )
    assert await recipients(
        sessions, region="North West", min_pence=4_500_000, max_pence=5_000_000
    ) == ["Oldham Council adult social care", "Spiral Health CIC"]


async def test_unknown_names_match_nothing_and_are_reported(sessions: sessionmaker) -> None:
    async with sessions() as session:
        result = await search_awards(session, AwardQuery(place="Liverpool", sector="youth"))
    assert result.awards == [] and result.total == 0
    assert result.unmatched == {"place": "Liverpool"}
    assert result.resolved == {"sector": ["youth services"]}


async def test_pagination_totals_and_follow_up_ids(sessions: sessionmaker) -> None:
    async with sessions() as session:
        page = await search_awards(session, AwardQuery(order="largest", limit=3, offset=3))
        totals = await register_totals(session)
        ids = [a.id for a in page.awards]
        again = await awards_by_ids(session, [*reversed(ids), 999_999])
        held = await facets(session)
        figures = await programme_figures(session)
    assert page.total == 7 and len(page.awards) == 3
    assert page.total_pence == totals.total_pence == 28_877_900
    assert (totals.count, totals.sme_count) == (7, 3)
    assert [a.id for a in again] == list(reversed(ids))
    assert held.regions == ["London", "North West", "South East", "South West"]
    assert figures["contracts_awarded"].value == 21


async def test_award_view_has_everything(sessions: sessionmaker) -> None:
    async with sessions() as session:
        result = await search_awards(session, AwardQuery(recipient="Spiral Health"))
    (award,) = result.awards
    assert award.public_body == "Blackpool Teaching Hospitals NHS Foundation Trust"
    assert award.place == "Blackpool"
    assert award.amount_pence == 4_500_000
    assert [(s.name, s.sme) for s in award.suppliers] == [("Make it Happen", "yes")]
    assert award.stage == "live" and award.region == "North West"
    assert "Cabinet Office press release" in award.source


async def test_lookup_yaml_is_valid_rasa_training_data(seeded_settings: Settings) -> None:
    from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader

    text = await lookup_yaml(seeded_settings)
    assert text == await lookup_yaml(seeded_settings)  # deterministic
    data = RasaYAMLReader().reads(text)
    tables = {table["name"]: table["elements"] for table in data.lookup_tables}
    assert set(tables) == {"recipient", "place", "sector", "supplier", "region"}
    assert "3BM" in tables["recipient"] and "Knowsley" in tables["place"]
    assert "Mutual Ventures" in tables["supplier"] and "the Co-op" in tables["supplier"]
    assert data.entity_synonyms["3BM"] == "3BM (Three Borough Mutual)"
    assert data.entity_synonyms["Three Borough Mutual"] == "3BM (Three Borough Mutual)"
    assert data.entity_synonyms["the Co-op"] == "The Co-operative"
    assert yaml.safe_load(text)["version"] == "3.1"


async def test_time_lookups(sessions: sessionmaker) -> None:
    timings = await time_lookups(sessions, repeats=2)
    assert timings.count == 20
    assert 0 < timings.p50_ms <= timings.p95_ms <= timings.max_ms
    assert "look-ups" in timings.summary()


def test_migrations_match_the_models(db_settings: Settings) -> None:
    engine = create_engine(db_settings.sync_database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection)
            assert compare_metadata(context, metadata) == []
    finally:
        engine.dispose()


# --- names and matching (no database) -----------------------------------------------


@pytest.mark.parametrize(
    ("name", "aliases"),
    [
        ("3BM (Three Borough Mutual)", ["3BM", "Three Borough Mutual"]),
        ("Spiral Health CIC", ["Spiral Health"]),
        ("Field Fisher Waterhouse LLP", ["Field Fisher Waterhouse"]),
        ("Bates Wells & Braithwaite", ["Bates Wells and Braithwaite"]),
        ("The Co-operative", ["Co-operative"]),
        ("Mutual Ventures", []),
    ],
)
def test_derived_aliases(name: str, aliases: list[str]) -> None:
    assert derive_aliases(name) == aliases


@pytest.mark.parametrize(
    ("body", "place"),
    [
        ("Knowsley Council", "Knowsley"),
        ("Blackpool Teaching Hospitals NHS Foundation Trust", "Blackpool"),
        ("Gloucestershire County Council", "Gloucestershire"),
        ("Hammersmith & Fulham Council", "Hammersmith & Fulham"),
        ("Maidstone Borough Council", "Maidstone"),
        ("London Borough of Camden", "Camden"),
    ],
)
def test_places_of_public_bodies(body: str, place: str) -> None:
    assert derive_place(body) == place


def test_alias_file_errors_are_clear() -> None:
    from bot.awards.aliases import AliasFileError

    with pytest.raises(AliasFileError, match="unknown kind 'recipients'"):
        parse_alias_file("recipients:\n  a: b\n")
    with pytest.raises(AliasFileError, match="must both be text"):
        parse_alias_file("supplier:\n  a: [1, 2]\n")


def test_find_mentions_in_free_text() -> None:
    indexes = [
        NameIndex.build(
            "recipient",
            [("Spiral Health CIC", "Spiral Health CIC"), ("Spiral Health", "Spiral Health CIC")],
        ),
        NameIndex.build("supplier", [("Mutual Ventures", "Mutual Ventures")]),
        NameIndex.build("sector", [("health", "health"), ("youth services", "youth services")]),
    ]
    found = find_mentions("who supported Spiral Helth and Mutual Ventres?", indexes)
    assert [(m.kind, m.canonical) for m in found] == [
        ("recipient", "Spiral Health CIC"),
        ("supplier", "Mutual Ventures"),
    ]
    assert find_mentions("what is a mutual?", indexes) == []


async def test_name_index_includes_aliases(sessions: sessionmaker) -> None:
    async with sessions() as session:
        indexes = await load_name_indexes(session)
    assert indexes["supplier"].match("FFW") == ["Field Fisher Waterhouse LLP"]
    assert indexes["region"].match("the south-west") == ["South West"]
    assert indexes["recipient"].match("Hazlit") == ["Hazlitt Arts Centre"]
    assert indexes["recipient"].match("zzzz") == []


async def test_committed_lookup_file_matches_the_seed(seeded_sqlite: Settings) -> None:
    # data/nlu/awards_lookup.yml is generated; regenerate it after changing the seed
    # CSV or the alias file: python -m bot awards entities (then retrain).
    committed = Settings.from_env({}).lookup_file.read_text(encoding="utf-8")
    assert committed == await lookup_yaml(seeded_sqlite), "run: python -m bot awards entities"
