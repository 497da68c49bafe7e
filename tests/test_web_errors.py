"""bot/web/errors.py: one middleware answers every domain, input and unexpected error."""

from __future__ import annotations

import ast
import logging
from pathlib import Path
from typing import Any, get_args

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.handoff.service import ErrorKind, HandoffError, HandoffRefused
from bot.web.awards import FilterError
from bot.web.errors import INTERNAL_ERROR, STATUS_BY_KIND, error_middleware
from bot.web.validation import InputError

ROOT = Path(__file__).resolve().parent.parent
SECRET = "db password is hunter2"


def test_every_kind_has_one_status() -> None:
    assert set(STATUS_BY_KIND) == set(get_args(ErrorKind))
    assert dict(STATUS_BY_KIND) == {
        "not_found": 404,
        "conflict": 409,
        "forbidden": 403,
        "refused": 409,
        "too_many": 429,
        "bad_gateway": 502,
    }


def _raiser(error: BaseException) -> Any:
    async def handler(request: web.Request) -> web.Response:
        raise error

    return handler


async def _ok(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


@pytest.fixture
async def client(aiohttp_client: Any) -> TestClient:
    app = web.Application(middlewares=[error_middleware])
    routes = {
        "/api/missing": HandoffError("not_found", "there is no handoff 7"),
        "/api/taken": HandoffError("conflict", "this conversation is with Alice"),
        "/api/rasa": HandoffError("bad_gateway", "The reply was not delivered"),
        "/internal/closed": HandoffRefused("closed", "The hotline is not staffed now."),
        "/internal/flood": HandoffRefused("too_many", "Too many.", kind="too_many"),
        "/internal/body": InputError("send a JSON object"),
        "/internal/field": InputError("phone must be a UK phone number", "phone"),
        "/api/awards": FilterError("page", "page must be a whole number"),
        "/api/bug": RuntimeError(SECRET),
        "/internal/bug": KeyError(SECRET),
        "/api/gone": web.HTTPForbidden(text="supervisors only"),
        "/page/bug": RuntimeError(SECRET),
    }
    for path, error in routes.items():
        app.router.add_get(path, _raiser(error))
    app.router.add_get("/api/fine", _ok)
    return await aiohttp_client(app)


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        ("/api/missing", 404, {"error": "there is no handoff 7"}),
        ("/api/taken", 409, {"error": "this conversation is with Alice"}),
        ("/api/rasa", 502, {"error": "The reply was not delivered"}),
        ("/internal/closed", 409, {"error": "The hotline is not staffed now.", "reason": "closed"}),
        ("/internal/flood", 429, {"error": "Too many.", "reason": "too_many"}),
        ("/internal/body", 400, {"error": "send a JSON object"}),
        ("/internal/field", 400, {"error": "phone must be a UK phone number", "field": "phone"}),
        ("/api/awards", 400, {"error": "page must be a whole number", "field": "page"}),
        ("/api/fine", 200, {"ok": True}),
    ],
)
async def test_errors_become_one_json_shape(
    client: TestClient, path: str, status: int, body: dict[str, Any]
) -> None:
    response = await client.get(path)
    assert response.status == status
    assert response.content_type == "application/json"
    assert await response.json() == body


@pytest.mark.parametrize("path", ["/api/bug", "/internal/bug"])
async def test_unexpected_errors_are_a_bare_500_logged_with_the_traceback(
    client: TestClient, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="bot.web.errors"):
        response = await client.get(path)
    assert response.status == 500
    text = await response.text()
    assert await response.json() == {"error": INTERNAL_ERROR}
    assert "hunter2" not in text and "Traceback" not in text and "Error" not in text
    logged = [r for r in caplog.records if r.name == "bot.web.errors"]
    assert len(logged) == 1 and logged[0].exc_info is not None
    assert path in logged[0].getMessage()


async def test_http_exceptions_and_pages_are_left_to_aiohttp(client: TestClient) -> None:
    forbidden = await client.get("/api/gone")
    assert (forbidden.status, await forbidden.text()) == (403, "supervisors only")
    page = await client.get("/page/bug")
    assert page.status == 500 and page.content_type != "application/json"
    assert "hunter2" not in await page.text()


# The hand-written answers the middleware replaced; only the console's and the awards
# page's HTML forms may still catch these errors (they render the message on the page).
_JSON_MODULES = ("api.py", "internal.py", "awards.py")
_CAUGHT = {"HandoffError", "HandoffRefused", "InputError", "FilterError"}
_HTML_HANDLERS = {"awards_page"}


def _caught_names(handler: ast.ExceptHandler) -> set[str]:
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return {k.attr if isinstance(k, ast.Attribute) else getattr(k, "id", "") for k in kinds}


def test_json_handlers_do_not_catch_what_the_middleware_answers() -> None:
    found = []
    for name in _JSON_MODULES:
        path = ROOT / "bot" / "web" / name
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if not isinstance(function, ast.AsyncFunctionDef | ast.FunctionDef):
                continue
            if function.name in _HTML_HANDLERS:
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.ExceptHandler) and _caught_names(node) & _CAUGHT:
                    found.append(f"{name}:{node.lineno} in {function.name}")
    assert not found, "raise, and let bot.web.errors answer: " + ", ".join(found)


def test_the_domain_names_no_http_status() -> None:
    # Domain errors take a kind; a number there, or a status=, is an HTTP status again.
    found = []
    for path in (ROOT / "bot").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if name not in ("HandoffError", "HandoffRefused"):
                continue
            numbers = [a for a in node.args if isinstance(a, ast.Constant)]
            if any(not isinstance(a.value, str) for a in numbers) or any(
                k.arg == "status" for k in node.keywords
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not found, "HTTP statuses in domain errors: " + ", ".join(found)
