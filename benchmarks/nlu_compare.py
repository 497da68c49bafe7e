"""Compares our NLU pipeline with Rasa's default one on the held-out set.

Both are trained as NLU-only models on the same data (``data/nlu``) with the
same random seed, each in a fresh temporary directory and a fresh Rasa training
cache (so no component is reused from an earlier ``rasa train``). Each model is
then loaded in this process with :meth:`rasa.core.agent.Agent.load` and parses
every message of ``tests/heldout/nlu_heldout.yml``, which is never trained on.

Figures: intent accuracy, macro-F1 and weighted F1 over the held-out intents,
the share of messages the FallbackClassifier turned into ``nlu_fallback`` (and
the accuracy the classifier would have had without it), entity precision,
recall and F1 (a predicted entity counts only with the exact span, type and
value), training wall-clock time and median parse latency.

Trained models are kept in
``~/.cache/mutuals-hotline/bench/nlu/`` under a digest of the prepared config,
``data/nlu`` and the package versions: a later run with the same inputs scores
the kept model again and reports the training time measured when it was
trained (``--retrain`` trains anew).

Usage::

    python -m benchmarks.nlu_compare                  # ours vs Rasa's default
    python -m benchmarks.nlu_compare --epochs 5       # quick plumbing check
    python -m benchmarks.nlu_compare --only ours
    python -m benchmarks.nlu_compare --config-b other_config.yml
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import gc
import hashlib
import importlib.util
import json
import logging
import os
import shutil
import sys
import tempfile
import time
import warnings
from collections import Counter
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
    percentile,
    rasa_version,
    run_logged,
    start_benchmark,
    subprocess_env,
    tail,
    warn_if_busy,
    write_report,
)

OUR_CONFIG = ROOT / "config.yml"
NLU_DATA = ROOT / "data" / "nlu"
HELDOUT = ROOT / "tests" / "heldout" / "nlu_heldout.yml"
REPORT_NAME = "nlu_compare.json"
FALLBACK_INTENT = "nlu_fallback"
# Components that take a seed / an epoch count in Rasa 3.6.
SEEDED_COMPONENTS = {"DIETClassifier", "ResponseSelector", "TEDPolicy", "UnexpecTEDIntentPolicy"}
EPOCH_COMPONENTS = {"DIETClassifier", "ResponseSelector"}
TRAIN_TIMEOUT_SECONDS = 45 * 60


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
    source: Path, target: Path, label: str, seed: int, epochs: int | None
) -> list[dict[str, Any]]:
    """Writes an NLU-only copy of a config with the seed (and epochs) applied.

    Args:
        source: The config to copy.
        target: Where to write it.
        label: Used for the assistant id when the source has Rasa's placeholder.
        seed: ``random_seed`` for every component that takes one.
        epochs: If given, ``epochs`` for DIETClassifier and ResponseSelector.

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
        if epochs is not None and component.get("name") in EPOCH_COMPONENTS:
            component["epochs"] = epochs
    config.pop("policies", None)
    if config.get("assistant_id", "placeholder_default") == "placeholder_default":
        config["assistant_id"] = f"nlu-compare-{label}"
    target.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return list(pipeline)


def train(candidate: Candidate, config: Path, workdir: Path) -> tuple[Path, float]:
    """Trains an NLU-only model with ``rasa train nlu`` in a subprocess.

    Args:
        candidate: What to train.
        config: The prepared config.
        workdir: Temporary directory for the model, the log and Rasa's cache.

    Returns:
        The model's path and the wall-clock training time in seconds.

    Raises:
        RuntimeError: If training fails (the message ends with the log's tail).
    """
    out = workdir / "models"
    log = workdir / f"train-{candidate.label}.log"
    argv = [
        str(BIN / "rasa"), "train", "nlu", "--config", str(config), "--nlu", str(NLU_DATA),
        "--out", str(out), "--fixed-model-name", candidate.label,
    ]
    # A fresh cache: otherwise components trained earlier with the same inputs
    # (e.g. by `make train`) are reused and the training time means nothing.
    env = subprocess_env({"RASA_CACHE_DIRECTORY": str(workdir / f"cache-{candidate.label}")})
    code, seconds = run_logged(argv, log, env=env, timeout=TRAIN_TIMEOUT_SECONDS)
    model = out / f"{candidate.label}.tar.gz"
    if code != 0 or not model.exists():
        raise RuntimeError(
            f"`rasa train nlu` for {candidate.label} failed (exit {code}):\n{tail(log)}"
        )
    return model, seconds


