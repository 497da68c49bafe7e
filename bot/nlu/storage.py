"""Our NLU components' fitted objects in Rasa's model storage, one file each (joblib)."""

from __future__ import annotations

from typing import Any

import joblib
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage


def store(model_storage: ModelStorage, resource: Resource, name: str, value: Any) -> None:
    """Writes ``value`` as the resource's file ``name``."""
    with model_storage.write_to(resource) as directory:
        joblib.dump(value, directory / name)


def stored(model_storage: ModelStorage, resource: Resource, name: str) -> Any | None:
    """The value written by :func:`store`, or None if the model holds none (untrained)."""
    try:
        with model_storage.read_from(resource) as directory:
            return joblib.load(directory / name)
    except (ValueError, FileNotFoundError):
        return None
