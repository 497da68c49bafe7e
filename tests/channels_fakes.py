"""Fake messaging services on loopback, for the channel tests.

One aiohttp server, in its own thread, stands in for the parts of Twilio,
Telegram, Slack, Meta's Graph API and Microsoft's Bot Framework (login, keys
and connector) that live outside this machine. It records every call so tests
can check what the bot sent. `ChannelFakes.env` holds the channel settings that
point the running stack at it (live_stack adds them to the stack's environment).
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

BF_ISSUER = "https://api.botframework.com"
BF_KID = "fake-key-1"
BF_APP_TOKEN = "fake-app-token"  # noqa: S105 (a test value)


@dataclass
class Call:
    """One request the bot made to a fake service."""

    service: str
    path: str
    headers: dict[str, str]
    query: dict[str, str]
    body: dict[str, Any]


@dataclass
class ChannelFakes:
    """The running fake services and the settings that point Rasa at them."""

    base: str
    env: dict[str, str]
    bf_private_key: rsa.RSAPrivateKey
    calls: list[Call] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, call: Call) -> None:
        with self.lock:
            self.calls.append(call)

    def wait_for(self, match: Callable[[Call], bool], timeout: float = 30.0) -> Call:
        """The first recorded call that matches, waiting up to `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                found = [c for c in self.calls if match(c)]
            if found:
                return found[0]
            time.sleep(0.1)
        with self.lock:
            seen = [(c.service, c.path, c.body) for c in self.calls[-10:]]
        raise AssertionError(f"no matching call within {timeout} s; last calls: {seen}")

    def find(self, match: Callable[[Call], bool]) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if match(c)]

    def bf_token(self, service_url: str, **overrides: Any) -> str:
        """A Bot Framework bearer token signed with the fake Microsoft key."""
        now = int(time.time())
        claims = {
            "iss": BF_ISSUER,
            "aud": self.env["MICROSOFT_APP_ID"],
            "serviceurl": service_url,
            "nbf": now - 10,
            "iat": now - 10,
            "exp": now + 3600,
        }
        claims.update(overrides)
        return jwt.encode(claims, self.bf_private_key, algorithm="RS256", headers={"kid": BF_KID})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _body(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        data = await request.json()
        return data if isinstance(data, dict) else {"json": data}
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        form = await request.post()
        out: dict[str, Any] = {}
        for key in form:
            values = form.getall(key)
            out[key] = [str(v) for v in values] if len(values) > 1 else str(values[0])
        return out
    return {}


def _app(fakes: ChannelFakes) -> web.Application:
    async def record(request: web.Request, service: str) -> dict[str, Any]:
        body = await _body(request)
        fakes.record(Call(service, request.path, dict(request.headers), dict(request.query), body))
        return body

    async def twilio(request: web.Request) -> web.Response:
        body = await record(request, "twilio")
        return web.json_response(
            {"sid": "SM" + secrets.token_hex(16), "to": body.get("To"), "status": "queued"},
            status=201,
        )

    async def telegram(request: web.Request) -> web.Response:
        body = await record(request, "telegram")
        method = request.match_info["method"]
        if method == "sendMessage":
            chat = {"id": int(body.get("chat_id", 0)), "type": "private"}
            result: Any = {
                "message_id": 1,
                "date": int(time.time()),
                "chat": chat,
                "text": body.get("text", ""),
            }
        else:
            result = True
        return web.json_response({"ok": True, "result": result})

    async def slack(request: web.Request) -> web.Response:
        body = await record(request, "slack")
        return web.json_response({"ok": True, "channel": body.get("channel"), "ts": "1.000"})

    async def facebook(request: web.Request) -> web.Response:
        body = await record(request, "facebook")
        return web.json_response(
            {"recipient_id": body.get("recipient", {}).get("id"), "message_id": "m_1"}
        )

    async def bf_openid(_: web.Request) -> web.Response:
        return web.json_response(
            {
                "issuer": BF_ISSUER,
                "jwks_uri": f"{fakes.base}/botframework/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        )

    async def bf_keys(_: web.Request) -> web.Response:
        jwk = json.loads(RSAAlgorithm.to_jwk(fakes.bf_private_key.public_key()))
        jwk.update({"kid": BF_KID, "use": "sig", "endorsements": ["msteams", "emulator"]})
        return web.json_response({"keys": [jwk]})

    async def bf_token(request: web.Request) -> web.Response:
        await record(request, "botframework-login")
        return web.json_response(
            {"token_type": "Bearer", "expires_in": 3600, "access_token": BF_APP_TOKEN}
        )

    async def bf_activity(request: web.Request) -> web.Response:
        await record(request, "botframework")
        return web.json_response({"id": "activity-1"})

    app = web.Application()
    app.router.add_post("/twilio/2010-04-01/Accounts/{sid}/Messages.json", twilio)
    app.router.add_post("/telegram/bot{token}/{method}", telegram)
    app.router.add_post("/slack/api/{method}", slack)
    app.router.add_post("/facebook/{version}/me/messages", facebook)
    app.router.add_get("/botframework/openid", bf_openid)
    app.router.add_get("/botframework/keys", bf_keys)
    app.router.add_post("/botframework/token", bf_token)
    app.router.add_post("/botframework/connector/v3/conversations/{cid}/activities", bf_activity)
    return app


def _serve(app: web.Application, port: int, ready: threading.Event, stop: threading.Event) -> None:
    async def main() -> None:
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        ready.set()
        await asyncio.get_running_loop().run_in_executor(None, stop.wait)
        await runner.cleanup()

    asyncio.run(main())


@pytest.fixture(scope="session")
def channel_fakes() -> Iterator[ChannelFakes]:
    """The fake services, running for the whole session."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "TWILIO_ACCOUNT_SID": "AC" + secrets.token_hex(16),
        "TWILIO_AUTH_TOKEN": secrets.token_hex(16),
        "TWILIO_SMS_NUMBER": "+447700900000",
        "TWILIO_WHATSAPP_NUMBER": "+447700900001",
        "TWILIO_API_BASE": f"{base}/twilio",
        "HOTLINE_STAFF_NUMBER": "+442079460000",
        "TELEGRAM_TOKEN": "123456789:"
        + base64.urlsafe_b64encode(secrets.token_bytes(26)).decode().rstrip("=")[:35],
        "TELEGRAM_SECRET_TOKEN": secrets.token_urlsafe(24),
        "TELEGRAM_API_BASE": f"{base}/telegram",
        "SLACK_BOT_TOKEN": "xoxb-" + secrets.token_hex(8),
        "SLACK_SIGNING_SECRET": secrets.token_hex(16),
        "SLACK_API_BASE": f"{base}/slack/api/",
        "FACEBOOK_VERIFY_TOKEN": secrets.token_urlsafe(12),
        "FACEBOOK_APP_SECRET": secrets.token_hex(16),
        "FACEBOOK_PAGE_TOKEN": "EAA" + secrets.token_hex(12),
        "FACEBOOK_GRAPH_BASE": f"{base}/facebook",
        "MICROSOFT_APP_ID": "00000000-0000-4000-8000-" + secrets.token_hex(6),
        "MICROSOFT_APP_PASSWORD": secrets.token_urlsafe(16),
        "BOTFRAMEWORK_OPENID_URL": f"{base}/botframework/openid",
        "BOTFRAMEWORK_TOKEN_URL": f"{base}/botframework/token",
    }
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    fakes = ChannelFakes(base=base, env=env, bf_private_key=key)
    ready, stop = threading.Event(), threading.Event()
    thread = threading.Thread(target=_serve, args=(_app(fakes), port, ready, stop), daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("the fake channel services did not start")
    yield fakes
    stop.set()
    thread.join(10)
