"""Latency, throughput and memory of our running stack, beside a stock ``rasa init`` bot.

Both assistants are driven through Rasa's REST channel
(``POST /webhooks/rest/webhook`` with ``{"sender", "message"}``) by scripted
conversations, first one at a time and then 20 at once; every conversation has
its own sender id. Each request's latency is the time until Rasa's reply (all
of the bot's messages for that turn) has arrived.

- Ours: if a Rasa server already answers on ``--existing-url``
  (http://localhost:5005), it is used as it is, its action server taken to be on
  ``--existing-actions-port`` (5055). Otherwise ``python -m bot.stack`` is
  started on spare ports (RASA_PORT/ACTIONS_PORT/WEB_PORT, default
  5105/5155/8180) and stopped at the end.
- Stock: ``rasa init --no-prompt`` in a temporary directory trains Rasa's example
  bot once per Rasa version (kept in ``~/.cache/mutuals-hotline/bench/``), served
  with ``rasa run --port 5006`` (it has no custom actions).

Memory is the summed resident set size of the Rasa server's and the action
server's process trees, read from ``/proc`` (psutil if installed). The award
look-up action is also timed on its own, straight against the action server's
``/webhook``, with the request Rasa would send.

Every request has a time-out and every phase a deadline; only loopback
addresses are contacted.

Usage::

    python -m benchmarks.stack_latency
    python -m benchmarks.stack_latency --skip stock --levels 1 5
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import shutil
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from yarl import URL

from benchmarks.common import (
    BIN,
    CACHE_DIR,
    ROOT,
    ManagedProcess,
    format_table,
    is_loopback_url,
    machine_info,
    port_is_free,
    rasa_version,
    run_logged,
    service_root,
    start_benchmark,
    stop_started,
    subprocess_env,
    summarise_ms,
    tail,
    tree_rss_mb,
    warn_if_busy,
    write_report,
)

REPORT_NAME = "stack_latency.json"
HOST = "127.0.0.1"
REST_PATH = "/webhooks/rest/webhook"
AWARD_ACTION = "action_award_lookup"
AWARD_QUESTION = "How much did Knowsley Youth Services get?"

# A caller's conversation with our assistant: greeting, a programme question,
# the eligibility check answered in the caller's own words, an award look-up
# and its follow-up, thanks and goodbye.
OUR_SCRIPT: tuple[str, ...] = (
    "hello",
    "what is the Mutuals Support Programme?",
    "am I eligible?",
    "we're a team at the county council",
    "yes, we run adult social care for the borough",
    "yes, staff will have seats on the board",
    "yes, we're in England",
    AWARD_QUESTION,
    "thanks, that's helpful",
    "goodbye",
)

# The same number of turns with the stock bot's intents (greet, mood_unhappy,
# affirm, bot_challenge, mood_great, deny, goodbye).
STOCK_SCRIPT: tuple[str, ...] = (
    "hello",
    "I am sad",
    "yes",
    "are you a bot?",
    "hi again",
    "I am feeling great",
    "I'm unhappy",
    "no",
    "am I talking to a human?",
    "goodbye",
)


class BenchError(RuntimeError):
    """A target could not be started or reached; the message says why."""


@dataclass
class Target:
    """One assistant under test."""

    label: str
    rasa_port: int
    script: tuple[str, ...]
    actions_port: int | None = None
    web_port: int | None = None
    launcher: str = "external"
    rasa_token: str | None = None
    # The action server refuses calls without it (actions/server.py).
    actions_token: str | None = None
    startup_seconds: float | None = None
    processes: list[ManagedProcess] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def rasa_url(self) -> str:
        """Base URL of the Rasa server."""
        return f"http://{HOST}:{self.rasa_port}"

    def rss(self) -> dict[str, float | None]:
        """Resident memory (MB) of the Rasa and action server process trees, and their sum."""
        figures: dict[str, float | None] = {}
        for name, port in (("rasa", self.rasa_port), ("actions", self.actions_port)):
            root = service_root(port) if port else None
            figures[name] = tree_rss_mb(root) if root else None
        figures["total"] = round(sum(v for v in figures.values() if v), 1)
        if self.web_port and self.launcher != "external":
            # The web app is one process: no climbing (its parent is bot.stack itself).
            web = service_root(self.web_port, marker="\0")
            figures["web_app_not_in_total"] = tree_rss_mb(web) if web else None
        return figures

    def stop(self) -> None:
        """Stops whatever this benchmark started for the target (last started first)."""
        for process in reversed(self.processes):
            process.stop()


# --- HTTP ----------------------------------------------------------------------------


async def http_ok(session: aiohttp.ClientSession, url: str) -> bool:
    """Whether ``url`` answers 2xx within 2 seconds."""
    try:
        async with session.get(url, timeout=aiohttp.ClientTimeout(total=2)) as response:
            return 200 <= response.status < 300
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return False


async def wait_ready(
    session: aiohttp.ClientSession,
    urls: Sequence[str],
    processes: Sequence[ManagedProcess],
    timeout: float,
) -> float:
    """Polls until every URL answers; returns the seconds since the first process started.

    Raises:
        BenchError: If a process exits or ``timeout`` passes first.
    """
    started = min(p.started_at for p in processes)
    pending = list(urls)
    deadline = time.perf_counter() + timeout
    while pending:
        for process in processes:
            if not process.running():
                code = process.process.returncode if process.process else None
                raise BenchError(
                    f"{process.name} exited (code {code}) before it was ready; "
                    f"log {process.log_path}:\n{tail(process.log_path)}"
                )
        for process in processes:
            # Note the children as they appear, to stop them even if start-up fails.
            await asyncio.to_thread(process.remember_tree)
        pending = [url for url in pending if not await http_ok(session, url)]
        if not pending:
            break
        if time.perf_counter() > deadline:
            raise BenchError(f"not ready after {timeout:.0f} s: {', '.join(pending)}")
        await asyncio.sleep(0.25)
    return time.perf_counter() - started


@dataclass
class Turn:
    """One request and its outcome."""

    seconds: float
    ok: bool
    replies: int
    error: str | None = None
    texts: list[str] = field(default_factory=list)


async def send(
    session: aiohttp.ClientSession, url: str, sender: str, message: str, timeout: float
) -> Turn:
    """Sends one message to Rasa's REST channel and times the reply."""
    started = time.perf_counter()
    try:
        async with session.post(
            url,
            json={"sender": sender, "message": message},
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as response:
            body = await response.json(content_type=None)
            seconds = time.perf_counter() - started
            if response.status != 200 or not isinstance(body, list):
                return Turn(seconds, False, 0, f"HTTP {response.status}: {str(body)[:200]}")
            texts = [str(m.get("text", "")) for m in body if isinstance(m, dict)]
            return Turn(seconds, True, len(body), texts=texts)
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
        return Turn(time.perf_counter() - started, False, 0, f"{type(error).__name__}: {error}")


async def conversation(
    session: aiohttp.ClientSession, target: Target, sender: str, timeout: float
) -> list[Turn]:
    """Plays the target's script once as ``sender``; stops early after a failed turn."""
    turns = []
    for message in target.script:
        turn = await send(session, target.rasa_url + REST_PATH, sender, message, timeout)
        turns.append(turn)
        if not turn.ok:
            break
    return turns


async def run_level(
    session: aiohttp.ClientSession,
    target: Target,
    concurrency: int,
    rounds: int,
    run_id: str,
    request_timeout: float,
    phase_timeout: float,
) -> dict[str, Any]:
    """Runs ``concurrency`` conversations at once, ``rounds`` times over in each slot.

    Returns:
        Latency summary (ms), messages per second, errors and empty replies.
    """

    async def worker(slot: int) -> list[Turn]:
        turns: list[Turn] = []
        for round_ in range(rounds):
            sender = f"bench-{run_id}-{target.label}-c{concurrency}-s{slot}-r{round_}"
            turns += await conversation(session, target, sender, request_timeout)
        return turns

    started = time.perf_counter()
    tasks = [asyncio.create_task(worker(slot)) for slot in range(concurrency)]
    done, not_done = await asyncio.wait(tasks, timeout=phase_timeout)
    wall = time.perf_counter() - started
    for task in not_done:
        task.cancel()
    await asyncio.gather(*not_done, return_exceptions=True)
    turns = [turn for task in done for turn in task.result()]
    ok = [t for t in turns if t.ok]
    errors = [t.error for t in turns if not t.ok and t.error]
    return {
        "concurrency": concurrency,
        "conversations": concurrency * rounds,
        "messages_planned": concurrency * rounds * len(target.script),
        "messages_ok": len(ok),
        "errors": len(errors),
        "error_examples": sorted(set(errors))[:5],
        "timed_out_workers": len(not_done),
        "empty_replies": sum(1 for t in ok if t.replies == 0),
        "latency_ms": summarise_ms([t.seconds for t in ok]),
        "messages_per_second": round(len(ok) / wall, 2) if wall > 0 else None,
        "wall_seconds": round(wall, 2),
    }


# --- starting the targets ------------------------------------------------------------


def endpoint_action_port(env: Mapping[str, str]) -> int | None:
    """The port ``endpoints.yml`` sends custom actions to, given Rasa's environment.

    ``${VAR}`` references are filled from ``env`` as Rasa fills them.

    Returns:
        The port, or ``None`` if the URL is not on this machine or cannot be read.
    """
    try:
        endpoints = yaml.safe_load((ROOT / "endpoints.yml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return None
    raw = str((endpoints.get("action_endpoint") or {}).get("url", ""))
    url = re.sub(r"\$\{([^}]+)\}", lambda m: env.get(m.group(1), m.group(0)), raw)
    try:
        parsed = URL(url)
    except ValueError:
        return None
    if parsed.host not in ("localhost", "127.0.0.1") or parsed.explicit_port is None:
        return None
    return int(parsed.explicit_port)


async def start_ours(
    session: aiohttp.ClientSession, args: argparse.Namespace, workdir: Path
) -> Target:
    """Uses the stack on ``--existing-url`` if one answers, else starts ``python -m bot.stack``.

    Raises:
        BenchError: If the stack cannot be started.
    """
    existing = URL(args.existing_url)
    if await http_ok(session, str(existing)):
        target = Target(
            "ours", int(existing.port or 5005), OUR_SCRIPT, actions_port=args.existing_actions_port
        )
        target.notes.append(f"used the stack already running at {existing}")
        print(f"[ours] using the stack already running at {existing}")
        return target

    model = ROOT / "models" / "current.tar.gz"
    if not model.exists():
        raise BenchError(
            f"no stack on {existing} and no trained model at {model}: run `make train`"
        )
    actions_port = args.actions_port
    target = Target(
        "ours",
        args.rasa_port,
        OUR_SCRIPT,
        actions_port=actions_port,
        web_port=args.web_port,
        launcher="python -m bot.stack",
    )
    configured = endpoint_action_port(subprocess_env({"ACTIONS_PORT": str(actions_port)}))
    if configured is not None and configured != actions_port:
        # endpoints.yml names the action server's URL itself: Rasa calls that port
        # whatever ACTIONS_PORT says, so the action server has to be started there.
        if not port_is_free(configured):
            raise BenchError(
                f"endpoints.yml sends actions to port {configured}, which is taken; "
                f"ACTIONS_PORT={actions_port} would not be used by Rasa"
            )
        note = (
            f"endpoints.yml hard-codes the action server on :{configured}, so ACTIONS_PORT="
            f"{actions_port} would leave Rasa without actions; used ACTIONS_PORT={configured}"
        )
        print(f"[ours] WARNING: {note}")
        target.notes.append(note)
        target.actions_port = actions_port = configured
    busy = [p for p in (args.rasa_port, actions_port, args.web_port) if not port_is_free(p)]
    if busy:
        raise BenchError(f"ports already in use: {busy}; choose others (--rasa-port etc.)")

    # Our own API token, so that the award question can be parsed by this Rasa.
    target.rasa_token = secrets.token_urlsafe(24)
    target.actions_token = os.environ.get("HOTLINE_ACTIONS_TOKEN") or secrets.token_urlsafe(24)
    env = subprocess_env(
        {
            "RASA_TOKEN": target.rasa_token,
            "HOTLINE_ACTIONS_TOKEN": target.actions_token,
            "RASA_PORT": str(args.rasa_port),
            "ACTIONS_PORT": str(actions_port),
            "WEB_PORT": str(args.web_port),
        }
    )
    stack = ManagedProcess(
        "bot.stack", [sys.executable, "-m", "bot.stack"], workdir / "ours-stack.log", env=env
    )
    print(
        f"[ours] starting python -m bot.stack (Rasa :{args.rasa_port}, actions "
        f":{actions_port}, web :{args.web_port}) ...",
        flush=True,
    )
    stack.start()
    target.processes.append(stack)
    try:
        target.startup_seconds = await wait_ready(
            session,
            [target.rasa_url + "/", f"http://{HOST}:{actions_port}/health"],
            [stack],
            args.start_timeout,
        )
    except BenchError:
        target.stop()
        raise
    stack.remember_tree()
    return target


def stock_project() -> tuple[Path, Path, float | None]:
    """Returns the stock bot's folder and trained model, training it on first use.

    ``rasa init --no-prompt`` creates and trains Rasa's example project; it is
    kept per Rasa version under :data:`CACHE_DIR`.

    Returns:
        The project folder, the model, and the training seconds (``None`` if cached).

    Raises:
        BenchError: If ``rasa init`` fails.
    """
    project = CACHE_DIR / f"stock-rasa-{rasa_version()}"
    models = sorted((project / "models").glob("*.tar.gz"))
    if models:
        return project, models[-1], None
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix="stock-init-", dir=CACHE_DIR))
    cache = Path(tempfile.mkdtemp(prefix="stock-cache-"))
    print(
        f"[stock] first run for Rasa {rasa_version()}: `rasa init --no-prompt` "
        f"(trains the example bot, a few minutes) ...",
        flush=True,
    )
    try:
        code, seconds = run_logged(
            [str(BIN / "rasa"), "init", "--no-prompt", "--init-dir", str(building)],
            building.with_suffix(".log"),
            cwd=building,
            env=subprocess_env({"RASA_CACHE_DIRECTORY": str(cache)}),
            timeout=45 * 60,
        )
        models = sorted((building / "models").glob("*.tar.gz"))
        if code != 0 or not models:
            log = tail(building.with_suffix(".log"))
            raise BenchError(f"`rasa init` failed (exit {code}):\n{log}")
        shutil.rmtree(project, ignore_errors=True)
        building.rename(project)
        (project / "bench-init.yml").write_text(
            yaml.safe_dump({"rasa": rasa_version(), "init_seconds": round(seconds, 1)}),
            encoding="utf-8",
        )
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        shutil.rmtree(building, ignore_errors=True)
        building.with_suffix(".log").unlink(missing_ok=True)
    print(f"[stock] trained in {seconds:.0f} s; cached in {project}")
    return project, sorted((project / "models").glob("*.tar.gz"))[-1], seconds


async def start_stock(
    session: aiohttp.ClientSession, args: argparse.Namespace, workdir: Path
) -> Target:
    """Starts the stock bot with ``rasa run`` (no action server: it has no custom actions).

    Raises:
        BenchError: If it cannot be trained or started.
    """
    project, model, init_seconds = await asyncio.to_thread(stock_project)
    if not port_is_free(args.stock_port):
        raise BenchError(f"port {args.stock_port} is in use; choose another with --stock-port")
    target = Target("stock", args.stock_port, STOCK_SCRIPT, launcher="rasa run")
    if init_seconds is not None:
        target.notes.append(f"rasa init trained the stock bot in {init_seconds:.0f} s (first run)")
    process = ManagedProcess(
        "stock rasa",
        [
            str(BIN / "rasa"),
            "run",
            "--model",
            str(model),
            "--port",
            str(args.stock_port),
            "--credentials",
            "credentials.yml",
            "--endpoints",
            "endpoints.yml",
        ],
        workdir / "stock-rasa.log",
        cwd=project,
    )
    print(f"[stock] starting rasa run --port {args.stock_port} ({model.name}) ...", flush=True)
    process.start()
    target.processes.append(process)
    try:
        target.startup_seconds = await wait_ready(
            session, [target.rasa_url + "/"], [process], args.start_timeout
        )
    except BenchError:
        target.stop()
        raise
    process.remember_tree()
    return target


# --- the award look-up action ---------------------------------------------------------


def hand_parsed_award_question() -> dict[str, Any]:
    """:data:`AWARD_QUESTION` as our NLU is meant to parse it (when Rasa can't be asked)."""
    recipient = "Knowsley Youth Services"
    start = AWARD_QUESTION.index(recipient)
    return {
        "text": AWARD_QUESTION,
        "intent": {"name": "ask_award", "confidence": 0.98},
        "entities": [
            {"entity": "award_attribute", "value": "amount", "start": 0, "end": 8},
            {
                "entity": "recipient",
                "value": recipient,
                "start": start,
                "end": start + len(recipient),
            },
        ],
    }


def award_action_request(parsed: dict[str, Any]) -> dict[str, Any]:
    """Builds the request Rasa sends the action server to run ``action_award_lookup``.

    The tracker and domain are made with Rasa's own classes from ``domain.yml``.

    Args:
        parsed: The latest user message as Rasa parsed it (text, intent, entities).
    """
    import rasa
    from rasa.shared.core.constants import ACTION_LISTEN_NAME
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        domain = Domain.load(str(ROOT / "domain.yml"))
    user = UserUttered(parsed["text"], parsed["intent"], parsed.get("entities") or [], parsed)
    tracker = DialogueStateTracker.from_events(
        "bench-award", [ActionExecuted(ACTION_LISTEN_NAME), user], slots=domain.slots
    )
    return {
        "next_action": AWARD_ACTION,
        "sender_id": tracker.sender_id,
        "tracker": tracker.current_state(EventVerbosity.ALL),
        "domain": domain.as_dict(),
        "version": rasa.__version__,
    }


async def parse_award_question(
    session: aiohttp.ClientSession, target: Target
) -> tuple[dict[str, Any], str]:
    """Asks the Rasa server how it parses :data:`AWARD_QUESTION` (needs its API token).

    Returns:
        The parse, and where it came from.
    """
    if target.rasa_token:
        try:
            async with session.post(
                f"{target.rasa_url}/model/parse",
                headers={"Authorization": f"Bearer {target.rasa_token}"},
                json={"text": AWARD_QUESTION},
                timeout=aiohttp.ClientTimeout(total=30),
            ) as response:
                if response.status == 200:
                    parsed = await response.json(content_type=None)
                    keep = ("text", "intent", "entities")
                    return {k: parsed[k] for k in keep if k in parsed}, "this Rasa's /model/parse"
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
            pass
    return hand_parsed_award_question(), "a hand-written parse (no API token for this Rasa)"


async def bench_award_action(
    session: aiohttp.ClientSession, target: Target, actions_port: int, args: argparse.Namespace
) -> dict[str, Any]:
    """Times ``action_award_lookup`` on the action server at each concurrency level.

    The latest message of the request is :data:`AWARD_QUESTION` as the target's
    Rasa parses it (entities after synonym mapping), so the action takes the
    same path as in a conversation.

    Returns:
        Per level: latency summary, requests per second, errors; or ``skipped``
        with the reason.
    """
    base = f"http://{HOST}:{actions_port}"
    if not (ROOT / "actions" / "awards.py").exists():
        return {"skipped": "actions/awards.py does not exist yet"}
    # An existing stack's token comes from HOTLINE_ACTIONS_TOKEN in this environment.
    token = target.actions_token or os.environ.get("HOTLINE_ACTIONS_TOKEN", "")
    auth = {"Authorization": f"Bearer {token}"}
    try:
        async with session.get(
            base + "/actions", headers=auth, timeout=aiohttp.ClientTimeout(total=10)
        ) as r:
            names = {a.get("name") for a in await r.json(content_type=None)}
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
        return {"skipped": f"action server on :{actions_port} did not list its actions: {error}"}
    if AWARD_ACTION not in names:
        return {"skipped": f"the action server on :{actions_port} has no {AWARD_ACTION}"}

    parsed, parsed_by = await parse_award_question(session, target)
    payload = await asyncio.to_thread(award_action_request, parsed)
    url = base + "/webhook"

    async def call() -> tuple[float, str | None, str | None]:
        started = time.perf_counter()
        try:
            async with session.post(
                url,
                json=payload,
                headers=auth,
                timeout=aiohttp.ClientTimeout(total=args.request_timeout),
            ) as response:
                body = await response.json(content_type=None)
                seconds = time.perf_counter() - started
                if response.status != 200:
                    return seconds, f"HTTP {response.status}: {str(body)[:200]}", None
                texts = [m.get("text") for m in body.get("responses", []) if m.get("text")]
                return seconds, None, (texts[0] if texts else None)
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:
            return time.perf_counter() - started, f"{type(error).__name__}: {error}", None

    await call()  # warm-up (opens the database connection pool)
    results: dict[str, Any] = {
        "question": AWARD_QUESTION,
        "entities": [{k: e.get(k) for k in ("entity", "value")} for e in parsed["entities"]],
        "parsed_by": parsed_by,
        "levels": {},
    }
    for level in args.levels:
        per_worker = max(1, -(-args.action_requests // level))

        async def worker(count: int = per_worker) -> list[tuple[float, str | None, str | None]]:
            return [await call() for _ in range(count)]

        started = time.perf_counter()
        try:
            batches = await asyncio.wait_for(
                asyncio.gather(*(worker() for _ in range(level))), timeout=args.phase_timeout
            )
        except asyncio.TimeoutError:
            results["levels"][f"c{level}"] = {"concurrency": level, "timed_out": args.phase_timeout}
            continue
        wall = time.perf_counter() - started
        calls = [c for batch in batches for c in batch]
        good = [c for c in calls if c[1] is None]
        results["levels"][f"c{level}"] = {
            "concurrency": level,
            "requests": len(calls),
            "errors": len(calls) - len(good),
            "error_examples": sorted({c[1] for c in calls if c[1]})[:3],
            "latency_ms": summarise_ms([c[0] for c in good]),
            "requests_per_second": round(len(good) / wall, 2) if wall > 0 else None,
            "reply_example": next((c[2] for c in good if c[2]), None),
        }
    return results


# --- the run --------------------------------------------------------------------------


async def measure(
    session: aiohttp.ClientSession, target: Target, args: argparse.Namespace, run_id: str
) -> dict[str, Any]:
    """Warm-up conversation, then every concurrency level, with memory before and after."""
    rss_idle = await asyncio.to_thread(target.rss)
    warmup = await conversation(
        session, target, f"bench-{run_id}-{target.label}-warmup", args.request_timeout
    )
    transcript = [
        {
            "user": message,
            "bot": turn.texts,
            "ms": round(turn.seconds * 1000, 1),
            **({"error": turn.error} if turn.error else {}),
        }
        for message, turn in zip(target.script, warmup, strict=False)
    ]
    if not all(t.ok for t in warmup):
        raise BenchError(f"[{target.label}] warm-up conversation failed: {transcript[-1]}")
    levels = {}
    for level in args.levels:
        rounds = max(1, -(-args.min_messages // (level * len(target.script))))
        print(
            f"[{target.label}] {level} concurrent conversation(s) x {rounds} round(s) "
            f"of {len(target.script)} turns ...",
            flush=True,
        )
        levels[f"c{level}"] = await run_level(
            session, target, level, rounds, run_id, args.request_timeout, args.phase_timeout
        )
    rss_loaded = await asyncio.to_thread(target.rss)
    return {
        "launcher": target.launcher,
        "rasa_port": target.rasa_port,
        "actions_port": target.actions_port,
        "startup_seconds": None
        if target.startup_seconds is None
        else round(target.startup_seconds, 1),
        "turns_per_conversation": len(target.script),
        "script": list(target.script),
        "rss_mb_idle": rss_idle,
        "rss_mb_after_load": rss_loaded,
        "levels": levels,
        "warmup_transcript": transcript,
        "notes": target.notes,
    }


def render(results: dict[str, Any], levels: Sequence[int]) -> str:
    """The side-by-side table (ours vs stock)."""
    labels = [label for label in ("ours", "stock") if "levels" in results.get(label, {})]
    rows: list[list[str]] = []
    for level in levels:
        for title, key in (("p50 ms", "p50"), ("p95 ms", "p95")):
            row = [f"{title} @{level}"]
            for label in labels:
                value = results[label]["levels"][f"c{level}"]["latency_ms"][key]
                row.append("-" if value is None else f"{value:.0f}")
            rows.append(row)
        row = [f"msg/s @{level}"]
        for label in labels:
            row.append(f"{results[label]['levels'][f'c{level}']['messages_per_second']:.1f}")
        rows.append(row)
        row = [f"errors/empty replies @{level}"]
        for label in labels:
            phase = results[label]["levels"][f"c{level}"]
            row.append(f"{phase['errors']}/{phase['empty_replies']}")
        rows.append(row)
    for title, key in (("RSS MB idle", "rss_mb_idle"), ("RSS MB after load", "rss_mb_after_load")):
        rows.append([title, *(f"{results[label][key]['total']:.0f}" for label in labels)])
    rows.append(
        [
            "server ERROR log lines",
            *(str(results[label].get("server_errors_logged", "-")) for label in labels),
        ]
    )
    rows.append(
        [
            "start-up s",
            *(
                "-"
                if results[label]["startup_seconds"] is None
                else f"{results[label]['startup_seconds']:.1f}"
                for label in labels
            ),
        ]
    )
    return format_table(["", *labels], rows)


def render_award(award: dict[str, Any]) -> str:
    """The award look-up action's table (or why it was skipped)."""
    if "skipped" in award:
        return f"award look-up action: skipped ({award['skipped']})"
    rows = []
    for level in award["levels"].values():
        if "timed_out" in level:
            rows.append(
                [
                    str(level["concurrency"]),
                    "-",
                    "-",
                    "-",
                    "-",
                    f"timed out after {level['timed_out']:.0f} s",
                ]
            )
        else:
            lat = level["latency_ms"]
            rows.append(
                [
                    str(level["concurrency"]),
                    str(level["requests"]),
                    fmt_ms(lat["p50"]),
                    fmt_ms(lat["p95"]),
                    f"{level['requests_per_second']:.1f}",
                    str(level["errors"]),
                ]
            )
    table = format_table(["concurrency", "requests", "p50 ms", "p95 ms", "req/s", "errors"], rows)
    entities = ", ".join(f"{e['entity']}={e['value']!r}" for e in award["entities"])
    reply = next(
        (v["reply_example"] for v in award["levels"].values() if v.get("reply_example")), None
    )
    return (
        f"award look-up action, {AWARD_QUESTION!r} ({entities}; entities from "
        f"{award['parsed_by']}):\n{table}\nreply: {reply}"
    )


def count_errors(log: Path) -> int:
    """How many ERROR lines a server wrote to its log."""
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return 0
    return sum(1 for row in text.splitlines() if " ERROR " in row)


def fmt_ms(value: float | None) -> str:
    """Milliseconds for a table cell."""
    return "-" if value is None else f"{value:.1f}"


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Measures ours, then the stock bot, one at a time so they don't compete."""
    run_id = uuid.uuid4().hex[:8]
    workdir = Path(tempfile.mkdtemp(prefix="stack-latency-"))
    results: dict[str, Any] = {}
    connector = aiohttp.TCPConnector(limit=max(args.levels) + 5)
    async with aiohttp.ClientSession(connector=connector) as session:
        for label, start in (("ours", start_ours), ("stock", start_stock)):
            if label in args.skip:
                continue
            target: Target | None = None
            try:
                target = await start(session, args, workdir)
                if target.startup_seconds is not None:
                    print(f"[{label}] ready in {target.startup_seconds:.1f} s", flush=True)
                results[label] = await measure(session, target, args, run_id)
                if label == "ours" and "award" not in args.skip:
                    if target.actions_port is None:
                        results["award_action"] = {"skipped": "no action server port"}
                    else:
                        print(f"[ours] timing {AWARD_ACTION} on the action server ...", flush=True)
                        results["award_action"] = await bench_award_action(
                            session, target, target.actions_port, args
                        )
            except BenchError as error:
                print(f"[{label}] FAILED: {error}", file=sys.stderr)
                results[label] = {"failed": str(error)}
            finally:
                if target is not None and target.processes:
                    print(f"[{label}] stopping ...", flush=True)
                    await asyncio.to_thread(target.stop)
                    if "levels" in results.get(label, {}):
                        # Failed actions don't fail the REST call: Rasa logs them and goes on.
                        results[label]["server_errors_logged"] = sum(
                            count_errors(p.log_path) for p in target.processes
                        )
    if args.keep_logs:
        print(f"Logs kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return results


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Reads the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.stack_latency",
        description="REST-channel latency, throughput and memory: our stack vs a stock "
        "rasa init bot.",
    )
    parser.add_argument(
        "--levels",
        type=int,
        nargs="+",
        default=[1, 20],
        help="concurrent conversations per phase (default: 1 20)",
    )
    parser.add_argument(
        "--min-messages",
        type=int,
        default=30,
        help="repeat conversations until each phase sends at least this many messages (default 30)",
    )
    parser.add_argument(
        "--action-requests",
        type=int,
        default=100,
        help="award action requests per concurrency level (default 100)",
    )
    parser.add_argument(
        "--existing-url",
        default="http://localhost:5005/",
        help="use the stack answering here if there is one",
    )
    parser.add_argument(
        "--existing-actions-port",
        type=int,
        default=5055,
        help="the action server of the stack on --existing-url (default 5055)",
    )
    parser.add_argument("--rasa-port", type=int, default=5105)
    parser.add_argument("--actions-port", type=int, default=5155)
    parser.add_argument("--web-port", type=int, default=8180)
    parser.add_argument("--stock-port", type=int, default=5006)
    parser.add_argument("--request-timeout", type=float, default=60.0, help="seconds per request")
    parser.add_argument("--phase-timeout", type=float, default=300.0, help="seconds per phase")
    parser.add_argument(
        "--start-timeout", type=float, default=300.0, help="seconds to wait for a server to come up"
    )
    parser.add_argument(
        "--skip",
        nargs="+",
        choices=("ours", "stock", "award"),
        default=[],
        help="leave out part of the run",
    )
    parser.add_argument(
        "--report",
        type=Path,
        default=None,
        help=f"where to write the JSON (default reports/{REPORT_NAME})",
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep the servers' logs")
    args = parser.parse_args(argv)
    if any(level < 1 or level > 200 for level in args.levels):
        parser.error("--levels must be between 1 and 200")
    if not is_loopback_url(args.existing_url):
        parser.error("--existing-url must be on this machine (localhost, 127.x.x.x or ::1)")
    if args.min_messages < 1 or args.action_requests < 1:
        parser.error("--min-messages and --action-requests must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for ``python -m benchmarks.stack_latency``."""
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
    print(render(results, args.levels))
    if "award_action" in results:
        print()
        print(render_award(results["award_action"]))
    for label in ("ours", "stock"):
        if "failed" in results.get(label, {}):
            print(f"\n{label}: FAILED - {results[label]['failed'].splitlines()[0]}")
    report = {
        "benchmark": "stack_latency",
        "machine": {**machine, "load_average_1m_end": round(os.getloadavg()[0], 2)},
        "settings": {
            "levels": args.levels,
            "min_messages_per_phase": args.min_messages,
            "action_requests_per_level": args.action_requests,
            "request_timeout_seconds": args.request_timeout,
            "channel": "REST (POST /webhooks/rest/webhook)",
            "notes": [
                "latency: request sent until Rasa's full reply for the turn is received",
                "msg/s: successful messages / phase wall time",
                "RSS: summed resident memory of the Rasa and action server process trees",
                "start-up: process start until Rasa (and the action server) answer HTTP",
                "ours uses the SQL tracker store from endpoints.yml; stock keeps trackers "
                "in memory",
            ],
        },
        **results,
        "wall_seconds": round(time.perf_counter() - began, 1),
    }
    path = write_report(REPORT_NAME, report, args.report)
    print(f"\nReport: {path} ({report['wall_seconds']:.0f} s in all)")
    failed = [label for label in ("ours", "stock") if "failed" in results.get(label, {})]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
