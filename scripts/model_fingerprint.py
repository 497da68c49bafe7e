"""Names a trained Rasa model after its inputs, and checks a model against them.

`make` names the model after a fingerprint of everything it depends on, so
training runs only when training data, domain, config or the pinned packages
change, and a cache outside the checkout (shared by clones on one machine, as
CI's are) can be reused. A name proves nothing, though: beside each model
``scripts/train.sh`` writes a manifest (``<model>.json``) with the SHA-256 of
every input and of the archive itself, and a model is used only when
:func:`verify` finds that the archive is the one trained, from the inputs the
project has now, and that the domain packed inside it is the project's.

Usage::

    python scripts/model_fingerprint.py [ROOT]             # print the fingerprint
    python scripts/model_fingerprint.py manifest MODEL     # write MODEL's manifest
    python scripts/model_fingerprint.py verify MODEL       # exit 1, saying why, if stale
"""

from __future__ import annotations

import hashlib
import json
import sys
import tarfile
from pathlib import Path
from typing import Any

import yaml

INPUTS = ["config.yml", "domain.yml", "constraints.txt"]
DATA_DIRS = ["data/nlu", "data/rules", "data/stories"]
#: Our NLU components: a change to how they train or persist needs a new model.
CODE_DIRS = ["bot/nlu"]
MANIFEST_VERSION = 1


class StaleModel(Exception):
    """The model was not trained from the project's current inputs."""


def input_paths(root: Path) -> list[Path]:
    """Every file a trained model depends on, in a fixed order."""
    paths = [root / name for name in INPUTS]
    for folder in DATA_DIRS:
        paths.extend(sorted((root / folder).rglob("*.yml")))
    for folder in CODE_DIRS:
        paths.extend(sorted((root / folder).rglob("*.py")))
    return paths


def input_digests(root: Path) -> dict[str, str]:
    """SHA-256 of each input, by path relative to ``root``."""
    return {
        path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in input_paths(root)
    }


def fingerprint(root: Path) -> str:
    """Returns a 12-hex-digit digest of the model's inputs under ``root``."""
    digest = hashlib.sha256()
    for path in input_paths(root):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def file_digest(path: Path) -> str:
    """SHA-256 of a file, read in blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest_path(model: Path) -> Path:
    """Where a model's manifest lives: ``x.tar.gz`` -> ``x.json``."""
    return model.with_name(model.name.removesuffix(".tar.gz") + ".json")


def write_manifest(model: Path, root: Path, train_seconds: float | None = None) -> Path:
    """Records what ``model`` was trained from (call right after training it)."""
    manifest = {
        "version": MANIFEST_VERSION,
        "fingerprint": fingerprint(root),
        "inputs": input_digests(root),
        "model_sha256": file_digest(model),
        "train_seconds": train_seconds,
    }
    path = manifest_path(model)
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return path


def _packed_domain_intents(model: Path) -> list[str]:
    """The intents of the domain Rasa packed into the model archive."""
    with tarfile.open(model, "r:gz") as archive:
        for member in archive.getmembers():
            if member.name.rsplit("/", 1)[-1] == "metadata.json":
                handle = archive.extractfile(member)
                if handle is None:
                    break
                metadata: dict[str, Any] = json.load(handle)
                return [
                    next(iter(i)) if isinstance(i, dict) else str(i)
                    for i in metadata.get("domain", {}).get("intents", [])
                ]
    raise StaleModel(f"{model} has no Rasa metadata: not a Rasa 3 model")


def verify(model: Path, root: Path) -> None:
    """Checks that ``model`` is what training the current inputs produced.

    Raises:
        StaleModel: Saying which check failed.
    """
    if not model.exists():
        raise StaleModel(f"no model at {model}")
    model = model.resolve()  # models/current.tar.gz is a link to the named model
    manifest_file = manifest_path(model)
    try:
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise StaleModel(f"{model} has no readable manifest ({manifest_file}): {error}") from error
    if manifest.get("version") != MANIFEST_VERSION:
        raise StaleModel(f"{manifest_file} is of another version")
    if manifest.get("model_sha256") != file_digest(model):
        raise StaleModel(f"{model} is not the archive its manifest describes")
    current = input_digests(root)
    recorded = manifest.get("inputs") or {}
    changed = sorted(
        name for name in set(current) | set(recorded) if current.get(name) != recorded.get(name)
    )
    if changed:
        raise StaleModel(
            f"{model} was trained from other inputs: {', '.join(changed[:5])}"
            + (" ..." if len(changed) > 5 else "")
        )
    domain = yaml.safe_load((root / "domain.yml").read_text(encoding="utf-8")) or {}
    wanted = [next(iter(i)) if isinstance(i, dict) else str(i) for i in domain.get("intents", [])]
    if sorted(_packed_domain_intents(model)) != sorted(wanted):
        raise StaleModel(f"the domain inside {model} is not the project's domain.yml")


def main(argv: list[str]) -> int:
    """Entry point (see the module docstring)."""
    if argv and argv[0] == "manifest":
        seconds = float(argv[2]) if len(argv) > 2 else None
        print(write_manifest(Path(argv[1]), Path.cwd(), seconds))
        return 0
    if argv and argv[0] == "verify":
        try:
            verify(Path(argv[1]), Path.cwd())
        except StaleModel as error:
            print(f"Model not usable: {error}", file=sys.stderr)
            return 1
        return 0
    print(fingerprint(Path(argv[0] if argv else ".").resolve()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
