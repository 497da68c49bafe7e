"""Human handoff latency: staff reply to caller, and caller message to the console.

N callers (``--conversations``, 20) connect to Rasa's socket.io channel at once
(``session_request``/``session_confirm``, ``user_uttered``, ``bot_uttered``),
each asks for a person, gives a reason and waits until it is in the queue. A
supervisor signs in (``POST /api/login``), opens the console WebSocket
(``/console/ws``, authenticated by the session cookie from the login) and claims
every ticket. Then, all conversations at once:

- (a) staff -> caller: ``POST /api/handoffs/{id}/reply`` with a unique text,
  timed until that caller's socket.io client receives it;
- (b) caller -> console: each caller sends a unique message, timed until the
  console WebSocket shows it (``{"type": "message"}`` matched by text).

Nothing may be lost: the counts sent and received are reported, and the run
fails when they differ. Our stack is started with ``python -m bot.stack`` on
free loopback ports (temporary SQLite database and tracker store, line staffed
at all hours, ``HOTLINE_MAX_QUEUE=50``) and stopped at the end, or one already
running is used with ``--existing-url`` (Rasa) and ``--existing-web-url``.

Usage::

    python -m benchmarks.handoff_latency
    python -m benchmarks.handoff_latency --conversations 5 --keep-logs
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import shutil
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import socketio

from benchmarks.common import (
    ROOT,
    ManagedProcess,
    format_table,
    is_loopback_url,
    machine_info,
    start_benchmark,
    stop_started,
    subprocess_env,
    summarise_ms,
    warn_if_busy,
    write_report,
)
from benchmarks.stack_latency import BenchError, count_errors, http_ok, wait_ready
from bot.core.conversations import web_conversation_id

REPORT_NAME = "handoff_latency.json"
HOST = "127.0.0.1"
SESSION_COOKIE = "hotline_session"
ASK_FOR_PERSON = "I'd like to speak to a person please"
REASON = "help with a business plan"
T = TypeVar("T")


def free_port() -> int:
    """A TCP port nobody listens on at the moment (loopback)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


async def bounded(awaitable: Awaitable[T], seconds: float, what: str) -> T:
    """Awaits with a deadline.

    Raises:
        BenchError: If ``seconds`` pass first; the message names ``what``.
    """
    try:
        return await asyncio.wait_for(awaitable, seconds)
    except asyncio.TimeoutError as error:
        raise BenchError(f"timed out after {seconds:.0f} s: {what}") from error


class Caller:
    """A caller on Rasa's socket.io channel; notes when each text arrives."""

    def __init__(self, rasa_url: str, index: int) -> None:
        """Prepares (does not connect) caller ``index`` of ``rasa_url``."""
        self.url = rasa_url
        self.index = index
        self.session_id = uuid.uuid4().hex
        self.client = socketio.AsyncClient(reconnection=False)
        self.texts: list[str] = []
        self.expected: dict[str, asyncio.Future[float]] = {}
        self._arrived = asyncio.Event()
        self._confirmed = asyncio.Event()
        self.client.on("bot_uttered", self._received)
        self.client.on("session_confirm", self._on_confirm)

    async def _on_confirm(self, *_: Any) -> None:
        self._confirmed.set()

    async def _received(self, message: dict[str, Any]) -> None:
        now = time.perf_counter()
        text = message.get("text") if isinstance(message, dict) else None
        if not text:
            return  # typing indicators and custom payloads
        self.texts.append(text)
        future = self.expected.pop(text, None)
        if future is not None and not future.done():
            future.set_result(now)
        self._arrived.set()

    def expect(self, text: str) -> asyncio.Future[float]:
        """A future resolved with the ``perf_counter`` time ``text`` arrives."""
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.expected[text] = future
        return future

    async def connect(self, timeout: float) -> None:
        """Connects (polling, then the WebSocket upgrade) and waits for ``session_confirm``.

        Polling first, as browsers and rasa-webchat do: behind the cluster's HAProxy
        the engine.io session id (`?sid=`) is what keeps a client on one Rasa.
        """
        await bounded(
            self.client.connect(self.url, transports=["websocket"]),
            timeout,
            f"caller {self.index} connecting",
        )
        await self.client.emit("session_request", {"session_id": self.session_id})
        await bounded(self._confirmed.wait(), timeout, f"caller {self.index} session_confirm")

    async def say(self, text: str) -> None:
        """Sends ``text`` as the caller."""
        await self.client.emit("user_uttered", {"message": text, "session_id": self.session_id})

    async def wait_for(self, words: str, start: int, timeout: float) -> int:
        """Waits for a text containing ``words`` among those from index ``start`` on.

        Returns:
            The number of texts received so far (the next ``start``).
        """

        async def scan() -> int:
            seen = start
            while True:
                for position in range(seen, len(self.texts)):
                    if words.lower() in self.texts[position].lower():
                        return len(self.texts)
                seen = len(self.texts)
                self._arrived.clear()
                await self._arrived.wait()

        return await bounded(
            scan(),
            timeout,
            f"caller {self.index} waiting for {words!r} (got {self.texts[start:]!r})",
        )

    async def close(self) -> None:
        """Disconnects (never raises)."""
        with contextlib.suppress(Exception):  # best effort at the end
            await asyncio.wait_for(self.client.disconnect(), 5)


