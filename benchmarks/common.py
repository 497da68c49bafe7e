"""Helpers shared by the benchmark scripts: paths, environment, statistics,
tables, reports, child processes and memory readings from ``/proc``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import platform
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import IO, Any

try:  # psutil is optional: /proc gives the same figures on Linux.
    import psutil
except ImportError:  # pragma: no cover - depends on the environment
    psutil = None

ROOT = Path(__file__).resolve().parent.parent
REPORTS_DIR = ROOT / "reports"
CACHE_DIR = (
    Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mutuals-hotline" / "bench"
)
# The venv's bin folder: `rasa` lives beside the interpreter running us.
BIN = Path(sys.executable).parent

# Set in every subprocess (and by the Makefile for `make bench`).
BENCH_ENV: dict[str, str] = {
    "RASA_TELEMETRY_ENABLED": "false",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
}


def quiet_environment() -> None:
    """Applies :data:`BENCH_ENV` to this process (before rasa or TensorFlow import)."""
    os.environ.update(BENCH_ENV)


def exit_cleanly_on_sigterm() -> None:
    """Turns SIGTERM into ``SystemExit`` so that ``finally`` blocks stop our children.

    Trainings and servers run in sessions of their own; without this, ``kill``
    on a benchmark would leave them running and its temporary files behind.
    """

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


def start_benchmark() -> None:
    """What every benchmark does first: quiet children, clean SIGTERM, no deprecation noise."""
    quiet_environment()
    exit_cleanly_on_sigterm()
    warnings.filterwarnings("ignore", category=DeprecationWarning)


def is_loopback_url(url: str) -> bool:
    """Whether ``url`` points at this machine (localhost, 127.x.x.x or ::1)."""
    from yarl import URL

    host = URL(url).host or ""
    return host == "localhost" or host.startswith("127.") or host in ("::1", "[::1]")


def subprocess_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Returns the environment for a child process.

    Args:
        extra: Variables to add or override.

    Returns:
        ``os.environ`` plus :data:`BENCH_ENV` plus ``extra``.
    """
    env = dict(os.environ)
    env.update(BENCH_ENV)
    env.update(extra or {})
    return env


def rasa_version() -> str:
    """Returns the installed Rasa Open Source version, e.g. ``3.6.21``."""
    return metadata.version("rasa")


# --- statistics -------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    """Returns the ``q``-th percentile (0-100) with linear interpolation.

    Args:
        values: The sample; need not be sorted.
        q: The percentile, 0 to 100.

    Returns:
        The percentile, or ``None`` for an empty sample.
    """
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarise_ms(seconds: Sequence[float]) -> dict[str, float | int | None]:
    """Summarises durations given in seconds as milliseconds.

    Args:
        seconds: Durations in seconds.

    Returns:
        ``n``, ``p50``, ``p95``, ``mean`` and ``max`` in milliseconds (rounded to 0.1).
    """

    def ms(value: float | None) -> float | None:
        return None if value is None else round(value * 1000.0, 1)

    return {
        "n": len(seconds),
        "p50": ms(percentile(seconds, 50)),
        "p95": ms(percentile(seconds, 95)),
        "mean": ms(sum(seconds) / len(seconds)) if seconds else None,
        "max": ms(max(seconds)) if seconds else None,
    }


# --- output -------------------------------------------------------------------


def fmt(value: Any, digits: int = 3) -> str:
    """Formats a table cell: floats to ``digits`` decimals, ``None`` as ``-``."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def format_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Lays out rows as a plain-text table with a header rule.

    Args:
        headers: Column titles.
        rows: Cells; already formatted strings are used as they are.

    Returns:
        The table, first column left-aligned, the others right-aligned.
    """
    text_rows = [[c if isinstance(c, str) else fmt(c) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in text_rows:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest]).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(list(headers)), rule, *(line(r) for r in text_rows)])


def git_revision() -> str | None:
    """Returns ``HEAD``'s short hash, with ``+dirty`` for uncommitted changes."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head + ("+dirty" if dirty else "")


def machine_info() -> dict[str, Any]:
    """Describes where and when the figures were taken (they depend on it)."""
    mem_total_kb = None
    try:
        for row in Path("/proc/meminfo").read_text().splitlines():
            if row.startswith("MemTotal:"):
                mem_total_kb = int(row.split()[1])
    except OSError:
        pass
    return {
        "time": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "memory_gb": round(mem_total_kb / 1024 / 1024, 1) if mem_total_kb else None,
        # Another job on the machine slows every figure: the load says whether one ran.
        "load_average_1m": round(os.getloadavg()[0], 2),
        "python": platform.python_version(),
        "rasa": rasa_version(),
        "git": git_revision(),
    }


def warn_if_busy(threshold: float = 0.5) -> None:
    """Prints a warning when other work already loads the CPUs (timings would suffer)."""
    load, cpus = os.getloadavg()[0], os.cpu_count() or 1
    if load > threshold * cpus:
        print(
            f"WARNING: load average {load:.1f} on {cpus} CPUs before starting: other work "
            "is running, so times and latencies will come out slower than on an idle machine."
        )


def write_report(name: str, payload: Mapping[str, Any], path: Path | None = None) -> Path:
    """Writes a JSON report.

    Args:
        name: File name inside ``reports/`` when ``path`` is not given.
        payload: The report.
        path: Where to write instead.

    Returns:
        The path written.
    """
    target = path or REPORTS_DIR / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return target


