"""The OpenAPI description of the JSON APIs, served at `GET /api/openapi.json`.

The description is written once, in `bot/web/openapi.yml` beside this module;
the app reads it at start-up and serves it as JSON (public: it describes the
calls, never a secret). `tests/test_openapi.py` checks it covers exactly the
`/api` and `/internal` routes the app registers, and `make api-fuzz` runs
schemathesis against the served copy.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from bot.web.context import WEB_DIR

SPEC_FILE: Path = WEB_DIR / "openapi.yml"
SPEC_PATH = "/api/openapi.json"
OPENAPI_JSON = web.AppKey("openapi_json", str)


def load_spec(path: Path = SPEC_FILE) -> dict[str, Any]:
    """Read the description.

    Args:
        path: The YAML file.

    Returns:
        The OpenAPI document.

    Raises:
        ValueError: If the file is not a YAML mapping.

    """
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        raise ValueError(f"{path} is not an OpenAPI document")
    return document


async def openapi_json(request: web.Request) -> web.Response:
    """`GET /api/openapi.json`: the description as JSON."""
    return web.Response(text=request.app[OPENAPI_JSON], content_type="application/json")


def setup_openapi(app: web.Application) -> None:
    """Read the description once and register its route.

    Args:
        app: The application.

    """
    # Serialised once: the file does not change while the app runs.
    app[OPENAPI_JSON] = json.dumps(load_spec())
    app.router.add_get(SPEC_PATH, openapi_json, name="api_openapi")
