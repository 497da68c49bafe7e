"""A local cluster: HAProxy in front of two web processes and two Rasa instances.

``make cluster`` calls ``python -m bot.cluster``. On loopback it runs:

| what | where |
| --- | --- |
| HAProxy, web frontend (widget page, console, internal API) | ``WEB_PORT`` (8080) |
| HAProxy, Rasa frontend (REST, socket.io, phone, HTTP API) | ``RASA_PORT`` (5005) |
| HAProxy statistics (CSV: ``/stats;csv``) | ``WEB_PORT + 3`` |
| web processes ``web1``, ``web2`` | ``WEB_PORT + 1``, ``WEB_PORT + 2`` |
| Rasa instances ``rasa1``, ``rasa2`` | ``RASA_PORT + 1``, ``RASA_PORT + 2`` |
| the action server | ``ACTIONS_PORT`` (5055) |

Shared state: PostgreSQL (``DATABASE_URL``, also Rasa's trackers through
``RASA_TRACKER_STORE_URL``), Redis (Rasa's locks, ``RASA_LOCK_STORE_URL``, and
the fan-out of console events and socket.io deliveries, ``HOTLINE_PUBSUB_URL``).
The web processes reach Rasa, and the action server reaches the web app,
through the balancer, so a dead process is routed around.

Unlike ``bot.stack``, a process that dies is started again (after
``RESTART_DELAY_SECONDS``) rather than stopping everything: this is where
failover is exercised (``tests/test_cluster.py``). The process ids are kept in
``var/cluster-<WEB_PORT>.json``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.channels.credentials import write_effective_credentials
from bot.config import ConfigError, Settings
from bot.core.conversations import resolve_key
from bot.stack import (
    ROOT,
    StackConfig,
    StackError,
    _healthy,
    credentials_file,
    services,
    stop_all,
    write_endpoints,
)

RESTART_DELAY_SECONDS = 1.0
READY_TIMEOUT_SECONDS = 600.0


@dataclass(frozen=True)
class Member:
    """One supervised process of the cluster."""

    name: str
    argv: list[str]
    health_url: str
    env: dict[str, str]


@dataclass(frozen=True)
class ClusterConfig:
    """The stack's configuration plus the cluster's ports and shared stores."""

    stack: StackConfig
    settings: Settings
    web_ports: tuple[int, int]
    rasa_ports: tuple[int, int]
    stats_port: int

    @classmethod
    def from_settings(cls, settings: Settings) -> ClusterConfig:
        """Checks the shared stores a cluster needs.

        Args:
            settings: The validated settings.

        Returns:
            The cluster's configuration.

        Raises:
            StackError: When a shared store is missing or HAProxy is not installed.

        """
        missing = [
            name
            for name, value in (
                ("RASA_TRACKER_STORE_URL", settings.rasa_tracker_store_url),
                ("RASA_LOCK_STORE_URL", settings.rasa_lock_store_url),
                ("HOTLINE_PUBSUB_URL", settings.pubsub_url),
            )
            if not value
        ]
        if settings.is_sqlite:
            missing.insert(0, "DATABASE_URL (PostgreSQL)")
        if missing:
            raise StackError(
                "A cluster shares its state: set " + ", ".join(missing) + " (`make cluster` "
                "sets local PostgreSQL and Redis defaults)."
            )
        if shutil.which("haproxy") is None:
            raise StackError("HAProxy is not installed: `make haproxy` (apt-get install haproxy).")
        stack = StackConfig.from_settings(settings)
        web_ports = (stack.web_port + 1, stack.web_port + 2)
        rasa_ports = (stack.rasa_port + 1, stack.rasa_port + 2)
        used = [stack.web_port, stack.rasa_port, stack.actions_port, *web_ports, *rasa_ports]
        if len(set(used + [stack.web_port + 3])) != len(used) + 1:
            raise StackError(f"The cluster's ports overlap: {sorted(used)}")
        return cls(stack, settings, web_ports, rasa_ports, stack.web_port + 3)

    @property
    def web_url(self) -> str:
        """The web frontend (balancer)."""
        return f"http://localhost:{self.stack.web_port}"

    @property
    def rasa_url(self) -> str:
        """The Rasa frontend (balancer)."""
        return f"http://localhost:{self.stack.rasa_port}"

    @property
    def state_file(self) -> Path:
        """Where the members' process ids are kept."""
        return ROOT / "var" / f"cluster-{self.stack.web_port}.json"

    @property
    def haproxy_file(self) -> Path:
        """The generated HAProxy configuration."""
        return ROOT / "var" / f"haproxy-{self.stack.web_port}.cfg"


