"""The widget's routes and the socket.io channel's message mapping (no Rasa needed)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

import pytest
from rasa.core.channels.socketio import SocketIOOutput
from rasa.shared.core.events import BotUttered

from bot.channels.socketio import HotlineSocketIOOutput
from bot.config import Settings
from bot.web.app import create_app
from bot.web.widget import WIDGET, WidgetSettings, content_security_policy


@pytest.fixture
async def client(aiohttp_client: Any, sqlite_settings: Settings) -> Any:
    app = create_app(sqlite_settings)
    app[WIDGET] = WidgetSettings("http://localhost:5005")
    return await aiohttp_client(app)


async def test_demo_page_embeds_the_widget_with_one_script_tag(client: Any) -> None:
    response = await client.get("/")
    assert response.status == 200
    html = await response.text()
    assert "Mutuals Support Programme" in html
    assert "0845 5390543" in html
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", html, re.S)
    assert scripts == [""], "only the widget's script tag, and nothing inline"
    assert '<script src="/widget.js" data-rasa-url="http://localhost:5005" defer>' in html
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "connect-src 'self' http://localhost:5005 ws://localhost:5005" in csp


async def test_widget_script_and_assets_are_served(client: Any) -> None:
    script = await client.get("/widget.js")
    assert script.status == 200
    assert script.content_type == "text/javascript"
    body = await script.text()
    assert "textContent" in body and "innerHTML" not in body
    css = await client.get("/static/widget/widget.css")
    assert css.status == 200
    vendor = ("/static/vendor/js/socket.io.min.js", "/static/vendor/govuk/govuk-frontend.min.css")
    for vendored in vendor:
        assert (await client.get(vendored)).status == 200, f"{vendored}: run `make frontend`"


async def test_config_json(client: Any) -> None:
    response = await client.get("/widget/config.json")
    assert await response.json() == {
        "rasa_url": "http://localhost:5005",
        "socketio_path": "/socket.io",
        "hotline_number": "0845 5390543",
    }


def widget_settings(env: dict[str, str]) -> WidgetSettings:
    return WidgetSettings.from_settings(Settings.from_env(env))


def test_widget_settings_from_env() -> None:
    assert widget_settings({}).rasa_url == "http://localhost:5005"
    assert widget_settings({"RASA_URL": "http://localhost:15005/"}).rasa_url == (
        "http://localhost:15005"
    )
    settings = widget_settings(
        {"RASA_URL": "http://x:1", "WIDGET_RASA_URL": "https://chat.example.org"}
    )
    assert settings.socket_origins == "https://chat.example.org wss://chat.example.org"
    assert "frame-ancestors 'none'" in content_security_policy(settings)
    with pytest.raises(ValueError, match="http"):
        widget_settings({"RASA_URL": "javascript:alert(1)"})
    with pytest.raises(ValueError, match="WIDGET_RASA_URL"):
        widget_settings({"WIDGET_RASA_URL": "javascript:alert(1)"})


class FakeServer:
    """Records what the channel emits."""

    def __init__(self) -> None:
        self.emitted: list[tuple[str, Any, str | None]] = []

    async def emit(
        self,
        event: str,
        data: Any = None,
        to: str | None = None,
        room: str | None = None,
        skip_sid: str | None = None,
        namespace: str | None = None,
        callback: Any = None,
        ignore_queue: bool = False,
    ) -> None:
        """Same signature as python-socketio 5.8's `AsyncServer.emit`."""
        self.emitted.append((event, data, room))


async def test_stock_channel_drops_the_sender_and_breaks_on_custom_typing() -> None:
    """What Rasa 3.6 does on its own: the reason for bot/channels/socketio.py."""
    sio = FakeServer()
    output = SocketIOOutput(sio, "bot_uttered")  # type: ignore[arg-type]
    staff = BotUttered("Hello, I'm Sam", metadata={"sender": "staff", "staff_name": "Sam"})
    await output.send_response("conv", staff.message())
    assert sio.emitted == [("bot_uttered", {"text": "Hello, I'm Sam"}, "conv")]
    typing = BotUttered(data={"custom": {"typing": True, "sender": "staff"}})
    with pytest.raises(TypeError):
        await output.send_response("conv", typing.message())


async def test_hotline_channel_forwards_staff_fields_and_custom_payloads() -> None:
    sio = FakeServer()
    output = HotlineSocketIOOutput(sio, "bot_uttered")  # type: ignore[arg-type]
    staff_fields = {"sender": "staff", "staff_name": "Sam"}
    staff = BotUttered("Hello\n\nHow can I help?", metadata=staff_fields)
    await output.send_response("conv", staff.message())
    typing = BotUttered(data={"custom": {"typing": True, "sender": "staff"}})
    await output.send_response("conv", typing.message())
    back = BotUttered("You're back with the automated assistant.", metadata={"handoff_state": None})
    await output.send_response("conv", back.message())
    buttons = BotUttered("Rate us", data={"buttons": [{"title": "5", "payload": "/rate"}]})
    await output.send_response("conv", buttons.message())
    stock = BotUttered(data={"custom": {"data": {"anything": 1}}})
    await output.send_response("conv", stock.message())
    assert [data for _, data, _ in sio.emitted] == [
        {"text": "Hello", "sender": "staff", "staff_name": "Sam"},
        {"text": "How can I help?", "sender": "staff", "staff_name": "Sam"},
        {"typing": True, "sender": "staff"},
        {"text": "You're back with the automated assistant.", "handoff_state": None},
        {
            "text": "Rate us",
            "quick_replies": [{"content_type": "text", "title": "5", "payload": "/rate"}],
        },
        {"anything": 1},
    ]
    assert {room for _, _, room in sio.emitted} == {"conv"}


def test_rasa_reads_a_token_that_starts_with_a_dash(tmp_path: Path) -> None:
    """A generated token may start with "-" (token_urlsafe): Rasa must still start."""
    from rasa.cli.arguments.run import add_server_arguments

    from bot.stack import StackConfig, services

    model = tmp_path / "model.tar.gz"
    model.write_bytes(b"")
    config = StackConfig.from_env({"RASA_MODEL": str(model), "RASA_TOKEN": "-Xy_1-2"})
    rasa = next(s for s in services(config) if s.name == "rasa")
    parser = argparse.ArgumentParser()
    add_server_arguments(parser)
    parsed, _ = parser.parse_known_args(rasa.argv[2:])
    assert parsed.auth_token == "-Xy_1-2"


def test_rasa_allows_every_cors_origin(tmp_path: Path) -> None:
    """Repeated `--cors` flags keep only the last origin (argparse, nargs="*")."""
    from rasa.cli.arguments.run import add_server_arguments

    from bot.stack import StackConfig, services

    model = tmp_path / "model.tar.gz"
    model.write_bytes(b"")
    config = StackConfig.from_env({"RASA_MODEL": str(model), "WEB_PORT": "8080"})
    rasa = next(s for s in services(config) if s.name == "rasa")
    parser = argparse.ArgumentParser()
    add_server_arguments(parser)
    parsed, _ = parser.parse_known_args(rasa.argv[2:])
    assert parsed.cors == ["http://localhost:8080", "http://127.0.0.1:8080"]