# Packages whose version changes what training produces.
FINGERPRINT_PACKAGES = ("rasa", "tensorflow", "spacy", "en-core-web-md", "scikit-learn")
MODEL_CACHE = CACHE_DIR / "nlu"
MODEL_CACHE_KEEP = 8


def fingerprint(config: Path) -> str:
    """A digest of everything an NLU model depends on: config, data and package versions."""
    digest = hashlib.sha256(config.read_bytes())
    for path in sorted(NLU_DATA.rglob("*.yml")):
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
    prepared: Sequence[Prepared], workdir: Path, retrain: bool
) -> dict[str, tuple[Path, dict[str, Any]]]:
    """Reuses cached models where the inputs match and trains the others, one at a time.

    One at a time because two trainings on a two-core machine slow each other
    down about as much as they save, and the training times would then measure
    the contention.

    Args:
        prepared: The candidates.
        workdir: Temporary directory for training.
        retrain: Ignore the cache.

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
            print(f"[{label}] same config and data as a model trained "
                  f"{found[1].get('trained_at')} in {found[1]['train_seconds']:.1f} s: reusing "
                  "it (--retrain to train again)", flush=True)
            models[label] = found
            continue
        print(f"[{label}] training ({item.candidate.source}) ...", flush=True)
        model, seconds = train(item.candidate, item.config, workdir)
        print(f"[{label}] trained in {seconds:.1f} s", flush=True)
        meta = store_model(label, item.key, model, seconds)
        models[label] = (model, {**meta, "cached": False})
    return models


# --- data -----------------------------------------------------------------------------


def load_examples(path: Path) -> list[HeldOutExample]:
    """Reads Rasa NLU YAML (a file or a folder) into plain examples."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    examples = []
    for message in data.intent_examples:
        entities = tuple(
            (str(e["entity"]), int(e["start"]), int(e["end"]), str(e["value"]))
            for e in message.get("entities") or []
        )
        examples.append(HeldOutExample(message.get("text"), message.get("intent"), entities))
    return examples


def training_data_summary() -> tuple[dict[str, Any], set[str]]:
    """What the models are trained on, so reports from different data are not compared.

    Returns:
        The summary for the report, and the training texts (lower-cased) for the
        overlap check against the held-out set.
    """
    files = sorted(p.relative_to(ROOT).as_posix() for p in NLU_DATA.rglob("*.yml"))
    examples = load_examples(NLU_DATA)
    return {
        "files": files,
        "examples": len(examples),
        "intents": len({e.intent for e in examples}),
        # Generated from the awards database; the lookup tables feed RegexFeaturizer.
        "awards_lookup_present": (NLU_DATA / "awards_lookup.yml").exists(),
    }, {e.text.strip().lower() for e in examples}


# --- scoring --------------------------------------------------------------------------


async def _parse_all(agent: Any, texts: Sequence[str]) -> list[tuple[dict[str, Any], float]]:
    """Parses each text in turn, timing each parse (one warm-up parse first)."""
    await agent.parse_message("hello")
    results = []
    for text in texts:
        started = time.perf_counter()
        parsed = await agent.parse_message(text)
        results.append((parsed, time.perf_counter() - started))
    return results


def top_non_fallback(parsed: dict[str, Any]) -> str | None:
    """The classifier's best intent, ignoring the FallbackClassifier's verdict."""
    for ranked in parsed.get("intent_ranking") or []:
        if ranked.get("name") != FALLBACK_INTENT:
            return str(ranked.get("name"))
    intent = (parsed.get("intent") or {}).get("name")
    return None if intent == FALLBACK_INTENT else intent


