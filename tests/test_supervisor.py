"""The supervisor shared by the stack and the cluster (bot/supervisor.py), on tiny processes."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from bot.supervisor import Member, Supervisor


def _member(name: str, code: str) -> Member:
    return Member(name, [sys.executable, "-c", code], "http://127.0.0.1:9/", {})


def test_a_member_that_exits_is_restarted_and_recorded_and_the_others_keep_running(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state.json"
    quits, stays = _member("quits", "pass"), _member("stays", "import time; time.sleep(60)")
    supervisor = Supervisor([quits, stays], state, tmp_path, restart_delay=0.01)
    try:
        for member in (quits, stays):
            supervisor.start(member)
        first, steady = supervisor.processes["quits"].pid, supervisor.processes["stays"].pid
        supervisor.processes["quits"].wait(10)
        assert supervisor.restart_if_exited(quits)
        assert not supervisor.restart_if_exited(stays)
        recorded = json.loads(state.read_text())
        assert recorded["quits"]["restarts"] == 1 and recorded["quits"]["pid"] != first
        assert recorded["stays"] == {"pid": steady, "restarts": 0}
        # It died at once: the next delay is longer (a broken member must not spin).
        assert supervisor.delays["quits"] == 0.02
    finally:
        supervisor.stop()
    assert not state.exists()
    assert all(p.poll() is not None for p in supervisor.processes.values())


def test_no_restart_once_stopping(tmp_path: Path) -> None:
    quits = _member("quits", "pass")
    supervisor = Supervisor([quits], tmp_path / "state.json", tmp_path, restart_delay=0.01)
    supervisor.start(quits)
    supervisor.processes["quits"].wait(10)
    supervisor.stopping = True
    started = time.monotonic()
    supervisor.supervise()  # returns at once
    assert time.monotonic() - started < 1
    assert not supervisor.restart_if_exited(quits) and supervisor.restarts["quits"] == 0
    supervisor.stop()
