"""One supervisor for the stack (`bot.stack`) and the local cluster (`bot.cluster`).

It starts a group of processes, each in its own process group, restarts any
that exits while the group runs, and stops them all (in reverse start order)
on request. Each member's process id and restart count are kept in a small
JSON state file, so that tests (and people) can find and kill one member.

A member that dies soon after starting is restarted after a growing delay
(doubling up to ``MAX_RESTART_DELAY_SECONDS``): a process that cannot start
(a broken setting, a port taken) must not spin two shared cores.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

RESTART_DELAY_SECONDS = 1.0
MAX_RESTART_DELAY_SECONDS = 30.0
# A member that ran at least this long before exiting counts as having started well.
STABLE_SECONDS = 30.0
STOP_GRACE_SECONDS = 15


@dataclass(frozen=True)
class Member:
    """One supervised process and the URL that answers when it is ready."""

    name: str
    argv: list[str]
    health_url: str
    env: dict[str, str]


def healthy(url: str) -> bool:
    """Whether `url` answers with a 2xx status within two seconds.

    Args:
        url: One of our own health URLs (loopback).

    Returns:
        True if it answered with a success status.

    """
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own URL)
            return 200 <= response.status < 300
    except OSError:
        return False


def stop_all(processes: Sequence[subprocess.Popen[bytes]]) -> None:
    """Asks every process to stop (SIGINT), then kills what is still running.

    Args:
        processes: The processes, in the order they should be asked.

    """
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Supervisor:
    """Starts the members, restarts any that dies, stops them all on request."""

    def __init__(
        self,
        group: Sequence[Member],
        state_file: Path,
        cwd: Path,
        restart_delay: float = RESTART_DELAY_SECONDS,
    ) -> None:
        """Prepares the supervisor; nothing starts until `start`.

        Args:
            group: The members, in start order.
            state_file: Where the members' process ids and restart counts are written.
            cwd: The members' working directory.
            restart_delay: The first delay before a restart.

        """
        self.group = list(group)
        self.state_file = state_file
        self.cwd = cwd
        self.restart_delay = restart_delay
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.restarts: dict[str, int] = {m.name: 0 for m in self.group}
        self.started_at: dict[str, float] = {}
        self.delays: dict[str, float] = {m.name: restart_delay for m in self.group}
        # Set from a signal handler: every loop here checks it.
        self.stopping = False

    def start(self, member: Member) -> None:
        """Starts (or restarts) one member in its own process group.

        Its own group: Ctrl-C in the terminal reaches the supervisor once, and
        the supervisor stops the members in order.
        """
        self.processes[member.name] = subprocess.Popen(  # noqa: S603 (our argv)
            member.argv, cwd=self.cwd, env=member.env, start_new_session=True
        )
        self.started_at[member.name] = time.monotonic()
        self.write_state()

    def write_state(self) -> None:
        """Records each member's process id and restart count (written atomically)."""
        state = {
            name: {"pid": process.pid, "restarts": self.restarts[name]}
            for name, process in self.processes.items()
        }
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        draft = self.state_file.with_suffix(".tmp")
        draft.write_text(json.dumps(state, indent=2), encoding="utf-8")
        draft.replace(self.state_file)

    def wait_healthy(self, member: Member, deadline: float) -> bool:
        """Waits until a member answers its health URL.

        Args:
            member: A started member.
            deadline: A `time.monotonic()` value.

        Returns:
            False if it exited, time ran out or the supervisor is stopping.

        """
        while not self.stopping and time.monotonic() < deadline:
            if self.processes[member.name].poll() is not None:
                return False
            if healthy(member.health_url):
                return True
            time.sleep(0.5)
        return False

    def restart_if_exited(self, member: Member) -> bool:
        """Starts a member again if it has exited.

        Args:
            member: A started member.

        Returns:
            Whether it was restarted.

        """
        process = self.processes[member.name]
        if process.poll() is None or self.stopping:
            return False
        ran = time.monotonic() - self.started_at[member.name]
        if ran >= STABLE_SECONDS:
            self.delays[member.name] = self.restart_delay
        delay = self.delays[member.name]
        print(
            f"{member.name} exited ({process.returncode}) after {ran:.0f} s; "
            f"restarting it in {delay:.0f} s.",
            file=sys.stderr,
            flush=True,
        )
        time.sleep(delay)
        if self.stopping:
            return False
        self.delays[member.name] = min(delay * 2, MAX_RESTART_DELAY_SECONDS)
        self.restarts[member.name] += 1
        self.start(member)
        return True

    def supervise(self) -> None:
        """Restarts members that exit until `stopping` is set."""
        while not self.stopping:
            for member in self.group:
                self.restart_if_exited(member)
            time.sleep(0.2)

    def stop(self) -> None:
        """Stops every member, the first started last, and removes the state file."""
        stop_all(list(reversed(list(self.processes.values()))))
        self.state_file.unlink(missing_ok=True)
