"""The local cluster under load: one and two Rasa instances behind HAProxy, and the stock bot.

One run starts ``python -m bot.cluster`` (HAProxy, two web processes, two Rasa
instances, one action server; PostgreSQL and Redis shared) and a second HAProxy
beside it whose Rasa backend holds ``rasa1`` only, generated from the same
configuration (``bot.cluster.haproxy_config``). Then, one target at a time so
they do not compete for the cores:

- ``one-rasa``: our script through the one-instance balancer,
- ``two-rasa``: the same through the cluster's own balancer,
- ``stock``: ``rasa init``'s bot (``rasa run``, REST and socket.io, no balancer),

each over REST (``benchmarks.stack_latency``'s ``measure``: warm-up, then
each concurrency level) and over socket.io (polling, then the WebSocket
upgrade, as the widget does; a turn is timed until as many ``bot_uttered``
messages as the REST warm-up had for that turn have arrived). Finally
``benchmarks.handoff_latency`` runs against the cluster's balancer: 50 callers
handed over at once, staff reply to caller.

Usage::

    python -m benchmarks.cluster_latency
    python -m benchmarks.cluster_latency --levels 1 10 --min-messages 20
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import socketio

from benchmarks import handoff_latency
from benchmarks.common import (
    ManagedProcess,
    format_table,
    machine_info,
    start_benchmark,
    stop_started,
    subprocess_env,
    summarise_ms,
    warn_if_busy,
    write_report,
)
from benchmarks.handoff_latency import free_port
from benchmarks.stack_latency import (
    HOST,
    OUR_SCRIPT,
    BenchError,
    Target,
    count_errors,
    fmt_ms,
    measure,
    start_stock,
    stock_project,
    wait_ready,
)
from bot.cluster import ClusterConfig, haproxy_config
from bot.config import Settings
from bot.stack import ROOT

REPORT_NAME = "cluster_latency.json"
PASSWORD = secrets.token_urlsafe(18)
# Shared with the handoff phase, which works out conversation ids from it.
SESSION_KEY = secrets.token_urlsafe(24)


def cluster_env(args: argparse.Namespace) -> dict[str, str]:
    """The cluster's environment: free port blocks, shared stores, this run's secrets."""
    return subprocess_env(
        {
            "DATABASE_URL": args.database_url,
            "RASA_TRACKER_STORE_URL": args.database_url,
            "RASA_LOCK_STORE_URL": args.redis_url,
            "HOTLINE_PUBSUB_URL": args.redis_url,
            "WEB_PORT": str(args.web_port),
            "RASA_PORT": str(args.rasa_port),
            "ACTIONS_PORT": str(args.actions_port),
            "RASA_TOKEN": secrets.token_urlsafe(24),
            "HOTLINE_INTERNAL_TOKEN": secrets.token_urlsafe(24),
            "HOTLINE_ACTIONS_TOKEN": secrets.token_urlsafe(24),
            "HOTLINE_SESSION_KEY": SESSION_KEY,
            "HOTLINE_HOURS": "always",
            "HOTLINE_MAX_QUEUE": "200",
            # Every benchmark caller comes from this one machine.
            "HOTLINE_MAX_TICKETS_PER_CLIENT": "200",
            "HOTLINE_ADMIN_USER": "admin",
            "HOTLINE_ADMIN_PASSWORD": PASSWORD,
            "HOTLINE_COOKIE_SECURE": "false",
        }
    )


def one_rasa_haproxy(config: ClusterConfig, web_port: int, rasa_port: int, stats: int) -> str:
    """The cluster's HAProxy configuration on other frontends, with ``rasa1`` only."""
    moved = replace(
        config,
        stack=replace(config.stack, web_port=web_port, rasa_port=rasa_port),
        stats_port=stats,
    )
    # Same settings as the real balancer, one server fewer: the comparison is the instances.
    return (
        "\n".join(
            line for line in haproxy_config(moved).splitlines() if "server rasa2 " not in line
        )
        + "\n"
    )  # HAProxy refuses a last line without one


def enable_stock_socketio(credentials: Path) -> None:
    """Adds Rasa's socket.io channel to the stock bot (``rasa init`` leaves it commented out)."""
    text = credentials.read_text(encoding="utf-8")
    if "\nsocketio:" not in "\n" + text:
        credentials.write_text(
            text + "\nsocketio:\n  user_message_evt: user_uttered\n"
            "  bot_message_evt: bot_uttered\n  session_persistence: true\n",
            encoding="utf-8",
        )


