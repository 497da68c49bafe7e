"""The published register: /awards, /api/awards, /awards.csv and /health (aiohttp_client)."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.awards.csv_io import parse_csv_text
from bot.config import Settings
from bot.web.app import create_app
from tests.conftest import SEED_CSV


@pytest.fixture
async def client(aiohttp_client: Any, seeded_settings: Settings) -> TestClient:
    return await aiohttp_client(create_app(seeded_settings))


async def api(client: TestClient, **params: str) -> dict[str, Any]:
    response = await client.get("/api/awards", params=params)
    assert response.status == 200, await response.text()
    return await response.json()


async def test_health(client: TestClient) -> None:
    response = await client.get("/health")
    assert response.status == 200
    assert await response.json() == {"status": "ok", "database": "ok"}


async def test_health_reports_a_missing_database(
    aiohttp_client: Any, sqlite_settings: Settings
) -> None:
    bad = sqlite_settings.with_database("postgresql://nobody@127.0.0.1:1/none")
    client = await aiohttp_client(create_app(bad))
    response = await client.get("/health")
    assert response.status == 503
    assert (await response.json())["database"] == "unavailable"


async def test_api_lists_everything_with_amounts_in_pence_and_words(client: TestClient) -> None:
    body = await api(client)
    assert (body["total"], body["page"], body["per_page"], body["pages"]) == (7, 1, 20, 1)
    assert body["total_amount"] == "£288,779"
    assert "published awards we know of" in body["caveat"]
    threebm = next(i for i in body["items"] if i["recipient"].startswith("3BM"))
    assert (threebm["amount_pence"], threebm["amount"]) == (5_585_200, "£55,852")
    assert threebm["announced"] == "2012" and threebm["source"].startswith("GOV.UK news")
    assert threebm["suppliers"] == [{"name": "Field Fisher Waterhouse LLP", "sme": "unknown"}]


async def test_api_filters(client: TestClient) -> None:
    north_west = await api(client, region="North West")
    assert north_west["total"] == 4
    assert {i["region"] for i in north_west["items"]} == {"North West"}
    assert (await api(client, region="the north west"))["total"] == 4  # case and "the"
    assert [
        i["recipient"]
        for i in (await api(client, sector="youth services", sort="largest"))["items"]
    ] == [
        "Knowsley Youth Services and Knowsley Youth Rights and Participation Services",
        "Blackpool Council youth services",
    ]
    assert (await api(client, supplier="Mutual Ventures"))["total"] == 2
    assert (await api(client, supplier="the Co-op"))["total"] == 1
    between = await api(client, min_amount="£20,000", max_amount="46000", sort="smallest")
    assert [i["amount"] for i in between["items"]] == ["£20,000", "£45,000", "£46,000"]
    assert (await api(client, region="South West", min_amount="50000"))["total"] == 0


async def test_api_pagination(client: TestClient) -> None:
    first = await api(client, per_page="3", sort="largest")
    second = await api(client, per_page="3", page="2", sort="largest")
    last = await api(client, per_page="3", page="3", sort="largest")
    beyond = await api(client, per_page="3", page="9")
    assert first["pages"] == 3 and first["total"] == 7
    assert [len(p["items"]) for p in (first, second, last, beyond)] == [3, 3, 1, 0]
    ids = [i["id"] for p in (first, second, last) for i in p["items"]]
    assert len(set(ids)) == 7
    assert first["items"][0]["amount"] == "£93,000"


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({"min_amount": "lots"}, "min_amount", "amount in pounds"),
        ({"max_amount": "-5"}, "max_amount", "amount in pounds"),
        ({"min_amount": "50000", "max_amount": "10000"}, "min_amount", "must not be more than"),
        ({"page": "0"}, "page", "at least 1"),
        ({"page": "two"}, "page", "whole number"),
        ({"per_page": "101"}, "per_page", "between 1 and 100"),
        ({"per_page": "0"}, "per_page", "between 1 and 100"),
        ({"sector": "basket weaving"}, "sector", "Unknown sector"),
        ({"region": "Narnia"}, "region", "Unknown region"),
        ({"supplier": "Acme"}, "supplier", "Unknown supplier"),
        ({"sort": "random"}, "sort", "sort must be one of"),
        ({"min_amount": "9" * 30}, "min_amount", "too large"),
    ],
)
async def test_api_bad_input_is_a_400_with_a_clear_error(
    client: TestClient, params: dict[str, str], field: str, words: str
) -> None:
    response = await client.get("/api/awards", params=params)
    assert response.status == 400
    body = await response.json()
    assert body["field"] == field
    assert words in body["error"]


async def test_page_lists_awards_with_caveat_and_sources(client: TestClient) -> None:
    response = await client.get("/awards")
    assert response.status == 200
    html = await response.text()
    assert '<h1 class="govuk-heading-xl">Details of successful awards</h1>' in html
    assert (
        "This register lists the published awards we know of. It is incomplete: "
        "21 contracts had been awarded by 15 February 2013." in html
    )
    assert html.count('class="govuk-table__row" data-award-id=') == 7
    assert "£93,000" in html and "£55,852" in html
    assert "Source: GOV.UK news" in html
    assert '<label class="govuk-label" for="region">Region</label>' in html
    assert '<label class="govuk-label" for="min_amount">Minimum amount</label>' in html
    assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_page_filters_and_errors(client: TestClient) -> None:
    html = await (await client.get("/awards", params={"region": "London"})).text()
    assert html.count("data-award-id=") == 1 and "3BM (Three Borough Mutual)" in html
    assert '<option value="London" selected>London</option>' in html
    html = await (await client.get("/awards", params={"min_amount": "1000000"})).text()
    assert "No published award in the register matches these filters." in html
    response = await client.get("/awards", params={"min_amount": "<b>x</b>"})
    assert response.status == 400
    html = await response.text()
    assert "There is a problem" in html and "govuk-input--error" in html
    assert 'value="&lt;b&gt;x&lt;/b&gt;"' in html  # escaped, kept in the field


async def test_csv_download_round_trips(client: TestClient) -> None:
    response = await client.get("/awards.csv")
    assert response.status == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="awards.csv"'
    exported = parse_csv_text(await response.text())
    assert exported.errors == []
    assert exported.rows == parse_csv_text(SEED_CSV.read_text(encoding="utf-8")).rows
