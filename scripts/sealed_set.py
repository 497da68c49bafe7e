"""Keeps the sealed NLU set apart from the training data without showing its texts.

Usage::

    python -m scripts.sealed_set check        # counts per intent, overlap with training
    python -m scripts.sealed_set prune        # drop sealed messages that copy training data
    python -m scripts.sealed_set add NEW.yml  # append NEW.yml's messages that copy nothing

``prune`` and ``add`` print counts and line numbers only, never a sealed text:
whoever keeps the set can do so without reading it. ``add`` is for the writer of
new sealed messages (someone who has not seen the training data); it tells them
which of their own lines were refused as copies or near copies (word-set Jaccard
>= 0.8 after case, punctuation and spacing are normalised) of a training message.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import yaml

from scripts.nlu_eval import NLU_DATA, SEALED_SET, load_examples, overlapping

HEADER = (
    'version: "3.1"\n'
    "# Sealed held-out set, written without seeing the training data. Never train on it,\n"
    "# never read its misclassified texts. Kept with `python -m scripts.sealed_set`.\n"
)
MIN_PER_INTENT = 10


def _blocks(path: Path) -> list[tuple[str, list[str]]]:
    """The file's (intent, raw example lines with their markup) in order."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    blocks = []
    for item in data.get("nlu") or []:
        if "intent" not in item:
            continue
        lines = [
            line[2:].strip()
            for line in str(item.get("examples", "")).splitlines()
            if line.strip().startswith("- ")
        ]
        blocks.append((str(item["intent"]), lines))
    return blocks


def _write(path: Path, blocks: Sequence[tuple[str, list[str]]]) -> None:
    out = [HEADER, "nlu:\n"]
    for intent, lines in blocks:
        if not lines:
            continue
        out.append(f"- intent: {intent}\n  examples: |\n")
        out.extend(f"    - {line}\n" for line in lines)
        out.append("\n")
    path.write_text("".join(out).rstrip("\n") + "\n", encoding="utf-8")


def _plain(markup: str) -> str:
    """The text of one example line without entity markup."""
    from rasa.shared.nlu.training_data.entities_parser import replace_entities

    return str(replace_entities(markup))


def _training_texts() -> list[str]:
    return [e.text for e in load_examples(NLU_DATA)]


def counts(path: Path = SEALED_SET) -> Counter[str]:
    """Messages per intent in the sealed file."""
    return Counter({intent: len(lines) for intent, lines in _blocks(path)})


def prune(path: Path = SEALED_SET) -> int:
    """Drops sealed messages that copy or nearly copy a training message.

    Returns:
        How many were dropped.
    """
    blocks = _blocks(path)
    flat = [(b, i) for b, (_, lines) in enumerate(blocks) for i in range(len(lines))]
    texts = [_plain(blocks[b][1][i]) for b, i in flat]
    drop = {flat[k] for k in overlapping(texts, _training_texts())}
    kept = [
        (intent, [line for i, line in enumerate(lines) if (b, i) not in drop])
        for b, (intent, lines) in enumerate(blocks)
    ]
    _write(path, kept)
    return len(drop)


def add(new: Path, path: Path = SEALED_SET) -> list[tuple[str, int]]:
    """Appends the new file's messages that copy no training (or sealed) message.

    Returns:
        (intent, position within that intent's block, 1-based) of each refused line.
    """
    blocks = _blocks(path)
    existing = [_plain(line) for _, lines in blocks for line in lines]
    training = _training_texts()
    refused = []
    merged = {intent: list(lines) for intent, lines in blocks}
    for intent, lines in _blocks(new):
        for position, line in enumerate(lines, start=1):
            text = _plain(line)
            if overlapping([text], training) or overlapping([text], existing, threshold=1.0):
                refused.append((intent, position))
                continue
            merged.setdefault(intent, []).append(line)
            existing.append(text)
    _write(path, list(merged.items()))
    return refused


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m scripts.sealed_set")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check")
    sub.add_parser("prune")
    adding = sub.add_parser("add")
    adding.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    if args.command == "prune":
        print(f"dropped {prune()} sealed messages that copy training data")
    elif args.command == "add":
        for intent, position in add(args.file):
            print(
                f"refused: {intent} line {position} (copies or nearly copies a training "
                "or sealed message)"
            )
    elif args.command == "check":
        texts = [e.text for e in load_examples(SEALED_SET)]
        print(f"{len(overlapping(texts, _training_texts()))} sealed messages copy training data")
    per_intent = counts()
    short = {i: n for i, n in sorted(per_intent.items()) if n < MIN_PER_INTENT}
    print(
        f"{sum(per_intent.values())} sealed messages; "
        f"intents under {MIN_PER_INTENT}: {short or 'none'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