async def socketio_conversation(
    url: str, script: Sequence[str], replies: Sequence[int], timeout: float
) -> list[float]:
    """Plays ``script`` once on a fresh socket.io session; returns each turn's seconds."""
    client = socketio.AsyncClient(reconnection=False)
    arrived = asyncio.Event()
    confirmed = asyncio.Event()
    received: list[float] = []

    async def on_bot(_message: Any) -> None:
        received.append(time.perf_counter())
        arrived.set()

    async def on_confirm(*_: Any) -> None:
        confirmed.set()

    client.on("bot_uttered", on_bot)
    client.on("session_confirm", on_confirm)
    session_id = uuid.uuid4().hex
    seconds: list[float] = []
    try:
        await asyncio.wait_for(client.connect(url, transports=["polling", "websocket"]), timeout)
        await client.emit("session_request", {"session_id": session_id})
        await asyncio.wait_for(confirmed.wait(), timeout)
        for text, expected in zip(script, replies, strict=True):
            start, before = time.perf_counter(), len(received)
            await client.emit("user_uttered", {"message": text, "session_id": session_id})
            deadline = start + timeout
            while len(received) < before + expected:
                arrived.clear()
                await asyncio.wait_for(arrived.wait(), max(0.01, deadline - time.perf_counter()))
            seconds.append(received[before + expected - 1] - start)
    finally:
        await client.disconnect()
    return seconds


