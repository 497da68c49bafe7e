"""Hostile input (quotes, SQL, huge strings, emoji, NUL) is harmless everywhere.

User text is matched against register names in Python; only ids and numbers
reach SQL, as bound parameters. These tests send hostile values through the
repository (both backends), the actions and the web API, then check that
every table is intact.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from actions.awards import ActionAwardLookup, ActionAwardSource, ActionAwardTotals
from bot.awards.repository import AwardQuery, search_awards
from bot.config import Settings
from bot.db.models import Alias, Award, AwardSupplier, Recipient, Supplier
from bot.db.session import create_engine, create_sessionmaker
from bot.web.app import create_app
from tests.trackers import make_tracker

HOSTILE = [
    "'; DROP TABLE awards; --",
    "\"; DELETE FROM recipients WHERE '1'='1",
    "Robert'); DROP TABLE suppliers;--",
    "' OR 1=1 --",
    "%' OR name LIKE '%",
    'O\'Brien & "Sons" <script>alert(1)</script>',
    "x" * 10_000,
    "🎉💥 Knowsley 🎉" * 500,
    "\x00\x01 nul byte",
    "   ",
    "Ǩnøwšłęŷ",
]


async def counts(sessions: sessionmaker) -> dict[str, int]:
    async with sessions() as session:
        return {
            model.__tablename__: (
                await session.execute(select(func.count()).select_from(model))
            ).scalar_one()
            for model in (Award, Recipient, Supplier, AwardSupplier, Alias)
        }


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
async def test_repository_shrugs_off_hostile_names(sessions: sessionmaker, value: str) -> None:
    before = await counts(sessions)
    for field in ("recipient", "place", "region", "sector", "supplier"):
        async with sessions() as session:
            result = await search_awards(session, AwardQuery(**{field: value}))  # type: ignore[arg-type]
        # Nothing matches hostile text except, at most, a real name it contains.
        assert result.total <= 1
    assert await counts(sessions) == before


@pytest.mark.usefixtures("awards_actions")
@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
async def test_actions_shrug_off_hostile_entities(value: str, awards_actions: Settings) -> None:
    for action, intent in (
        (ActionAwardLookup(), "ask_award"),
        (ActionAwardTotals(), "ask_award_totals"),
        (ActionAwardSource(), "ask_award_source"),
    ):
        for entity in ("recipient", "place", "supplier", "sector", "region", "award_attribute"):
            dispatcher = CollectingDispatcher()
            tracker = make_tracker(
                value,
                intent,
                entities=[{"entity": entity, "value": value}],
                slots={"award_ids": [value]},
            )
            await action.run(dispatcher, tracker, {})
            for message in dispatcher.messages:
                text: Any = message.get("text") or ""
                assert "Sorry, I can't reach" not in text  # no database error
                assert len(text) < 3000  # hostile text is not echoed in full
    engine = create_engine(awards_actions)
    try:
        async with create_sessionmaker(engine)() as session:
            assert (await session.execute(select(func.count(Award.id)))).scalar_one() == 7
    finally:
        await engine.dispose()


WEB_HOSTILE = [*HOSTILE[:8], "y" * 2000]


@pytest.mark.parametrize("value", WEB_HOSTILE, ids=range(len(WEB_HOSTILE)))
async def test_web_api_shrugs_off_hostile_filters(
    aiohttp_client: Any, seeded_settings: Settings, sessions: sessionmaker, value: str
) -> None:
    client: TestClient = await aiohttp_client(create_app(seeded_settings))
    for field in ("sector", "region", "supplier", "min_amount", "max_amount", "page", "per_page"):
        response = await client.get("/api/awards", params={field: value})
        assert response.status == 400, (field, value[:40])
        if response.content_type == "application/json":
            body = await response.json()
            assert body["field"] == field and body["error"]
        else:  # a URL over 8 KB is refused by aiohttp's own parser, before any handler
            assert len(quote(value)) > 8000
        page = await client.get("/awards", params={field: value})
        assert page.status == 400
        assert "<script>alert(1)</script>" not in await page.text()
    assert (await counts(sessions))["awards"] == 7