def prf(tp: int, n_pred: int, n_gold: int) -> dict[str, float]:
    """Precision, recall and F1 from counts (0 where undefined)."""
    precision = tp / n_pred if n_pred else 0.0
    recall = tp / n_gold if n_gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def score(model: Path, examples: Sequence[HeldOutExample]) -> dict[str, Any]:
    """Loads a model in-process, parses every held-out message and computes the metrics.

    Args:
        model: The trained model archive.
        examples: The held-out set.

    Returns:
        Metrics, per-intent and per-entity-type figures, and the commonest confusions.
    """
    from rasa.core.agent import Agent
    from sklearn.metrics import accuracy_score, classification_report, f1_score

    with warnings.catch_warnings():
        # Config warnings (e.g. evaluation epochs beyond a short --epochs) and library
        # deprecations are not news here.
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        load_started = time.perf_counter()
        agent = Agent.load(model)
        load_seconds = time.perf_counter() - load_started
        parsed = asyncio.run(_parse_all(agent, [e.text for e in examples]))
    del agent
    gc.collect()

    gold = [e.intent for e in examples]
    predicted = [str((p.get("intent") or {}).get("name")) for p, _ in parsed]
    without_fallback = [str(top_non_fallback(p)) for p, _ in parsed]
    # Macro-F1 over the held-out intents only: a predicted `nlu_fallback` is a
    # miss for the true intent, not a class of its own dragging the mean down.
    labels = sorted(set(gold))
    report = classification_report(
        gold, predicted, labels=labels, output_dict=True, zero_division=0
    )

    gold_entities: Counter[tuple[Any, ...]] = Counter()
    predicted_entities: Counter[tuple[Any, ...]] = Counter()
    for index, (example, (result, _)) in enumerate(zip(examples, parsed, strict=True)):
        gold_entities.update((index, *entity) for entity in example.entities)
        predicted_entities.update(
            (index, str(e.get("entity")), int(e.get("start", -1)), int(e.get("end", -1)),
             str(e.get("value")))
            for e in result.get("entities") or []
        )
    matched = gold_entities & predicted_entities
    per_type = {}
    for entity_type in sorted({k[1] for k in gold_entities} | {k[1] for k in predicted_entities}):
        def count(counter: Counter[tuple[Any, ...]], wanted: str = entity_type) -> int:
            return sum(n for key, n in counter.items() if key[1] == wanted)

        per_type[entity_type] = {
            **prf(count(matched), count(predicted_entities), count(gold_entities)),
            "support": count(gold_entities),
        }

    confusions = Counter(
        (g, p) for g, p in zip(gold, predicted, strict=True) if g != p
    ).most_common(12)
    latencies = [seconds for _, seconds in parsed]
    entity_scores = prf(
        sum(matched.values()), sum(predicted_entities.values()), sum(gold_entities.values())
    )
    return {
        "intent_accuracy": round(float(accuracy_score(gold, predicted)), 4),
        "intent_macro_f1": round(
            float(f1_score(gold, predicted, labels=labels, average="macro", zero_division=0)), 4
        ),
        "intent_weighted_f1": round(
            float(f1_score(gold, predicted, labels=labels, average="weighted", zero_division=0)), 4
        ),
        "fallback_rate": round(predicted.count(FALLBACK_INTENT) / len(predicted), 4),
        "intent_accuracy_without_fallback": round(
            float(accuracy_score(gold, without_fallback)), 4
        ),
        "entity_precision": entity_scores["precision"],
        "entity_recall": entity_scores["recall"],
        "entity_f1": entity_scores["f1"],
        "entity_support": sum(gold_entities.values()),
        "parse_ms_median": round((percentile(latencies, 50) or 0.0) * 1000, 2),
        "parse_ms_p95": round((percentile(latencies, 95) or 0.0) * 1000, 2),
        "model_load_seconds": round(load_seconds, 1),
        "per_intent": {
            label: {k: round(float(v), 4) for k, v in report[label].items()} for label in labels
        },
        "per_entity_type": per_type,
        "top_confusions": [
            {"gold": g, "predicted": p, "count": n} for (g, p), n in confusions
        ],
    }


# --- the run --------------------------------------------------------------------------

TABLE_ROWS: list[tuple[str, str, int]] = [
    ("training time (s)", "train_seconds", 1),
    ("intent accuracy", "intent_accuracy", 3),
    ("intent macro-F1", "intent_macro_f1", 3),
    ("intent weighted F1", "intent_weighted_f1", 3),
    ("fallback rate", "fallback_rate", 3),
    ("accuracy ignoring fallback", "intent_accuracy_without_fallback", 3),
    ("entity precision", "entity_precision", 3),
    ("entity recall", "entity_recall", 3),
    ("entity F1", "entity_f1", 3),
    ("parse latency median (ms)", "parse_ms_median", 1),
    ("parse latency p95 (ms)", "parse_ms_p95", 1),
    ("model size (MB)", "model_mb", 1),
]


