"""How long caller text takes to process when it is built to be slow (issue 11, finding 5).

Every piece of our code that runs a pattern over what a caller typed is timed on
hostile text of 1 KB, 8 KB and 64 KB (long runs of spaces, of punctuation, of
unclosed markup, of joining words, and speech-like run-ons), beside the same
functions as they were before the fix (read from git history, the baseline),
and so is the whole NLU model on the same text (as if no channel limit stood in
front of it). Linear code takes about 8 times longer for each step of size;
quadratic code about 64 times. Times above ``--cap`` seconds are stopped there
and shown as ``>cap`` (the baseline's worst cases run for minutes).

Usage::

    python -m benchmarks.hostile_text [--sizes 1024 8192 65536] [--no-model] [--cap 10]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import subprocess
import sys
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "reports" / "hostile_text.json"
MODEL = ROOT / "models" / "current.tar.gz"

#: The code before the fixes, as git holds it: (label, commit, path, function names).
BASELINE = [
    ("question splitter", "4bf01f8^", "bot/nlu/segments.py", "split_questions"),
    ("eligibility markup", "4bf01f8^", "actions/eligibility.py", "_normalise"),
    ("option replies", "c51f15e^", "bot/channels/choices.py", "reply_number"),
]


def hostile(kind: str, size: int) -> str:
    """Text of ``size`` characters built to make patterns backtrack."""
    units = {
        "spaces": ("a", " ", "x?"),
        "punctuation": ("what", "?!.;", "x"),
        "markup": ("", "<script>", ""),
        "joining words": ("is it ", "and what about ", "?"),
        "speech run-on": ("", "um so we are a council team and ", ""),
        "digits": ("", "1 2. ", ""),
    }
    head, unit, tail = units[kind]
    body = unit * ((size - len(head) - len(tail)) // len(unit) + 1)
    return (head + body)[: size - len(tail)] + tail


def current_functions() -> dict[str, Callable[[str], Any]]:
    """Today's code under test, by label."""
    from actions import eligibility
    from bot.channels import choices
    from bot.nlu import segments

    questions = eligibility.load_rules().questions  # read once, outside the clock
    return {
        "question splitter": lambda t: segments.question_count(t, segments.split_questions(t)),
        "eligibility markup": eligibility._normalise,
        "eligibility answers": lambda t: [eligibility.read_answer(q, t) for q in questions],
        "option replies": choices.reply_number,
    }


def baseline_functions() -> dict[str, Callable[[str], Any]]:
    """The same jobs before the fixes, loaded from git (empty where git has no history)."""
    found: dict[str, Callable[[str], Any]] = {}
    for label, commit, path, name in BASELINE:
        try:
            source = subprocess.run(
                ["git", "show", f"{commit}:{path}"],  # noqa: S607 (git on our own repo)
                cwd=ROOT,
                capture_output=True,
                check=True,
                text=True,
            ).stdout
            module = types.ModuleType(f"baseline_{name}")
            module.__dict__["__file__"] = str(ROOT / path)  # it finds its data files from here
            sys.modules[module.__name__] = module  # dataclasses look their module up there
            exec(compile(source, f"{commit}:{path}", "exec"), module.__dict__)  # noqa: S102
            found[label] = module.__dict__[name]
        except (OSError, subprocess.CalledProcessError, Exception) as error:  # noqa: BLE001
            print(f"baseline for {label} unavailable: {error}", file=sys.stderr)
    return found


def _run(queue: Any, job: str, label: str, text: str) -> None:
    functions = current_functions() if job == "current" else baseline_functions()
    functions[label]("warm up")  # compiled patterns and loaded data are not the text's cost
    started = time.perf_counter()
    functions[label](text)
    queue.put(time.perf_counter() - started)


def timed(job: str, label: str, text: str, cap: float) -> float | None:
    """Seconds one call takes, in a child process stopped at ``cap`` (None: stopped)."""
    queue: Any = multiprocessing.Queue()
    child = multiprocessing.Process(target=_run, args=(queue, job, label, text))
    child.start()
    child.join(cap + 30)  # imports and git take a moment before the clock starts
    if child.is_alive():
        child.terminate()
        child.join()
        return None
    try:
        seconds = float(queue.get(timeout=1))
    except Exception:  # noqa: BLE001 (the child failed: counted as stopped)
        return None
    return seconds if seconds <= cap else None


def model_times(texts: dict[tuple[str, int], str]) -> dict[tuple[str, int], float]:
    """The whole NLU model's parse time for each text (no channel limit in front)."""
    from scripts.nlu_eval import parse_with

    keys = list(texts)
    parsed, _ = parse_with(MODEL, [texts[k] for k in keys])
    return {key: seconds for key, (_, seconds) in zip(keys, parsed, strict=True)}


def main(argv: list[str] | None = None) -> int:
    """Prints the table and writes reports/hostile_text.json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 8192, 65536])
    parser.add_argument("--cap", type=float, default=10.0, help="seconds before a run is stopped")
    parser.add_argument("--no-model", action="store_true", help="skip the whole-model parse")
    args = parser.parse_args(argv)
    kinds = ["spaces", "punctuation", "markup", "joining words", "speech run-on", "digits"]
    texts = {(kind, size): hostile(kind, size) for kind in kinds for size in args.sizes}
    baselines = set(baseline_functions())
    rows: list[dict[str, Any]] = []
    for label in current_functions():
        for kind in kinds:
            for size in args.sizes:
                text = texts[(kind, size)]
                now = timed("current", label, text, args.cap)
                before = timed("baseline", label, text, args.cap) if label in baselines else None
                rows.append(
                    {"code": label, "text": kind, "size": size, "now": now, "before": before}
                )
    if not args.no_model and MODEL.exists():
        for (kind, size), seconds in model_times(texts).items():
            rows.append(
                {
                    "code": "whole NLU model",
                    "text": kind,
                    "size": size,
                    "now": seconds,
                    "before": None,
                }
            )

    def shown(value: float | None, has_baseline: bool = True) -> str:
        if value is None:
            return f">{args.cap:g}" if has_baseline else "-"
        return f"{value * 1000:.1f}"

    print(f"{'code':<20} {'text':<15} {'size':>6} {'now ms':>9} {'before ms':>10}")
    for row in rows:
        has = row["code"] in baselines
        print(
            f"{row['code']:<20} {row['text']:<15} {row['size']:>6} "
            f"{shown(row['now']):>9} {shown(row['before'], has):>10}"
        )
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps({"cap_seconds": args.cap, "rows": rows}, indent=2))
    print(f"\nReport: {REPORT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