@dataclass
class Console:
    """The console WebSocket; notes when each message text arrives."""

    ws: aiohttp.ClientWebSocketResponse
    expected: dict[str, asyncio.Future[float]] = field(default_factory=dict)
    events: int = 0
    task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Starts reading events in the background."""
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for frame in self.ws:
            now = time.perf_counter()
            if frame.type != aiohttp.WSMsgType.TEXT:
                continue
            event = frame.json()
            self.events += 1
            if event.get("type") == "message":
                text = str((event.get("message") or {}).get("text") or "")
                future = self.expected.pop(text, None)
                if future is not None and not future.done():
                    future.set_result(now)

    def expect(self, text: str) -> asyncio.Future[float]:
        """A future resolved with the ``perf_counter`` time ``text`` is shown."""
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.expected[text] = future
        return future

    async def close(self) -> None:
        """Closes the WebSocket and stops the reader."""
        await self.ws.close()
        if self.task is not None:
            self.task.cancel()


@dataclass
class Stack:
    """Where the stack under test answers, and what we started for it."""

    rasa_url: str
    web_url: str
    admin_user: str
    admin_password: str
    # The server key that turns a caller's session secret into its conversation id.
    session_key: str = ""
    process: ManagedProcess | None = None
    startup_seconds: float | None = None


async def start_stack(
    http: aiohttp.ClientSession, args: argparse.Namespace, workdir: Path
) -> Stack:
    """Uses ``--existing-url`` if given, else starts ``python -m bot.stack`` on free ports.

    Raises:
        BenchError: If the stack cannot be reached or started.
    """
    if args.existing_url:
        stack = Stack(
            args.existing_url.rstrip("/"),
            args.existing_web_url.rstrip("/"),
            args.admin_user,
            args.admin_password or "",
            args.session_key or os.environ.get("HOTLINE_SESSION_KEY", ""),
        )
        for url in (stack.rasa_url + "/", stack.web_url + "/health"):
            if not await http_ok(http, url):
                raise BenchError(f"nothing answers on {url}")
        print(f"using the stack at {stack.rasa_url} (web {stack.web_url})")
        return stack
    model = ROOT / "models" / "current.tar.gz"
    if not model.exists():
        raise BenchError(f"no trained model at {model}: run `make train`")
    ports = {name: free_port() for name in ("RASA_PORT", "ACTIONS_PORT", "WEB_PORT")}
    password = args.admin_password or secrets.token_urlsafe(18)
    session_key = secrets.token_urlsafe(24)
    env = subprocess_env(
        {
            **{name: str(port) for name, port in ports.items()},
            "DATABASE_URL": f"sqlite:///{workdir / 'hotline.db'}",
            "RASA_TRACKER_DB": str(workdir / "tracker.db"),
            "RASA_TOKEN": secrets.token_urlsafe(24),
            "HOTLINE_INTERNAL_TOKEN": secrets.token_urlsafe(24),
            "HOTLINE_SESSION_KEY": session_key,
            "HOTLINE_HOURS": "always",
            "HOTLINE_MAX_QUEUE": str(max(50, args.conversations)),
            # Every benchmark caller comes from this one machine (bot/handoff/limits.py).
            "HOTLINE_MAX_TICKETS_PER_CLIENT": str(max(50, args.conversations)),
            "HOTLINE_ADMIN_USER": args.admin_user,
            "HOTLINE_ADMIN_PASSWORD": password,
            "HOTLINE_COOKIE_SECURE": "false",
        }
    )
    process = ManagedProcess(
        "bot.stack", [sys.executable, "-m", "bot.stack"], workdir / "stack.log", env=env
    )
    stack = Stack(
        f"http://{HOST}:{ports['RASA_PORT']}",
        f"http://{HOST}:{ports['WEB_PORT']}",
        args.admin_user,
        password,
        session_key,
        process,
    )
    print(
        f"starting python -m bot.stack (Rasa :{ports['RASA_PORT']}, actions "
        f":{ports['ACTIONS_PORT']}, web :{ports['WEB_PORT']}) ...",
        flush=True,
    )
    process.start()
    stack.startup_seconds = await wait_ready(
        http,
        [
            stack.rasa_url + "/",
            f"http://{HOST}:{ports['ACTIONS_PORT']}/health",
            stack.web_url + "/health",
        ],
        [process],
        args.start_timeout,
    )
    process.remember_tree()
    print(f"ready in {stack.startup_seconds:.1f} s", flush=True)
    return stack


async def api(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    headers: dict[str, str],
    timeout: float,
    json: Any = None,
) -> tuple[int, Any]:
    """One staff API call; returns the status and the JSON body (or text)."""
    async with http.request(
        method, url, headers=headers, json=json, timeout=aiohttp.ClientTimeout(total=timeout)
    ) as response:
        try:
            body: Any = await response.json()
        except (aiohttp.ContentTypeError, ValueError):
            body = await response.text()
        return response.status, body


async def staff_login(
    http: aiohttp.ClientSession, stack: Stack, timeout: float
) -> tuple[dict[str, str], str]:
    """Signs in; returns the Bearer headers and the session cookie's value."""
    async with http.post(
        f"{stack.web_url}/api/login",
        json={"username": stack.admin_user, "password": stack.admin_password},
        timeout=aiohttp.ClientTimeout(total=timeout),
    ) as response:
        if response.status != 200:
            raise BenchError(f"login failed: {response.status} {await response.text()}")
        body = await response.json()
        morsel = response.cookies.get(SESSION_COOKIE)
        cookie = morsel.value if morsel is not None else body["token"]
    return {"Authorization": f"Bearer {body['token']}"}, cookie


