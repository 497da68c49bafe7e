"""Run schemathesis against the web app's JSON APIs (`make api-fuzz`, issue 11).

Starts the real web app (`python -m bot web`) on a free loopback port with a
temporary SQLite database (migrated, the awards seed imported, a supervisor and
an agent added, all through the project's own commands, HOTLINE_HOURS=always),
with a small stand-in for Rasa's HTTP API (so staff replies are delivered and
transcripts have a tracker part, as in production). It signs in, opens a few
tickets, a callback and a canned response through the APIs so that ids exist,
and then runs the schemathesis CLI against the served description
(`/api/openapi.json`) four times:

1. the staff and public operations with the supervisor's bearer token (all but
   logout, which would end the token mid-run);
2. logout alone, with a second token;
3. the supervisors' operations with an agent's token (403s);
4. the internal operations with the internal token.

Checks: no 5xx, and every status, content type and body as described. Exit
status 0 only if every run passes.

Run with the main virtual environment's Python; schemathesis comes from its own
(`.venv-api`, made by the Makefile: its releases conflict with Rasa's pins)::

    .venv/bin/python scripts/api_fuzz.py [--schemathesis .venv-api/bin/schemathesis]
        [--max-examples 15] [--seed 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
    ]
)
#: Upper bound per schemathesis run: a hung run fails instead of blocking `make test`.
RUN_TIMEOUT_SECONDS = 150
STAFF = {
    "fuzz-sup": ("supervisor", "Sam Fuzz", "fuzz-supervisor-password-1"),
    "fuzz-agent": ("agent", "Alex Fuzz", "fuzz-agent-password-12345"),
}


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def handler_errors(log: str) -> int:
    """Tracebacks in the web app's log, not counting aiohttp's HTTP parser.

    schemathesis probes whether a NUL byte in a header gets through; aiohttp's
    parser answers 400 and logs the refusal with a traceback, which is no bug of ours.
    """
    chunks = log.split("Error handling request")[1:]
    parser = "aiohttp.http_exceptions."
    errors = [c for c in chunks if parser not in c]
    # Tracebacks logged otherwise (not through aiohttp's request handler).
    others = log.count("Traceback (most recent call last)") - len(chunks)
    return len(errors) + max(0, others)


class FakeRasa:
    """Rasa's two HTTP API calls the web app makes: append events, read a tracker."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.runner: web.AppRunner | None = None
        self.url = ""

    def _authorised(self, request: web.Request) -> bool:
        # Rasa takes its token as `?token=` or as a bearer header.
        header = request.headers.get("Authorization", "")
        return self.token in (request.query.get("token"), header.removeprefix("Bearer "))

    async def _events(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"error": "bad token"}, status=401)
        await request.read()
        return web.json_response({"sender_id": request.match_info["cid"], "events": []})

    async def _tracker(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return web.json_response({"error": "bad token"}, status=401)
        cid = request.match_info["cid"]
        # Two turns long before any ticket: the transcript's tracker part.
        events = [
            {"event": "user", "text": "I'd like to talk to someone", "timestamp": 1.0},
            {"event": "bot", "text": "I'll find you an adviser.", "timestamp": 2.0},
        ]
        return web.json_response({"sender_id": cid, "slots": {}, "events": events})

    async def start(self) -> None:
        """Serve on a free loopback port."""
        app = web.Application()
        app.router.add_post("/conversations/{cid}/tracker/events", self._events)
        app.router.add_get("/conversations/{cid}/tracker", self._tracker)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        port = free_port()
        await web.TCPSite(self.runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        """Stop serving."""
        if self.runner is not None:
            await self.runner.cleanup()


async def run_command(
    argv: Sequence[str], env: Mapping[str, str], stdin: bytes | None = None
) -> None:
    """Run one of the project's commands; raise with its output if it fails."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        env=dict(env),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate(stdin)
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{output.decode(errors='replace')}")


async def prepare_database(env: Mapping[str, str]) -> None:
    """Migrate, import the awards seed and add the staff, with the project's commands."""
    python = sys.executable
    await run_command([python, "-m", "bot", "db", "upgrade"], env)
    # `awards import` is what `bot seed` runs on an empty register; --no-entities
    # keeps it from rewriting data/nlu/awards_lookup.yml in the checkout.
    seed = str(ROOT / "content" / "awards" / "awards.csv")
    await run_command([python, "-m", "bot", "awards", "import", seed, "--no-entities"], env)
    for user, (role, name, password) in STAFF.items():
        argv = [python, "-m", "bot", "staff", "add", user, "--role", role, "--name", name]
        await run_command([*argv, "--password-stdin"], env, stdin=f"{password}\n".encode())


async def wait_for_health(http: aiohttp.ClientSession, base: str, web_app: Any) -> None:
    """Wait until the web app answers /health (or fail if it exited)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if web_app.returncode is not None:
            raise RuntimeError(f"the web app exited with {web_app.returncode}")
        try:
            async with http.get(f"{base}/health") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.3)
    raise RuntimeError("the web app did not answer /health within 60 s")


async def sign_in(http: aiohttp.ClientSession, base: str, user: str) -> str:
    """A bearer token for one of `STAFF`."""
    password = STAFF[user][2]
    async with http.post(
        f"{base}/api/login", json={"username": user, "password": password}
    ) as response:
        body = await response.json()
        if response.status != 200:
            raise RuntimeError(f"sign-in as {user} failed: {response.status} {body}")
        return str(body["token"])


async def expect(response: aiohttp.ClientResponse, status: int, what: str) -> Any:
    """The JSON body of a set-up call, which must answer `status`."""
    body = await response.json(content_type=None)
    if response.status != status:
        raise RuntimeError(f"{what}: expected {status}, got {response.status} {body}")
    return body


async def create_data(
    http: aiohttp.ClientSession, base: str, internal: str, supervisor: str
) -> None:
    """Tickets in each open state, a callback and a canned response, so ids exist."""
    headers = {"Authorization": f"Bearer {internal}"}
    staff = {"Authorization": f"Bearer {supervisor}"}
    ids = []
    # Several waiting tickets: the fuzzing claims and closes some before the
    # stateful phase follows the list's links.
    for n in range(6):
        payload = {"conversation_id": f"rest:fuzz-{n}", "channel": "rest", "reason": "help"}
        async with http.post(f"{base}/internal/handoffs", json=payload, headers=headers) as r:
            ids.append((await expect(r, 201, "create a ticket"))["id"])
    async with http.post(f"{base}/api/handoffs/{ids[0]}/claim", headers=staff) as r:
        await expect(r, 200, "claim a ticket")
    async with http.post(
        f"{base}/internal/handoffs/rest:fuzz-0/messages",
        json={"text": "hello", "message_id": "m1"},
        headers=headers,
    ) as r:
        await expect(r, 202, "relay a message")
    callback = {"name": "Pat Caller", "phone": "020 7946 0000", "conversation_id": "rest:fuzz-9"}
    async with http.post(f"{base}/internal/callbacks", json=callback, headers=headers) as r:
        await expect(r, 201, "book a callback")
    canned = {"title": "Opening hours", "text": "We are open 9 to 5."}
    async with http.post(f"{base}/api/canned", json=canned, headers=staff) as r:
        await expect(r, 201, "add a canned response")


async def schemathesis(
    tool: str,
    spec_url: str,
    token: str,
    selection: Sequence[str],
    args: argparse.Namespace,
    workdir: str,
    stateful: bool = True,
) -> bool:
    """One schemathesis run; True if it passed.

    The stateful phase follows the description's links (a listed ticket's id to
    claim, reply, release...); an operation without links runs the other phases.
    """
    phases = "examples,coverage,fuzzing" + (",stateful" if stateful else "")
    argv = [
        tool,
        "run",
        spec_url,
        "--checks",
        CHECKS,
        "--header",
        f"Authorization: Bearer {token}",
        "--max-examples",
        str(args.max_examples),
        "--seed",
        str(args.seed),
        "--phases",
        phases,
        "--request-timeout",
        "10",
        # One worker: two threads compiling schemathesis' generated code trip a
        # CPython 3.11 bug ("AST constructor recursion depth mismatch").
        "--workers",
        "1",
        "--no-shrink",
        *selection,
    ]
    print(f"\n$ schemathesis run ... {' '.join(selection)}", flush=True)
    # In a temporary folder: schemathesis keeps a cache (.schemathesis/) where it runs.
    process = await asyncio.create_subprocess_exec(*argv, cwd=workdir)
    try:
        code = await asyncio.wait_for(process.wait(), RUN_TIMEOUT_SECONDS)
    except asyncio.TimeoutError:
        process.kill()
        await process.wait()
        print(f"schemathesis took longer than {RUN_TIMEOUT_SECONDS} s", file=sys.stderr)
        return False
    return code == 0


def open_log(path: Path) -> BinaryIO:
    """The web app's log file (the caller closes it)."""
    return path.open("wb")


async def main_async(args: argparse.Namespace) -> int:
    """Set up, fuzz, tear down; the exit status."""
    tool = args.schemathesis
    internal = secrets.token_urlsafe(24)
    rasa = FakeRasa(secrets.token_urlsafe(24))
    await rasa.start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="api-fuzz-") as tmp:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/hotline.db",
            "HOTLINE_HOURS": "always",
            "HOTLINE_INTERNAL_TOKEN": internal,
            "RASA_URL": rasa.url,
            "RASA_TOKEN": rasa.token,
            "HOTLINE_SESSION_KEY": secrets.token_hex(32),
            "HOTLINE_PRODUCTION": "false",
            "WEB_HOST": "127.0.0.1",
            "WEB_PORT": str(port),
        }
        env.pop("HOTLINE_PUBSUB_URL", None)
        await prepare_database(env)
        log = open_log(Path(tmp) / "web.log")
        web_app = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "web",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
        passed = False
        try:
            async with aiohttp.ClientSession() as http:
                await wait_for_health(http, base, web_app)
                # Both tokens first: fuzzing /api/login trips the address's lockout.
                supervisor = await sign_in(http, base, "fuzz-sup")
                second = await sign_in(http, base, "fuzz-sup")
                agent = await sign_in(http, base, "fuzz-agent")
                await create_data(http, base, internal, supervisor)
            spec = f"{base}/api/openapi.json"
            runs = [
                (
                    supervisor,
                    ["--include-tag-regex", "^(staff|public)$", "--exclude-operation-id", "logout"],
                    True,
                ),
                (second, ["--include-operation-id", "logout"], False),
                # An agent on the supervisors' operations: their 403s as described.
                (agent, ["--include-path-regex", "^/api/(canned|figures|audit)"], False),
                (internal, ["--include-tag", "internal"], True),
            ]
            results = [
                await schemathesis(tool, spec, token, sel, args, tmp, stateful)
                for token, sel, stateful in runs
            ]
            passed = all(results)
        finally:
            web_app.terminate()
            try:
                await asyncio.wait_for(web_app.wait(), 10)
            except asyncio.TimeoutError:
                web_app.kill()
                await web_app.wait()
            log.close()
            await rasa.stop()
            text = (Path(tmp) / "web.log").read_text(errors="replace")
            crashes = handler_errors(text)
            if not passed or crashes:
                print("\n--- web app log ---\n" + text[-20000:], file=sys.stderr)
        if crashes:
            # A handler that raised is a bug even if no check counted its 500.
            print(f"api-fuzz: the web app logged {crashes} handler errors", file=sys.stderr)
            return 1
    print(json.dumps({"api_fuzz": "passed" if passed else "failed"}))
    return 0 if passed else 1


def main(argv: Sequence[str] | None = None) -> int:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schemathesis", default=str(ROOT / ".venv-api" / "bin" / "schemathesis"))
    parser.add_argument("--max-examples", type=int, default=15)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    # Absolute: schemathesis runs in a temporary folder.
    tool = Path(shutil.which(args.schemathesis) or args.schemathesis).resolve()
    if not tool.exists():
        print(f"no schemathesis at {args.schemathesis}: run `make api-fuzz`", file=sys.stderr)
        return 2
    args.schemathesis = str(tool)
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