def render(results: dict[str, dict[str, Any]]) -> str:
    """The side-by-side table of the headline figures."""
    labels = list(results)
    rows = []
    for title, key, digits in TABLE_ROWS:
        cells = []
        for label in labels:
            value = results[label].get(key)
            cell = "-" if value is None else f"{float(value):.{digits}f}"
            if key == "train_seconds" and results[label]["training"]["cached"]:
                cell += "*"
            cells.append(cell)
        rows.append([title, *cells])
    table = format_table(["metric", *labels], rows)
    if any(r["training"]["cached"] for r in results.values()):
        table += "\n* model reused from the cache; time measured when it was trained"
    return table


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Reads the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.nlu_compare",
        description="Train our NLU pipeline and Rasa's default on data/nlu; score both on "
        "tests/heldout.",
    )
    parser.add_argument("--epochs", type=int, default=None,
                        help="override DIETClassifier/ResponseSelector epochs (quick runs)")
    parser.add_argument("--only", choices=("ours", "default"), default=None,
                        help="train and score one candidate only ('default' means --config-b)")
    parser.add_argument("--config-b", type=Path, default=None,
                        help="compare against this config instead of Rasa's default pipeline")
    parser.add_argument("--seed", type=int, default=1,
                        help="random_seed for every seeded component of both (default 1)")
    parser.add_argument("--heldout", type=Path, default=HELDOUT, help="held-out NLU YAML")
    parser.add_argument("--report", type=Path, default=None,
                        help=f"where to write the JSON (default reports/{REPORT_NAME})")
    parser.add_argument("--retrain", action="store_true",
                        help="train even if a model from the same config and data is cached")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary directory (models, configs, logs)")
    args = parser.parse_args(argv)
    if args.epochs is not None and args.epochs < 1:
        parser.error("--epochs must be at least 1")
    if args.config_b is not None and not args.config_b.exists():
        parser.error(f"--config-b {args.config_b} does not exist")
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

    candidates = [Candidate("ours", OUR_CONFIG)]
    if args.config_b is not None:
        candidates.append(Candidate(args.config_b.stem, args.config_b.resolve()))
    else:
        candidates.append(Candidate("default", rasa_default_config()))
    if args.only == "ours":
        candidates = candidates[:1]
    elif args.only == "default":
        candidates = candidates[1:]

    data, training_texts = training_data_summary()
    heldout = load_examples(args.heldout)
    overlap = sorted({e.text for e in heldout if e.text.strip().lower() in training_texts})
    print(f"Training data: {data['examples']} examples, {data['intents']} intents "
          f"({len(data['files'])} files); held-out: {len(heldout)} messages.")
    if not data["awards_lookup_present"]:
        print("Note: data/nlu/awards_lookup.yml is missing (run `python -m bot awards "
              "entities`): trained without the awards lookup tables.")
    if overlap:
        print(f"WARNING: {len(overlap)} held-out messages also appear in the training data "
              f"(e.g. {overlap[0]!r}); the held-out figures are inflated.")

    workdir = Path(tempfile.mkdtemp(prefix="nlu-compare-"))
    results: dict[str, dict[str, Any]] = {}
    try:
        prepared: list[Prepared] = []
        for candidate in candidates:
            config = workdir / f"config-{candidate.label}.yml"
            pipeline = prepare_config(candidate.source, config, candidate.label, args.seed,
                                      args.epochs)
            prepared.append(Prepared(candidate, config, pipeline, fingerprint(config)))
        models = obtain_models(prepared, workdir, args.retrain)

        for item in prepared:
            model, meta = models[item.candidate.label]
            print(f"[{item.candidate.label}] scoring {len(heldout)} held-out messages ...",
                  flush=True)
            results[item.candidate.label] = {
                "config_source": str(item.candidate.source),
                "pipeline": item.pipeline,
                "fingerprint": item.key,
                "train_seconds": meta["train_seconds"],
                "training": meta,
                "model_mb": round(model.stat().st_size / 1024 / 1024, 1),
                **score(model, heldout),
            }
    except (RuntimeError, ValueError) as error:
        print(f"FAILED: {error}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"Kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)

    print()
    print(render(results))
    report = {
        "benchmark": "nlu_compare",
        "machine": {**machine, "load_average_1m_end": round(os.getloadavg()[0], 2)},
        "settings": {
            "seed": args.seed,
            "epochs_override": args.epochs,
            "training_data": data,
            "heldout": str(args.heldout.resolve().relative_to(ROOT))
            if args.heldout.resolve().is_relative_to(ROOT) else str(args.heldout),
            "heldout_messages": len(heldout),
            "heldout_entities": sum(len(e.entities) for e in heldout),
            "heldout_overlap_with_training": overlap,
            "rasa": rasa_version(),
            "notes": [
                "intent metrics use the final intent, so nlu_fallback counts as a miss; "
                "macro/weighted F1 are over the held-out intents",
                "entities match only with the exact span, type and value",
                "training time is the wall clock of `rasa train nlu` (process start, "
                "imports, featurising, training, packaging) with an empty training cache, "
                "one model at a time; training.cached says if it was measured by an earlier run",
                "parse latency is Agent.parse_message in-process, one message at a time",
            ],
        },
        "results": results,
        "wall_seconds": round(time.perf_counter() - began, 1),
    }
    path = write_report(REPORT_NAME, report, args.report)
    print(f"\nReport: {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path} "
          f"({report['wall_seconds']:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
