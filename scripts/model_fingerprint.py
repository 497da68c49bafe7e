"""Prints a short fingerprint of everything a trained Rasa model depends on.

`make` names the model after it, so training runs only when training data,
domain, config or the pinned packages change, and a cache outside the
checkout (shared by clones on one machine, as CI's are) can be reused.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

INPUTS = ["config.yml", "domain.yml", "constraints.txt"]
DATA_DIRS = ["data/nlu", "data/rules", "data/stories"]


def fingerprint(root: Path) -> str:
    """Returns a 12-hex-digit digest of the model's inputs under ``root``."""
    digest = hashlib.sha256()
    paths = [root / name for name in INPUTS]
    for folder in DATA_DIRS:
        paths.extend(sorted((root / folder).rglob("*.yml")))
    for path in paths:
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


if __name__ == "__main__":
    print(fingerprint(Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()))