async def queue_up(caller: Caller, timeout: float) -> None:
    """Connects a caller, asks for a person, gives the reason, waits to be queued."""
    await caller.connect(timeout)
    await caller.say(ASK_FOR_PERSON)
    seen = await caller.wait_for("what would you like help with", 0, timeout)
    await caller.say(REASON)
    await caller.wait_for("in the queue", seen, timeout)


async def find_tickets(
    http: aiohttp.ClientSession,
    stack: Stack,
    headers: dict[str, str],
    callers: Sequence[Caller],
    timeout: float,
) -> dict[str, int]:
    """Maps each caller's session id to its ticket id (polls until all are listed).

    Staff see `web:` and a keyed digest of the caller's session secret, never the
    secret (bot/core/conversations.py), so the ids are worked out with the key.
    """
    by_conversation = {web_conversation_id(stack.session_key, c.session_id): c for c in callers}
    wanted = set(by_conversation)
    deadline = time.perf_counter() + timeout
    while True:
        status, body = await api(http, "GET", f"{stack.web_url}/api/handoffs", headers, timeout)
        if status != 200:
            raise BenchError(f"GET /api/handoffs: {status} {body}")
        found = {
            i["conversation_id"]: i["id"]
            for i in body["items"]
            if i["conversation_id"] in wanted and i["status"] == "queued"
        }
        if len(found) == len(wanted):
            # By the caller's own session id, which is what the rest of the run holds.
            return {by_conversation[c].session_id: ticket for c, ticket in found.items()}
        if time.perf_counter() > deadline:
            raise BenchError(f"only {len(found)} of {len(wanted)} tickets listed as queued")
        await asyncio.sleep(0.5)


