"""Compares any number of NLU pipelines side by side, trained on the same data.

Each config is trained as an NLU-only model (``--full``: NLU and dialogue, as
``make train`` does) on ``data/nlu`` with the same random seed, in a fresh
temporary directory and a fresh Rasa training cache (so no component is reused
from an earlier ``rasa train``). Each model is then loaded in this process and
parses every message of the evaluation sets (``scripts/nlu_eval.py``):

- ``sealed``: ``tests/heldout/nlu_sealed.yml``, written by someone who never saw
  the training data, reported as figures only (never the texts it got wrong);
- ``dev``: ``tests/nlu_dev/nlu_dev_set.yml``, the development set choices are made
  on (its errors go into the JSON report);
- ``dev_typos``: the development set with typing slips (neighbouring letters swapped
  in 30% of its longer words, seeded), to see whether typos cost more than before.

Figures per set: intent accuracy, macro-F1 and weighted F1 over the set's
intents, the share of messages the FallbackClassifier turned into
``nlu_fallback`` (and the accuracy without it), entity precision, recall and F1
overall and per type (exact span and type), training wall-clock time and
parse latency. ``--repeat N`` trains each config N times and reports the spread
of each figure, to show whether training repeats.

Trained models are kept in ``~/.cache/mutuals-hotline/bench/nlu/`` under a
digest of the prepared config, the data and the package versions: a later run
with the same inputs scores the kept model again and reports the training time
measured when it was trained (``--retrain`` trains anew).

Usage::

    python -m benchmarks.nlu_compare                 # config.yml and benchmarks/configs/*.yml
    python -m benchmarks.nlu_compare --baseline      # ... and the DIET pipeline it replaced
    python -m benchmarks.nlu_compare config.yml other.yml default   # any configs
    python -m benchmarks.nlu_compare --only-ours --full --repeat 2
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import importlib.util
import json
import logging
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from benchmarks.common import (
    BIN,
    CACHE_DIR,
    ROOT,
    format_table,
    machine_info,
    rasa_version,
    run_logged,
    start_benchmark,
    subprocess_env,
    tail,
    warn_if_busy,
    write_report,
)
from scripts import nlu_eval

OUR_CONFIG = ROOT / "config.yml"
CANDIDATES_DIR = ROOT / "benchmarks" / "configs"
BASELINE_CONFIG = ROOT / "benchmarks" / "baselines" / "diet_baseline.yml"
NLU_DATA = nlu_eval.NLU_DATA
EVALUATION_SETS = {
    "sealed": nlu_eval.SEALED_SET,
    "dev": nlu_eval.DEV_SET,
    "dev_typos": nlu_eval.DEV_SET,
}
REPORT_NAME = "nlu_compare.json"
# Components that take a seed / an epoch count in Rasa 3.6.
SEEDED_COMPONENTS = {"DIETClassifier", "ResponseSelector", "TEDPolicy", "UnexpecTEDIntentPolicy"}
SEEDED_AS_RANDOM_STATE = {"LogisticRegressionClassifier"}
EPOCH_COMPONENTS = {"DIETClassifier", "ResponseSelector"}
# DIET (the baseline) takes 15-20 minutes alone on 2 cores, far longer beside other work.
TRAIN_TIMEOUT_SECONDS = 90 * 60


def rasa_default_config() -> Path:
    """The config Rasa 3.6 uses when ``pipeline:`` is left empty (as ``rasa init`` leaves it).

    ``rasa init`` writes a ``config.yml`` whose pipeline is commented out; Rasa
    then fills it from ``rasa/engine/recipes/config_files/default_config.yml``.
    """
    spec = importlib.util.find_spec("rasa")
    if spec is None or spec.origin is None:
        raise RuntimeError("Rasa is not installed in this interpreter")
    path = Path(spec.origin).parent / "engine" / "recipes" / "config_files" / "default_config.yml"
    if not path.exists():
        raise RuntimeError(f"Rasa's default config is not where Rasa 3.6 keeps it: {path}")
    return path


@dataclass(frozen=True)
class Candidate:
    """One pipeline to train and score."""

    label: str
    source: Path


@dataclass(frozen=True)
class HeldOutExample:
    """A held-out message and its gold annotation."""

    text: str
    intent: str
    # (entity type, start, end, value)
    entities: tuple[tuple[str, int, int, str], ...]


# --- preparing and training ------------------------------------------------------


def prepare_config(
    source: Path, target: Path, label: str, seed: int, epochs: int | None, full: bool = False
) -> list[dict[str, Any]]:
    """Writes a copy of a config with the seed (and epochs) applied, NLU-only unless ``full``.

    Args:
        source: The config to copy.
        target: Where to write it.
        label: Used for the assistant id when the source has Rasa's placeholder.
        seed: ``random_seed`` for every component that takes one.
        epochs: If given, ``epochs`` for DIETClassifier and ResponseSelector.
        full: Keep the dialogue policies (the config's own, or Rasa's default ones).

    Returns:
        The pipeline as written.

    Raises:
        ValueError: If the config has no pipeline.
    """
    config = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    pipeline = config.get("pipeline")
    if not pipeline:
        raise ValueError(f"{source} has no NLU pipeline")
    for component in pipeline:
        if component.get("name") in SEEDED_COMPONENTS:
            component["random_seed"] = seed
        if component.get("name") in SEEDED_AS_RANDOM_STATE:
            component["random_state"] = seed
        if epochs is not None and component.get("name") in EPOCH_COMPONENTS:
            component["epochs"] = epochs
    if not full:
        config.pop("policies", None)
    if config.get("assistant_id", "placeholder_default") == "placeholder_default":
        config["assistant_id"] = f"nlu-compare-{label}"
    target.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return list(pipeline)


def train(
    candidate: Candidate, config: Path, workdir: Path, full: bool = False
) -> tuple[Path, float]:
    """Trains a model in a subprocess: ``rasa train nlu``, or ``rasa train`` when ``full``.

    Args:
        candidate: What to train.
        config: The prepared config.
        workdir: Temporary directory for the model, the log and Rasa's cache.
        full: Train NLU and dialogue (domain, rules and stories) as ``make train`` does.

    Returns:
        The model's path and the wall-clock training time in seconds.

    Raises:
        RuntimeError: If training fails (the message ends with the log's tail).
    """
    out = workdir / "models"
    log = workdir / f"train-{candidate.label}.log"
    if full:
        argv = [
            str(BIN / "rasa"),
            "train",
            "--config",
            str(config),
            "--domain",
            str(ROOT / "domain.yml"),
            "--data",
            str(ROOT / "data"),
        ]
    else:
        argv = [str(BIN / "rasa"), "train", "nlu", "--config", str(config), "--nlu", str(NLU_DATA)]
    argv += ["--out", str(out), "--fixed-model-name", candidate.label]
    # A fresh cache: otherwise components trained earlier with the same inputs
    # (e.g. by `make train`) are reused and the training time means nothing.
    env = subprocess_env({"RASA_CACHE_DIRECTORY": str(workdir / f"cache-{candidate.label}")})
    code, seconds = run_logged(argv, log, env=env, timeout=TRAIN_TIMEOUT_SECONDS)
    model = out / f"{candidate.label}.tar.gz"
    if code != 0 or not model.exists():
        raise RuntimeError(
            f"`{' '.join(argv[1:3])}` for {candidate.label} failed (exit {code}):\n{tail(log)}"
        )
    return model, seconds


# Packages whose version changes what training produces.
FINGERPRINT_PACKAGES = ("rasa", "tensorflow", "spacy", "en-core-web-md", "scikit-learn")
MODEL_CACHE = CACHE_DIR / "nlu"
MODEL_CACHE_KEEP = 16


def our_component_files(config_text: str) -> list[Path]:
    """The ``bot/nlu`` modules a config names, with the ``bot.nlu`` modules they import."""
    pattern = re.compile(r"\bbot\.nlu\.(\w+)")
    pending = set(pattern.findall(config_text))
    found: set[Path] = set()
    while pending:
        path = ROOT / "bot" / "nlu" / f"{pending.pop()}.py"
        if path in found or not path.is_file():
            continue
        found.add(path)
        pending.update(pattern.findall(path.read_text(encoding="utf-8")))
    return sorted(found)


def fingerprint(config: Path, full: bool = False) -> str:
    """A digest of everything a model depends on: config, data and package versions."""
    text = config.read_bytes()
    digest = hashlib.sha256(text)
    paths = sorted(NLU_DATA.rglob("*.yml"))
    if full:
        paths = [ROOT / "domain.yml", *sorted((ROOT / "data").rglob("*.yml"))]
    # Our own components: a change to their code (or to what they import of
    # bot.nlu) is a different model; a change to another component's is not.
    paths += our_component_files(text.decode("utf-8"))
    for path in paths:
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    for package in FINGERPRINT_PACKAGES:
        try:
            digest.update(f"{package}=={metadata.version(package)}".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{package} missing".encode())
    return digest.hexdigest()[:16]


def cached_model(label: str, key: str) -> tuple[Path, dict[str, Any]] | None:
    """A model trained earlier from the same inputs, with how long its training took."""
    model, meta = MODEL_CACHE / f"{label}-{key}.tar.gz", MODEL_CACHE / f"{label}-{key}.json"
    if model.exists() and meta.exists():
        try:
            return model, {**json.loads(meta.read_text(encoding="utf-8")), "cached": True}
        except ValueError:
            return None
    return None


def store_model(label: str, key: str, model: Path, train_seconds: float) -> dict[str, Any]:
    """Keeps a trained model and its training time for later runs (the newest few only).

    Returns:
        The figures stored beside the model.
    """
    MODEL_CACHE.mkdir(parents=True, exist_ok=True)
    shutil.copy2(model, MODEL_CACHE / f"{label}-{key}.tar.gz")
    meta = {
        "train_seconds": round(train_seconds, 1),
        "trained_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "load_average_1m_after": round(os.getloadavg()[0], 2),
    }
    (MODEL_CACHE / f"{label}-{key}.json").write_text(json.dumps(meta), encoding="utf-8")
    models = sorted(MODEL_CACHE.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in models[MODEL_CACHE_KEEP:]:
        old.unlink(missing_ok=True)
        old.with_name(old.name.removesuffix(".tar.gz") + ".json").unlink(missing_ok=True)
    return meta


@dataclass(frozen=True)
class Prepared:
    """A candidate with its prepared config and that config's fingerprint."""

    candidate: Candidate
    config: Path
    pipeline: list[dict[str, Any]]
    key: str


def obtain_models(
    prepared: Sequence[Prepared], workdir: Path, retrain: bool, full: bool = False
) -> dict[str, tuple[Path, dict[str, Any]]]:
    """Reuses cached models where the inputs match and trains the others, one at a time.

    One at a time because two trainings on a two-core machine slow each other
    down about as much as they save, and the training times would then measure
    the contention.

    Args:
        prepared: The candidates.
        workdir: Temporary directory for training.
        retrain: Ignore the cache.
        full: Train NLU and dialogue.

    Returns:
        For each label, the model and its training figures (``cached`` says whether
        they come from an earlier run).

    Raises:
        RuntimeError: If a training fails.
    """
    models: dict[str, tuple[Path, dict[str, Any]]] = {}
    for item in prepared:
        label = item.candidate.label
        found = None if retrain else cached_model(label, item.key)
        if found is not None:
            print(
                f"[{label}] same config and data as a model trained "
                f"{found[1].get('trained_at')} in {found[1]['train_seconds']:.1f} s: reusing "
                "it (--retrain to train again)",
                flush=True,
            )
            models[label] = found
            continue
        print(f"[{label}] training ({item.candidate.source}) ...", flush=True)
        model, seconds = train(item.candidate, item.config, workdir, full)
        print(f"[{label}] trained in {seconds:.1f} s", flush=True)
        meta = store_model(label, item.key, model, seconds)
        models[label] = (model, {**meta, "cached": False})
    return models


# --- the run --------------------------------------------------------------------------

TABLE_ROWS: list[tuple[str, str, int]] = [
    ("intent accuracy", "intent_accuracy", 3),
    ("intent macro-F1", "intent_macro_f1", 3),
    ("intent weighted F1", "intent_weighted_f1", 3),
    ("fallback rate", "fallback_rate", 3),
    ("accuracy ignoring fallback", "intent_accuracy_without_fallback", 3),
    ("entity precision", "entity_precision", 3),
    ("entity recall", "entity_recall", 3),
    ("entity F1", "entity_f1", 3),
]


def resolve_configs(names: Sequence[str], baseline: bool) -> list[Candidate]:
    """The candidates: the configs named, or ours and every file in benchmarks/configs.

    ``default`` names Rasa's default pipeline; a config's label is its file stem
    (``ours`` for the project's ``config.yml``).
    """
    paths: list[Path | str] = list(names) or [OUR_CONFIG, *sorted(CANDIDATES_DIR.glob("*.yml"))]
    if baseline:
        paths.append(BASELINE_CONFIG)
    candidates = []
    for item in paths:
        if item == "default":
            candidates.append(Candidate("default", rasa_default_config()))
            continue
        path = Path(item).resolve()
        if not path.exists():
            raise ValueError(f"no config at {item}")
        label = "ours" if path == OUR_CONFIG else path.stem
        if any(c.label == label for c in candidates):
            continue
        candidates.append(Candidate(label, path))
    return candidates


def spread(values: Sequence[float]) -> float:
    """Largest minus smallest (0 for one value)."""
    return round(max(values) - min(values), 4) if values else 0.0


def render(results: dict[str, dict[str, Any]], sets: Sequence[str]) -> str:
    """Side-by-side tables: training time, then each evaluation set's headline figures."""
    labels = list(results)
    rows: list[list[str]] = []
    times = []
    for label in labels:
        runs = results[label]["runs"]
        cell = "/".join(f"{r['train_seconds']:.0f}" for r in runs)
        if any(r["cached"] for r in runs):
            cell += "*"
        times.append(cell)
    rows.append(["training time (s)", *times])
    rows.append(["model size (MB)", *(f"{results[k]['model_mb']:.1f}" for k in labels)])
    for name in sets:
        for title, key, digits in TABLE_ROWS:
            cells = []
            for label in labels:
                values = [r["sets"][name][key] for r in results[label]["runs"]]
                cell = f"{values[0]:.{digits}f}"
                if len(values) > 1:
                    cell += f" ±{spread(values):.{digits}f}"
                cells.append(cell)
            rows.append([f"{name}: {title}", *cells])
        rows.append(
            [
                f"{name}: parse latency median (ms)",
                *(f"{results[k]['runs'][0]['sets'][name]['parse_ms_median']:.1f}" for k in labels),
            ]
        )
    table = format_table(["metric", *labels], rows)
    if any(r["cached"] for v in results.values() for r in v["runs"]):
        table += "\n* a model reused from the cache; time measured when it was trained"
    if any(len(v["runs"]) > 1 for v in results.values()):
        table += "\n± the spread (largest minus smallest) over the repeated trainings"
    return table


def entity_table(results: dict[str, dict[str, Any]], set_name: str) -> str:
    """Entity precision / recall per type on one set, one column per config."""
    labels = list(results)
    kinds = sorted(
        {k for v in results.values() for k in v["runs"][0]["sets"][set_name]["per_entity_type"]}
    )
    rows = []
    for kind in kinds:
        cells = []
        for label in labels:
            figures = results[label]["runs"][0]["sets"][set_name]["per_entity_type"].get(kind)
            cells.append(
                "-"
                if figures is None
                else f"{figures['precision']:.2f}/{figures['recall']:.2f} (n={figures['support']})"
            )
        rows.append([kind, *cells])
    return format_table([f"{set_name}: entity P/R", *labels], rows)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Reads the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.nlu_compare",
        description="Train NLU pipelines on data/nlu and score them side by side on the "
        "sealed and development sets.",
    )
    parser.add_argument(
        "configs",
        nargs="*",
        help="configs to compare ('default' = Rasa's default pipeline); "
        "default: config.yml and benchmarks/configs/*.yml",
    )
    parser.add_argument(
        "--baseline",
        action="store_true",
        help=f"add the pipeline this one replaced ({BASELINE_CONFIG.name}, "
        "DIET: about 20 minutes to train)",
    )
    parser.add_argument("--only-ours", action="store_true", help="config.yml only")
    parser.add_argument(
        "--full",
        action="store_true",
        help="train NLU and dialogue (`rasa train`), as `make train` does",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="train each config this many times and report the spread",
    )
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help="override DIETClassifier/ResponseSelector epochs (quick runs)",
    )
    parser.add_argument(
        "--seed", type=int, default=1, help="random seed for every seeded component (default 1)"
    )
    parser.add_argument(
        "--sets",
        default="sealed,dev,dev_typos",
        help="evaluation sets, comma-separated: sealed, dev, dev_typos (the dev "
        "set with neighbouring letters swapped in 30%% of its longer words)",
    )
    parser.add_argument(
        "--report",
        type=Path,
        default=None,
        help=f"where to write the JSON (default reports/{REPORT_NAME})",
    )
    parser.add_argument(
        "--retrain",
        action="store_true",
        help="train even if a model from the same config and data is cached",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary directory (models, configs, logs)"
    )
    args = parser.parse_args(argv)
    if args.epochs is not None and args.epochs < 1:
        parser.error("--epochs must be at least 1")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    args.sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    unknown = [s for s in args.sets if s not in EVALUATION_SETS]
    if unknown or not args.sets:
        parser.error(f"--sets takes {', '.join(EVALUATION_SETS)}, not {unknown}")
    if args.only_ours:
        args.configs = [str(OUR_CONFIG)]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for ``python -m benchmarks.nlu_compare``."""
    args = parse_args(argv)
    start_benchmark()
    from rasa.utils.log_utils import configure_structlog

    # Rasa's structured logger would print every parse at debug level.
    configure_structlog(logging.WARNING)
    logging.getLogger("rasa").setLevel(logging.WARNING)
    began = time.perf_counter()
    machine = machine_info()
    warn_if_busy()
    try:
        candidates = resolve_configs(args.configs, args.baseline)
    except ValueError as error:
        print(f"FAILED: {error}", file=sys.stderr)
        return 2

    training = nlu_eval.load_examples(NLU_DATA)
    training_texts = [e.text for e in training]
    sets = {name: nlu_eval.load_examples(EVALUATION_SETS[name]) for name in args.sets}
    if "dev_typos" in sets:
        sets["dev_typos"] = nlu_eval.with_typos(sets["dev_typos"])
    overlap = {
        name: len(nlu_eval.overlapping([e.text for e in examples], training_texts))
        for name, examples in sets.items()
    }
    print(
        f"Training data: {len(training)} examples, {len({e.intent for e in training})} "
        "intents; evaluation: "
        + ", ".join(f"{name} {len(examples)} messages" for name, examples in sets.items())
    )
    for name, count in overlap.items():
        if count:
            print(
                f"WARNING: {count} {name} messages copy or nearly copy training data; "
                f"its figures are inflated."
            )

    workdir = Path(tempfile.mkdtemp(prefix="nlu-compare-"))
    results: dict[str, dict[str, Any]] = {}
    suffix = "-full" if args.full else ""
    try:
        prepared: list[Prepared] = []
        for candidate in candidates:
            for run in range(1, args.repeat + 1):
                # Each repeat is its own label, so it is trained (and cached) on its own.
                label = candidate.label + suffix + (f"~{run}" if run > 1 else "")
                config = workdir / f"config-{label}.yml"
                pipeline = prepare_config(
                    candidate.source, config, candidate.label, args.seed, args.epochs, args.full
                )
                prepared.append(
                    Prepared(
                        Candidate(label, candidate.source),
                        config,
                        pipeline,
                        fingerprint(config, args.full),
                    )
                )
        models = obtain_models(prepared, workdir, args.retrain, args.full)

        for item in prepared:
            label = item.candidate.label
            model, meta = models[label]
            name = label.split("~")[0]
            print(f"[{label}] scoring ...", flush=True)
            scored = {}
            # One load per model: every set's messages parsed in one go, then split.
            texts = [e.text for examples in sets.values() for e in examples]
            everything, load_seconds = nlu_eval.parse_with(model, texts)
            start = 0
            for set_name, examples in sets.items():
                parsed = everything[start : start + len(examples)]
                start += len(examples)
                figures = nlu_eval.score(
                    examples, [p for p, _ in parsed], with_errors=set_name == "dev"
                )
                latencies = sorted(seconds for _, seconds in parsed)
                figures["parse_ms_median"] = round(latencies[len(latencies) // 2] * 1000, 2)
                figures["model_load_seconds"] = round(load_seconds, 1)
                scored[set_name] = figures
            entry = results.setdefault(
                name,
                {
                    "config_source": str(item.candidate.source),
                    "pipeline": item.pipeline,
                    "fingerprint": item.key,
                    "model_mb": round(model.stat().st_size / 1024 / 1024, 1),
                    "runs": [],
                },
            )
            entry["runs"].append(
                {
                    "train_seconds": meta["train_seconds"],
                    "cached": meta["cached"],
                    "training": meta,
                    "sets": scored,
                }
            )
    except (RuntimeError, ValueError) as error:
        print(f"FAILED: {error}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"Kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    print()
    print(render(results, args.sets))
    for set_name in args.sets:
        print()
        print(entity_table(results, set_name))
    report = {
        "benchmark": "nlu_compare",
        "machine": {**machine, "load_average_1m_end": round(os.getloadavg()[0], 2)},
        "settings": {
            "seed": args.seed,
            "full_training": args.full,
            "repeat": args.repeat,
            "epochs_override": args.epochs,
            "training_examples": len(training),
            "sets": {
                name: {
                    "path": str(EVALUATION_SETS[name].relative_to(ROOT)),
                    "messages": len(examples),
                    "entities": sum(len(e.entities) for e in examples),
                    "overlap_with_training": overlap[name],
                }
                for name, examples in sets.items()
            },
            "rasa": rasa_version(),
            "notes": [
                "intent metrics use the final intent, so nlu_fallback counts as a miss; "
                "macro/weighted F1 are over the set's intents",
                "entities match with the exact span and type (values as typed are not compared)",
                "the sealed set is reported as figures only; the dev set also lists its errors",
                "training time is the wall clock of `rasa train nlu` (`rasa train` with "
                "--full): process start, imports, featurising, training, packaging, with an "
                "empty training cache, one model at a time",
                "parse latency is Agent.parse_message in-process, one message at a time",
            ],
        },
        "results": results,
        "wall_seconds": round(time.perf_counter() - began, 1),
    }
    path = write_report(REPORT_NAME, report, args.report)
    print(
        f"\nReport: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} "
        f"({report['wall_seconds']:.0f} s in all)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
