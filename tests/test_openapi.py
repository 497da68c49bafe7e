"""The OpenAPI description (bot/web/openapi.yml) matches the routes the app registers.

schemathesis checks the answers against it (`make api-fuzz`); these tests keep
the description from drifting from the router: every `/api` and `/internal`
route is described and nothing described is missing. The bugs schemathesis and
the description's review found have their regression tests at the end.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from jsonschema import Draft202012Validator

from bot.config import Settings
from bot.web.app import create_app
from bot.web.openapi import SPEC_PATH, load_spec
from tests.handoff_support import INTERNAL

METHODS = ("get", "put", "post", "delete", "patch", "options", "head")
PREFIXES = ("/api", "/internal")


def described(spec: dict[str, Any]) -> set[tuple[str, str]]:
    """(METHOD, path) of every operation in the description."""
    return {
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in METHODS
    }


def registered(settings: Settings) -> set[tuple[str, str]]:
    """(METHOD, path template) of the app's /api and /internal routes.

    aiohttp adds a HEAD beside each GET; a GET's description covers it.
    """
    app = create_app(settings)
    routes = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if path.startswith(PREFIXES) and route.method != "HEAD":
            routes.add((route.method, path))
    return routes


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def refs(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["$ref"]] if isinstance(value.get("$ref"), str) else []
        return found + [r for v in value.values() for r in refs(v)]
    if isinstance(value, list):
        return [r for v in value for r in refs(v)]
    return []


def test_every_api_and_internal_route_is_described_and_nothing_else(
    sqlite_settings: Settings,
) -> None:
    routes = registered(sqlite_settings)
    spec = described(load_spec())
    assert routes, "no routes found: the route walk is broken"
    assert routes - spec == set(), "routes the description lacks"
    assert spec - routes == set(), "described operations the app does not have"


def test_the_router_walk_sees_dynamic_routes(sqlite_settings: Settings) -> None:
    # The walk must see templates ({id}), not regexes, or the comparison above is empty-handed.
    routes = registered(sqlite_settings)
    assert ("GET", "/api/handoffs/{id}") in routes
    assert ("POST", "/internal/handoffs/{conversation_id}/messages") in routes


def test_references_resolve_and_schemas_are_valid_json_schema() -> None:
    spec = load_spec()
    for ref in refs(spec):
        assert ref.startswith("#/"), ref
        node: Any = spec
        for part in ref[2:].split("/"):
            assert part in node, f"{ref} does not resolve"
            node = node[part]
    for name, schema in spec["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema)  # raises, naming the problem
        assert name


def test_operations_are_named_once_and_describe_their_auth_failure() -> None:
    spec = load_spec()
    ids = [op["operationId"] for _, _, op in operations(spec)]
    assert len(ids) == len(set(ids))
    for method, path, op in operations(spec):
        # The middleware's 401 is part of every signed-in operation's answer.
        if op.get("security", spec["security"]) != []:
            assert "401" in op["responses"], (method, path)
        assert op.get("tags"), (method, path)


async def test_the_description_is_served_without_sign_in(
    aiohttp_client: Any, sqlite_settings: Settings
) -> None:
    client = await aiohttp_client(create_app(sqlite_settings))
    response = await client.get(SPEC_PATH)
    assert response.status == 200
    assert response.content_type == "application/json"
    assert await response.json() == load_spec()


# --- regressions: 500s found on the way to the description ------------------


@pytest.mark.parametrize("rating", ["³", "١", "9" * 5000, " 4 "])
async def test_feedback_rating_in_odd_digits_is_a_400_not_a_500(
    client: TestClient, rating: str
) -> None:
    # str.isdigit() accepts superscripts that int() refuses, and int() refuses
    # more than 4,300 digits: both were a ValueError, a 500. Only ASCII 1-5 counts.
    response = await client.post(
        "/internal/feedback", json={"conversation_id": "c", "rating": rating}, headers=INTERNAL
    )
    if rating.strip() == "4":
        assert response.status == 201
    else:
        assert response.status == 400
        assert (await response.json())["field"] == "rating"


@pytest.mark.parametrize("param", ["page", "per_page"])
@pytest.mark.parametrize("value", ["³", "²³", "١"])
async def test_awards_page_numbers_in_odd_digits_are_a_400(
    aiohttp_client: Any, seeded_settings: Settings, param: str, value: str
) -> None:
    client = await aiohttp_client(create_app(seeded_settings))
    response = await client.get("/api/awards", params={param: value})
    assert response.status == 400
    assert (await response.json())["field"] == param