def tail(path: Path, lines: int = 25) -> str:
    """Returns the last ``lines`` lines of a log file (empty if unreadable)."""
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# --- child processes ----------------------------------------------------------


def run_logged(
    argv: Sequence[str],
    log_path: Path,
    *,
    cwd: Path = ROOT,
    env: Mapping[str, str] | None = None,
    timeout: float = 3600.0,
) -> tuple[int, float]:
    """Runs a command to completion, output to a log file, and times it.

    Args:
        argv: The command.
        log_path: Receives stdout and stderr.
        cwd: Working directory.
        env: Environment (default: :func:`subprocess_env`).
        timeout: Seconds before the command is killed.

    Returns:
        The exit code (-9 after a time-out) and the wall-clock seconds.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env or subprocess_env()),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            code = -9
        except BaseException:
            # Ctrl-C reaches only us (the child has its own session): stop it too.
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise
    return code, time.perf_counter() - started


_STARTED: list[ManagedProcess] = []


def stop_started() -> None:
    """Stops every :class:`ManagedProcess` this program started that still runs.

    For a ``finally`` in ``main``: servers run in sessions of their own, so an
    interrupted run would otherwise leave them behind.
    """
    for process in reversed(_STARTED):
        process.stop()


@dataclass
class ManagedProcess:
    """A long-running child (a server) started in its own session and logged to a file."""

    name: str
    argv: list[str]
    log_path: Path
    cwd: Path = ROOT
    env: dict[str, str] = field(default_factory=subprocess_env)
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    _log: IO[bytes] | None = None
    # Every pid seen in its tree, so that grandchildren in sessions of their own
    # (bot.stack starts its services that way) are stopped even if it dies first.
    known_pids: dict[int, str] = field(default_factory=dict)

    def start(self) -> None:
        """Starts the process; :attr:`started_at` is the ``perf_counter`` time."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        self.started_at = time.perf_counter()
        self.process = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        _STARTED.append(self)

    @property
    def pid(self) -> int:
        """The child's pid (it must have been started)."""
        assert self.process is not None, f"{self.name} was not started"
        return self.process.pid

    def running(self) -> bool:
        """Whether the child is still running."""
        return self.process is not None and self.process.poll() is None

    def remember_tree(self) -> None:
        """Records the pids now in the child's tree (call once it is up)."""
        if self.running():
            self.known_pids.update({pid: cmdline(pid) for pid in process_tree(self.pid)})

    def stop(self, grace: float = 20.0) -> None:
        """Stops the child: SIGINT, then SIGKILL after ``grace`` seconds.

        Leftover descendants recorded by :meth:`remember_tree` are killed too.
        """
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        own = self.process.pid if self.process is not None else None
        for pid, argv in sorted(self.known_pids.items()):
            # Same pid and command line: still ours, not a recycled pid.
            if pid != own and argv and cmdline(pid) == argv:
                _kill_if_alive(pid)
        if self._log is not None:
            self._log.close()
            self._log = None


def _kill_if_alive(pid: int, grace: float = 10.0) -> None:
    """Stops a leftover process we started (SIGTERM, then SIGKILL)."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists() or _state(pid) == "Z":
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "?"


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether nothing listens on ``host:port`` (loopback only)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) != 0


# --- memory -----------------------------------------------------------------------


def cmdline(pid: int) -> str:
    """The process's command line, or an empty string if it has gone."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def parent_pid(pid: int) -> int | None:
    """The parent's pid, or ``None`` if the process has gone."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def process_tree(pid: int) -> list[int]:
    """Returns ``pid`` and all its descendants (pids that still exist)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            ppid = parent_pid(int(entry.name))
            if ppid is not None:
                children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        if Path(f"/proc/{current}").exists():
            tree.append(current)
            todo.extend(children.get(current, []))
    return tree


def rss_bytes(pid: int) -> int:
    """Resident set size of one process in bytes (0 if it has gone)."""
    if psutil is not None:
        try:
            return int(psutil.Process(pid).memory_info().rss)
        except psutil.Error:
            return 0
    try:
        for row in Path(f"/proc/{pid}/status").read_text().splitlines():
            if row.startswith("VmRSS:"):
                return int(row.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_rss_mb(pid: int) -> float:
    """Summed RSS of ``pid`` and its descendants, in MB (shared pages count per process)."""
    return round(sum(rss_bytes(p) for p in process_tree(pid)) / 1024 / 1024, 1)


def listening_pids(port: int) -> list[int]:
    """Pids of the processes holding a listening TCP socket on ``port``.

    Reads ``/proc/net/tcp{,6}`` for the socket's inode, then finds the process
    whose file descriptors include it (needs the same user or root).
    """
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            local, state, inode = cols[1], cols[3], cols[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{inode}]")
    pids: list[int] = []
    if not inodes:
        return pids
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fds = list((entry / "fd").iterdir())
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(fd) in inodes:
                    pids.append(int(entry.name))
                    break
            except OSError:
                continue
    return sorted(pids)


def service_root(port: int, marker: str = "rasa") -> int | None:
    """The top process of the server listening on ``port``.

    Starts from the listener and climbs while the parent's command line still
    contains ``marker`` (a server forking its workers), so the whole service
    tree is measured but not a launcher such as ``python -m bot.stack``.

    Returns:
        The pid, or ``None`` if nothing listens there.
    """
    pids = listening_pids(port)
    if not pids:
        return None
    top = pids[0]
    while True:
        ppid = parent_pid(top)
        if ppid is None or ppid <= 1 or marker not in cmdline(ppid):
            return top
        top = ppid