async def timed_deliveries(
    sends: Sequence[tuple[asyncio.Future[float], Awaitable[Any]]], timeout: float
) -> tuple[list[float], int, list[str]]:
    """Starts every send at once; waits (bounded) for each arrival.

    Returns:
        Latencies in seconds of the arrivals, how many were sent, and error notes.
    """
    errors: list[str] = []

    async def one(arrival: asyncio.Future[float], send: Awaitable[Any]) -> float | None:
        started = time.perf_counter()
        try:
            await send
        except Exception as error:  # noqa: BLE001 - counted as a failed send
            errors.append(f"send failed: {error}")
            arrival.cancel()
            return None
        try:
            return await asyncio.wait_for(arrival, timeout) - started
        except asyncio.TimeoutError:
            return None

    results = await asyncio.gather(*(one(a, s) for a, s in sends))
    sent = len(sends) - len(errors)
    return [r for r in results if r is not None], sent, errors


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Sets up the conversations and measures both directions."""
    workdir = Path(tempfile.mkdtemp(prefix="handoff-latency-"))
    run_id = uuid.uuid4().hex[:6]
    results: dict[str, Any] = {}
    stack: Stack | None = None
    callers: list[Caller] = []
    console: Console | None = None
    timeout = args.request_timeout
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=args.conversations + 10)
    ) as http:
        try:
            stack = await start_stack(http, args, workdir)
            results["startup_seconds"] = (
                None if stack.startup_seconds is None else round(stack.startup_seconds, 1)
            )
            headers, cookie = await staff_login(http, stack, timeout)
            ws = await bounded(
                http.ws_connect(
                    f"{stack.web_url}/console/ws",
                    headers={"Cookie": f"{SESSION_COOKIE}={cookie}"},
                    heartbeat=20,
                ),
                timeout,
                "opening /console/ws",
            )
            console = Console(ws)
            console.start()

            print(f"queueing {args.conversations} callers ...", flush=True)
            callers = [Caller(stack.rasa_url, i) for i in range(args.conversations)]
            began = time.perf_counter()
            await bounded(
                asyncio.gather(*(queue_up(c, timeout) for c in callers)),
                args.phase_timeout,
                "callers joining the queue",
            )
            results["queue_setup_seconds"] = round(time.perf_counter() - began, 1)
            tickets = await find_tickets(http, stack, headers, callers, timeout)
            for caller in callers:
                status, body = await api(
                    http,
                    "POST",
                    f"{stack.web_url}/api/handoffs/{tickets[caller.session_id]}/claim",
                    headers,
                    timeout,
                )
                if status != 200:
                    raise BenchError(f"claim failed: {status} {body}")
            await bounded(
                asyncio.gather(*(c.wait_for("talking to", 0, timeout) for c in callers)),
                args.phase_timeout,
                "callers told an adviser has them",
            )

            print("(a) staff -> caller ...", flush=True)
            sends_a = []
            for caller in callers:
                text = f"Adviser reply {caller.index} ({run_id}): how can I help?"
                url = f"{stack.web_url}/api/handoffs/{tickets[caller.session_id]}/reply"
                sends_a.append((caller.expect(text), _reply(http, url, headers, text, timeout)))
            began = time.perf_counter()
            got_a, sent_a, errors_a = await timed_deliveries(sends_a, args.phase_timeout)
            results["staff_to_caller"] = _phase(got_a, sent_a, errors_a, began)

            print("(b) caller -> console ...", flush=True)
            sends_b = []
            for caller in callers:
                text = (
                    f"Thanks, our youth club wants advice on governance, "
                    f"ref {caller.index}-{run_id}"
                )
                sends_b.append((console.expect(text), caller.say(text)))
            began = time.perf_counter()
            got_b, sent_b, errors_b = await timed_deliveries(sends_b, args.phase_timeout)
            results["caller_to_console"] = _phase(got_b, sent_b, errors_b, began)

            if stack.process is not None:
                # Counted before the callers hang up: Rasa's socket.io logs ERRORs on disconnect.
                results["server_errors_during_measurement"] = count_errors(stack.process.log_path)
            for caller in callers:  # leave nothing open on an existing stack
                await api(
                    http,
                    "POST",
                    f"{stack.web_url}/api/handoffs/{tickets[caller.session_id]}/resolve",
                    headers,
                    timeout,
                )
        except BenchError as error:
            print(f"FAILED: {error}", file=sys.stderr)
            results["failed"] = str(error)
        finally:
            await asyncio.gather(*(c.close() for c in callers))
            if console is not None:
                await console.close()
            if stack is not None and stack.process is not None:
                print("stopping the stack ...", flush=True)
                await asyncio.to_thread(stack.process.stop)
                results["server_errors_logged_in_all"] = count_errors(stack.process.log_path)
    if args.keep_logs:
        print(f"Logs kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return results


async def _reply(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str], text: str, timeout: float
) -> None:
    """Posts a staff reply; raises unless the web app answers 201."""
    status, body = await api(http, "POST", url, headers, timeout, json={"text": text})
    if status != 201:
        raise RuntimeError(f"{status} {body}")


def _phase(latencies: list[float], sent: int, errors: list[str], began: float) -> dict[str, Any]:
    """One direction's figures."""
    return {
        "sent": sent,
        "received": len(latencies),
        "lost": sent - len(latencies),
        "send_errors": errors,
        "latency_ms": summarise_ms(latencies),
        "wall_seconds": round(time.perf_counter() - began, 2),
    }