async def socketio_level(
    target: Target, replies: Sequence[int], concurrency: int, args: argparse.Namespace
) -> dict[str, Any]:
    """``concurrency`` socket.io conversations at once, repeated to ``--min-messages``."""
    rounds = max(1, -(-args.min_messages // (concurrency * len(target.script))))
    errors: list[str] = []

    async def worker() -> list[float]:
        done: list[float] = []
        for _ in range(rounds):
            try:
                done += await socketio_conversation(
                    target.rasa_url, target.script, replies, args.request_timeout
                )
            except (TimeoutError, socketio.exceptions.SocketIOError, OSError) as error:
                errors.append(f"{type(error).__name__}: {error}")
        return done

    began = time.perf_counter()
    results = await asyncio.wait_for(
        asyncio.gather(*(worker() for _ in range(concurrency))), args.phase_timeout
    )
    wall = time.perf_counter() - began
    turns = [s for r in results for s in r]
    return {
        "concurrency": concurrency,
        "messages_ok": len(turns),
        "errors": len(errors),
        "error_examples": sorted(set(errors))[:5],
        "latency_ms": summarise_ms(turns),
        "messages_per_second": round(len(turns) / wall, 2) if wall > 0 else None,
    }


async def bench_target(
    http: aiohttp.ClientSession, target: Target, args: argparse.Namespace, run_id: str
) -> dict[str, Any]:
    """REST (stack_latency's measure), then socket.io at the same levels."""
    result = await measure(http, target, args, run_id)
    replies = [len(turn["bot"]) for turn in result["warmup_transcript"]]
    result["socketio"] = {}
    for level in args.levels:
        print(f"[{target.label}] socket.io, {level} at once ...", flush=True)
        result["socketio"][f"c{level}"] = await socketio_level(target, replies, level, args)
    return result


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Starts the cluster and the one-instance balancer, measures each target, then handoffs."""
    workdir = Path(tempfile.mkdtemp(prefix="cluster-latency-"))
    run_id = uuid.uuid4().hex[:8]
    env = cluster_env(args)
    config = ClusterConfig.from_settings(Settings.from_env(env, ROOT))
    one_ports = (free_port(), free_port(), free_port())
    (workdir / "haproxy-one.cfg").write_text(one_rasa_haproxy(config, *one_ports), "utf-8")
    cluster = ManagedProcess(
        "bot.cluster", [sys.executable, "-m", "bot.cluster"], workdir / "cluster.log", env=env
    )
    one = ManagedProcess(
        "haproxy (rasa1 only)",
        ["haproxy", "-db", "-f", str(workdir / "haproxy-one.cfg")],
        workdir / "haproxy-one.log",
    )
    results: dict[str, Any] = {}
    connector = aiohttp.TCPConnector(limit=max(args.levels) + 60)
    async with aiohttp.ClientSession(connector=connector) as http:
        try:
            print("starting python -m bot.cluster ...", flush=True)
            cluster.start()
            urls = [f"http://{HOST}:{p}/" for p in config.rasa_ports] + [
                f"http://{HOST}:{p}/health" for p in (*config.web_ports, args.actions_port)
            ]
            results["cluster_startup_seconds"] = round(
                await wait_ready(http, urls, [cluster], args.start_timeout), 1
            )
            cluster.remember_tree()
            one.start()
            await wait_ready(http, [f"http://{HOST}:{one_ports[1]}/"], [one], 30)
            await asyncio.sleep(3)  # HAProxy's health checks mark the servers up
            targets = [
                Target("one-rasa", one_ports[1], OUR_SCRIPT, launcher="haproxy -> rasa1"),
                Target("two-rasa", args.rasa_port, OUR_SCRIPT, launcher="haproxy -> rasa1, rasa2"),
            ]
            for target in targets:
                results[target.label] = await bench_target(http, target, args, run_id)
            if "stock" not in args.skip:
                project, _, _ = await asyncio.to_thread(stock_project)
                enable_stock_socketio(project / "credentials.yml")
                stock = await start_stock(http, args, workdir)
                try:
                    results["stock"] = await bench_target(http, stock, args, run_id)
                finally:
                    await asyncio.to_thread(stock.stop)
            if "handoff" not in args.skip:
                print(f"handoffs: {args.handoffs} across the cluster ...", flush=True)
                handoff_args = handoff_latency.parse_args(
                    [
                        "--conversations",
                        str(args.handoffs),
                        "--existing-url",
                        f"http://{HOST}:{args.rasa_port}",
                        "--existing-web-url",
                        f"http://{HOST}:{args.web_port}",
                        # One argument: a generated password may begin with "-".
                        f"--admin-password={PASSWORD}",
                        f"--session-key={SESSION_KEY}",
                    ]
                )
                try:
                    results["handoff"] = await handoff_latency.run(handoff_args)
                except (socketio.exceptions.SocketIOError, OSError, TimeoutError) as error:
                    # Keep the REST and socket.io figures already measured.
                    results["handoff"] = {"failed": f"{type(error).__name__}: {error}"}
        except BenchError as error:
            print(f"FAILED: {error}", file=sys.stderr)
            results["failed"] = str(error)
        finally:
            await asyncio.to_thread(one.stop)
            await asyncio.to_thread(cluster.stop, 60.0)
            results["cluster_errors_logged"] = count_errors(cluster.log_path)
    if args.keep_logs:
        print(f"Logs kept in {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return results


def render(results: dict[str, Any], levels: Sequence[int]) -> str:
    """REST and socket.io side by side per target and level, then the handoff figures."""
    rows = []
    for label in ("one-rasa", "two-rasa", "stock"):
        result = results.get(label)
        if not result or "levels" not in result:
            continue
        for level in levels:
            for channel, phase in (
                ("REST", result["levels"].get(f"c{level}")),
                ("socket.io", result["socketio"].get(f"c{level}")),
            ):
                if phase is None:
                    continue
                rows.append(
                    [
                        label,
                        channel,
                        level,
                        phase["messages_ok"],
                        phase["errors"],
                        phase["messages_per_second"],
                        fmt_ms(phase["latency_ms"].get("p50")),
                        fmt_ms(phase["latency_ms"].get("p95")),
                    ]
                )
    table = format_table(
        ["target", "channel", "at once", "msgs", "errors", "msg/s", "p50 ms", "p95 ms"], rows
    )
    handoff = results.get("handoff", {}).get("staff_to_caller")
    if handoff:
        table += "\n\nstaff reply -> caller, " + " ".join(
            f"{k}={v}" for k, v in handoff.items() if not isinstance(v, (list, dict))
        )
        table += f" latency {handoff.get('latency_ms')}"
    return table


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Reads the command line (the stock bot's options are stack_latency's)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cluster_latency")
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--min-messages", type=int, default=20)
    parser.add_argument("--handoffs", type=int, default=50)
    parser.add_argument(
        "--database-url", default="postgresql://postgres@localhost:5432/hotline_bench_cluster"
    )
    parser.add_argument("--redis-url", default="redis://localhost:6379/3")
    parser.add_argument("--web-port", type=int, default=8280)
    parser.add_argument("--rasa-port", type=int, default=5205)
    parser.add_argument("--actions-port", type=int, default=5255)
    parser.add_argument("--stock-port", type=int, default=5216)
    parser.add_argument("--request-timeout", type=float, default=60.0)
    parser.add_argument("--phase-timeout", type=float, default=300.0)
    parser.add_argument("--start-timeout", type=float, default=600.0)
    parser.add_argument("--skip", nargs="+", choices=("stock", "handoff"), default=[])
    parser.add_argument("--report", type=Path, default=None)
    parser.add_argument("--keep-logs", action="store_true")
    args = parser.parse_args(argv)
    if any(level < 1 or level > 100 for level in args.levels) or args.min_messages < 1:
        parser.error("--levels must be 1-100 and --min-messages positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for ``python -m benchmarks.cluster_latency``."""
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
    report = {
        "benchmark": "cluster_latency",
        "machine": {**machine, "load_average_1m_end": round(os.getloadavg()[0], 2)},
        "settings": {
            "levels": args.levels,
            "min_messages_per_phase": args.min_messages,
            "handoffs": args.handoffs,
        },
        **results,
        "wall_seconds": round(time.perf_counter() - began, 1),
    }
    path = write_report(REPORT_NAME, report, args.report)
    print(f"\nReport: {path} ({report['wall_seconds']:.0f} s in all)")
    return 1 if "failed" in results or "failed" in results.get("handoff", {}) else 0


if __name__ == "__main__":
    sys.exit(main())