def haproxy_config(config: ClusterConfig) -> str:
    """HAProxy's configuration for the cluster (loopback only).

    Returns:
        The configuration file's text.

    """
    web = "\n".join(
        f"    server web{i} 127.0.0.1:{port} check inter 1s fall 2 rise 2"
        for i, port in enumerate(config.web_ports, start=1)
    )
    rasa = "\n".join(
        f"    server rasa{i} 127.0.0.1:{port} check inter 1s fall 2 rise 2"
        for i, port in enumerate(config.rasa_ports, start=1)
    )
    return f"""# GENERATED by bot.cluster; do not edit.
global
    maxconn 4096

defaults
    mode http
    option forwardfor
    # A connection refused by a dead server is retried on the other one (the
    # request never reached a server, so nothing runs twice); a request that did
    # reach one is never replayed.
    option redispatch
    retries 2
    timeout connect 2s
    # Slow clients cannot hold a connection open with a trickle of headers.
    timeout http-request 10s
    timeout http-keep-alive 10s
    timeout queue 10s
    # Rasa answers a REST message after the NLU and the actions; a socket.io long
    # poll waits up to engine.io's 25 s ping interval.
    timeout client 60s
    timeout server 60s
    # WebSockets (socket.io, the console) once upgraded.
    timeout tunnel 1h

frontend web
    bind 127.0.0.1:{config.stack.web_port}
    default_backend web

frontend rasa
    bind 127.0.0.1:{config.stack.rasa_port}
    default_backend rasa

backend web
    # The web processes share everything through PostgreSQL and Redis: no stickiness.
    balance roundrobin
    option httpchk GET /health
    http-check expect status 200
    http-response set-header X-Served-By %[srv_name]
{web}

backend rasa
    balance roundrobin
    option httpchk GET /
    http-check expect status 200
    # socket.io sticky per session: the handshake's answer names the engine.io
    # session in its `io` cookie (bot/channels/socketio.py); later polls and the
    # WebSocket upgrade carry it as ?sid= and go to the instance that made it.
    stick-table type string len 64 size 100k expire 30m
    stick store-response res.cook(io)
    stick match url_param(sid)
    http-response set-header X-Served-By %[srv_name]
{rasa}

listen stats
    bind 127.0.0.1:{config.stats_port}
    stats enable
    stats uri /stats
    stats refresh 5s
"""


def ensure_database(url: str) -> None:
    """Creates the PostgreSQL database if it does not exist yet (one command starts all).

    Args:
        url: `DATABASE_URL` (PostgreSQL).

    """
    import psycopg2
    from psycopg2 import sql

    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres")
    connection = psycopg2.connect(admin.render_as_string(hide_password=False), connect_timeout=5)
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (parsed.database,))
            if cursor.fetchone() is None:
                cursor.execute(
                    sql.SQL("CREATE DATABASE {}").format(sql.Identifier(parsed.database))
                )
    finally:
        connection.close()


def base_env(config: ClusterConfig, environ: Mapping[str, str]) -> dict[str, str]:
    """The environment every member shares: the balancer's URLs and this run's secrets."""
    stack = config.stack
    return dict(
        environ,
        RASA_TOKEN=stack.rasa_token,
        HOTLINE_INTERNAL_TOKEN=stack.internal_token,
        HOTLINE_ACTIONS_TOKEN=stack.actions_token,
        # One key for every process: conversation ids must agree (docs/design.md).
        HOTLINE_SESSION_KEY=resolve_key(config.settings.session_key, config.settings.project_root),
        ACTIONS_PORT=str(stack.actions_port),
        # The web processes reach Rasa, and the action server the web app, through HAProxy.
        RASA_URL=config.rasa_url,
        WIDGET_RASA_URL=config.settings.widget_rasa_url
        if environ.get("WIDGET_RASA_URL")
        else config.rasa_url,
        HOTLINE_APP_URL=config.web_url,
        PUBLIC_BASE_URL=config.settings.public_base_url,
        CORS_ORIGINS=",".join(stack.cors_origins),
        WEB_PORT=str(stack.web_port),
    )


def members(config: ClusterConfig, env: Mapping[str, str]) -> list[Member]:
    """The supervised processes, in start order (HAProxy first, so health checks begin)."""
    stack = config.stack
    haproxy = Member(
        "haproxy",
        ["haproxy", "-db", "-f", str(config.haproxy_file)],
        f"http://localhost:{config.stats_port}/stats",
        dict(env),
    )
    actions_argv = services(stack)[0].argv
    result = [
        haproxy,
        Member("actions", actions_argv, f"http://localhost:{stack.actions_port}/health", dict(env)),
    ]
    for i, port in enumerate(config.rasa_ports, start=1):
        instance = replace(stack, rasa_port=port)
        # Behind the balancer only: the instance listens on loopback.
        argv = [*services(instance)[1].argv, "--interface", "127.0.0.1"]
        result.append(Member(f"rasa{i}", argv, f"http://localhost:{port}/", dict(env)))
    for i, port in enumerate(config.web_ports, start=1):
        result.append(
            Member(
                f"web{i}",
                [sys.executable, "-m", "bot", "web", "--port", str(port)],
                f"http://localhost:{port}/health",
                dict(env, WEB_PORT=str(port)),
            )
        )
    return result