def render(results: dict[str, Any]) -> str:
    """The table printed at the end."""
    rows = []
    for key, label in (
        ("staff_to_caller", "staff reply -> caller"),
        ("caller_to_console", "caller message -> console"),
    ):
        phase = results.get(key)
        if not phase:
            continue
        lat = phase["latency_ms"]
        rows.append(
            [
                label,
                str(phase["sent"]),
                str(phase["received"]),
                str(phase["lost"]),
                *("-" if lat[k] is None else f"{lat[k]:.0f}" for k in ("p50", "p95", "max")),
                f"{phase['wall_seconds']:.2f}",
            ]
        )
    return format_table(
        ["direction", "sent", "received", "lost", "p50 ms", "p95 ms", "max ms", "wall s"], rows
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Reads the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.handoff_latency",
        description="Handoff latency: staff reply to caller and caller message to console, "
        "with N conversations handed over at once.",
    )
    parser.add_argument(
        "--conversations", type=int, default=20, help="callers handed over at once (default 20)"
    )
    parser.add_argument(
        "--existing-url",
        default=None,
        help="Rasa of a running stack to use instead of starting one "
        "(needs the line staffed and room in the queue)",
    )
    parser.add_argument(
        "--existing-web-url",
        default="http://localhost:8080",
        help="the web app of the stack on --existing-url",
    )
    parser.add_argument("--admin-user", default=os.environ.get("HOTLINE_ADMIN_USER", "admin"))
    parser.add_argument(
        "--admin-password",
        default=os.environ.get("HOTLINE_ADMIN_PASSWORD"),
        help="needed with --existing-url; random for a stack we start",
    )
    parser.add_argument(
        "--session-key",
        default=None,
        help="an existing stack's HOTLINE_SESSION_KEY (conversation ids are keyed digests)",
    )
    parser.add_argument(
        "--request-timeout", type=float, default=60.0, help="seconds per request or awaited message"
    )
    parser.add_argument("--phase-timeout", type=float, default=300.0, help="seconds per phase")
    parser.add_argument(
        "--start-timeout",
        type=float,
        default=300.0,
        help="seconds to wait for the stack to come up",
    )
    parser.add_argument(
        "--report",
        type=Path,
        default=None,
        help=f"where to write the JSON (default reports/{REPORT_NAME})",
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep the stack's log")
    args = parser.parse_args(argv)
    if not 1 <= args.conversations <= 200:
        parser.error("--conversations must be between 1 and 200")
    for url in filter(None, (args.existing_url, args.existing_url and args.existing_web_url)):
        if not is_loopback_url(url):
            parser.error(f"{url} must be on this machine (localhost, 127.x.x.x or ::1)")
    if args.existing_url and not args.admin_password:
        parser.error("--existing-url needs --admin-password (or HOTLINE_ADMIN_PASSWORD)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for ``python -m benchmarks.handoff_latency``."""
    args = parse_args(argv)
    start_benchmark()
    began = time.perf_counter()
    machine = machine_info()
    warn_if_busy()
    try:
        results = asyncio.run(run(args))
    finally:
        stop_started()
    print()
    print(render(results))
    lost = {
        key: results[key]["lost"]
        for key in ("staff_to_caller", "caller_to_console")
        if key in results and (results[key]["lost"] or results[key]["send_errors"])
    }
    if lost:
        print(f"\nLOST or failed: {lost}")
    if "failed" in results:
        print(f"\nFAILED - {results['failed'].splitlines()[0]}")
    report = {
        "benchmark": "handoff_latency",
        "machine": {**machine, "load_average_1m_end": round(os.getloadavg()[0], 2)},
        "settings": {
            "conversations": args.conversations,
            "request_timeout_seconds": args.request_timeout,
            "stack": args.existing_url or "python -m bot.stack (started by the benchmark)",
            "notes": [
                "staff -> caller: POST /api/handoffs/{id}/reply sent until the caller's "
                "socket.io client receives the text (bot_uttered)",
                "caller -> console: user_uttered emitted until the console WebSocket "
                "shows the message (type=message, matched by text)",
                "all conversations claimed first, then each direction sent at once",
            ],
        },
        **results,
        "wall_seconds": round(time.perf_counter() - began, 1),
    }
    path = write_report(REPORT_NAME, report, args.report)
    print(f"\nReport: {path} ({report['wall_seconds']:.0f} s in all)")
    return 1 if "failed" in results or lost else 0


if __name__ == "__main__":
    sys.exit(main())
