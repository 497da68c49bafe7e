"""How long a newcomer waits: fresh clone, ``make run``, until the assistant answers.

Clones the committed project into a temporary folder and runs ``make run`` there
with nothing reused: a new virtual environment, an empty model cache
(``MODEL_CACHE``), no pip cache and a fresh npm cache. It sends "hello" to the
REST channel every two seconds until an answer comes back, then stops the
stack. The phases are read off ``make``'s own output: installing (up to the
training line), training (``scripts/train.sh`` prints its time), and starting
(from the end of training to the first answer).

The ports of ``make run`` (5005, 5055, 8080) must be free.

Usage::

    python -m benchmarks.first_answer            # the whole newcomer's path
    python -m benchmarks.first_answer --keep     # keep the clone (and its .venv)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from benchmarks.common import (
    ROOT,
    format_table,
    machine_info,
    port_is_free,
    start_benchmark,
    warn_if_busy,
    write_report,
)

PORTS = (5005, 5055, 8080)
REST = "http://127.0.0.1:5005/webhooks/rest/webhook"
TIMEOUT_SECONDS = 30 * 60


def answered() -> bool:
    """Whether the REST channel answers "hello" with at least one message."""
    body = json.dumps({"sender": "first-answer-bench", "message": "hello"}).encode()
    request = urllib.request.Request(REST, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return bool(json.loads(response.read() or b"[]"))
    except (urllib.error.URLError, OSError, ValueError):
        return False


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.first_answer")
    parser.add_argument("--keep", action="store_true", help="keep the clone")
    args = parser.parse_args(argv)
    start_benchmark()
    busy = [port for port in PORTS if not port_is_free(port)]
    if busy:
        print(f"FAILED: ports {busy} are in use; stop what runs there first.", file=sys.stderr)
        return 2
    warn_if_busy()
    machine = machine_info()
    workdir = Path(tempfile.mkdtemp(prefix="first-answer-"))
    clone = workdir / "hotline"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    env = {
        **os.environ,
        "MODEL_CACHE": str(workdir / "model-cache"),
        "PIP_NO_CACHE_DIR": "1",
        "npm_config_cache": str(workdir / "npm-cache"),
    }
    log_path = workdir / "make-run.log"
    marks: dict[str, float] = {}
    began = time.perf_counter()
    with log_path.open("w") as log:
        process = subprocess.Popen(
            ["make", "run"],
            cwd=clone,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

        def read() -> None:
            assert process.stdout is not None
            for line in process.stdout:
                log.write(line)
                log.flush()
                now = time.perf_counter() - began
                if line.startswith("Training models/") and "training_started" not in marks:
                    marks["training_started"] = now
                if match := re.match(r"Training took (\d+) s", line):
                    marks["training_ended"] = now
                    marks["training_reported"] = float(match.group(1))

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            while time.perf_counter() - began < TIMEOUT_SECONDS:
                if process.poll() is not None:
                    print(
                        f"FAILED: `make run` exited with {process.returncode}; see {log_path}",
                        file=sys.stderr,
                    )
                    return 1
                if "training_ended" in marks and answered():
                    marks["answered"] = time.perf_counter() - began
                    break
                time.sleep(2)
            else:
                print(
                    f"FAILED: no answer within {TIMEOUT_SECONDS} s; see {log_path}", file=sys.stderr
                )
                return 1
        finally:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    phases = {
        "install (venv, packages, spaCy model, npm)": marks["training_started"],
        "train (scripts/train.sh's own figure)": marks["training_reported"],
        "start the stack until the first answer": marks["answered"] - marks["training_ended"],
        "total: `make run` to the first answer": marks["answered"],
    }
    print()
    print(format_table(["phase", "seconds"], [[k, f"{v:.0f}"] for k, v in phases.items()]))
    path = write_report(
        "first_answer.json",
        {
            "benchmark": "first_answer",
            "machine": machine,
            "phases_seconds": {k: round(v, 1) for k, v in phases.items()},
        },
    )
    print(f"\nReport: {path.relative_to(ROOT)}")
    if args.keep:
        print(f"Kept {clone}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