class Supervisor:
    """Starts the members, restarts any that dies, stops them all on Ctrl-C."""

    def __init__(self, config: ClusterConfig, group: list[Member]) -> None:
        self.config = config
        self.group = group
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.restarts: dict[str, int] = {m.name: 0 for m in group}
        self.stopping = False

    def start(self, member: Member) -> None:
        """Start (or restart) one member in its own process group."""
        self.processes[member.name] = subprocess.Popen(  # noqa: S603 (our argv)
            member.argv, cwd=ROOT, env=member.env, start_new_session=True
        )
        self.write_state()

    def write_state(self) -> None:
        """Record each member's process id and restart count (tests kill members by it)."""
        state = {
            name: {"pid": process.pid, "restarts": self.restarts[name]}
            for name, process in self.processes.items()
        }
        draft = self.config.state_file.with_suffix(".tmp")
        draft.write_text(json.dumps(state, indent=2), encoding="utf-8")
        draft.replace(self.config.state_file)

    def wait_healthy(self, member: Member, deadline: float) -> bool:
        """Wait until a member answers its health URL (False: it died or time ran out)."""
        while not self.stopping and time.monotonic() < deadline:
            if self.processes[member.name].poll() is not None:
                return False
            if _healthy(member.health_url):
                return True
            time.sleep(0.5)
        return False

    def supervise(self) -> None:
        """Restart members that exit until asked to stop."""
        while not self.stopping:
            for member in self.group:
                process = self.processes[member.name]
                if process.poll() is not None and not self.stopping:
                    print(
                        f"{member.name} exited ({process.returncode}); restarting it.",
                        file=sys.stderr,
                        flush=True,
                    )
                    time.sleep(RESTART_DELAY_SECONDS)
                    self.restarts[member.name] += 1
                    self.start(member)
            time.sleep(0.2)

    def stop(self) -> None:
        """Stop every member, the balancer last."""
        stop_all(list(reversed(list(self.processes.values()))))
        self.config.state_file.unlink(missing_ok=True)


def run(config: ClusterConfig) -> int:
    """Prepare the shared stores, start the cluster and supervise it until Ctrl-C.

    Returns:
        The exit status.

    """
    (ROOT / "var").mkdir(exist_ok=True)
    ensure_database(config.settings.database_url)
    env = base_env(config, os.environ)
    for step in (["seed"], ["staff", "ensure-admin"]):
        done = subprocess.run([sys.executable, "-m", "bot", *step], cwd=ROOT, env=env)  # noqa: S603
        if done.returncode != 0:
            print(f"`python -m bot {' '.join(step)}` failed; not starting.", file=sys.stderr)
            return 1
    for port in config.rasa_ports:
        instance = replace(config.stack, rasa_port=port)
        for note in write_effective_credentials(env, target=credentials_file(instance)):
            print(f"Warning: {note}", file=sys.stderr, flush=True)
        write_endpoints(instance)
    config.haproxy_file.write_text(haproxy_config(config), encoding="utf-8")
    group = members(config, env)
    supervisor = Supervisor(config, group)

    def on_signal(signum: int, frame: object) -> None:
        supervisor.stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    try:
        for member in group:
            print(f"Starting {member.name} ...", flush=True)
            supervisor.start(member)
            # Rasa instances one after the other: the first creates the tracker
            # table, and two model loads at once only share the same two cores.
            if member.name.startswith("rasa") and not supervisor.wait_healthy(member, deadline):
                print(f"{member.name} did not start.", file=sys.stderr)
                return 1
        for member in group:
            if not supervisor.wait_healthy(member, deadline):
                if not supervisor.stopping:
                    print(f"{member.name} did not start.", file=sys.stderr)
                return 0 if supervisor.stopping else 1
        print(
            "\nThe hotline cluster is running (HAProxy in front of two of each):\n"
            f"  web chat demo  {config.web_url}/\n"
            f"  staff console  {config.web_url}/console\n"
            f"  Rasa (REST, socket.io, phone)  {config.rasa_url}/\n"
            f"  HAProxy statistics  http://localhost:{config.stats_port}/stats\n"
            "Press Ctrl-C to stop.\n",
            flush=True,
        )
        supervisor.supervise()
        print("Stopping...", flush=True)
        return 0
    finally:
        supervisor.stop()
        for port in config.rasa_ports:
            credentials_file(replace(config.stack, rasa_port=port)).unlink(missing_ok=True)


def main() -> int:
    """Entry point for ``python -m bot.cluster``."""
    from bot.core import logmask

    logmask.install()  # personal data masked in every log record (issue 13)
    try:
        settings = Settings.from_env(None, ROOT)
        config = ClusterConfig.from_settings(settings)
    except (ConfigError, StackError) as error:
        print(f"Configuration error: {error}", file=sys.stderr)
        return 2
    return run(config)


if __name__ == "__main__":
    sys.exit(main())
