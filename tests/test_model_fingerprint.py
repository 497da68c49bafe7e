"""A cached model is used only when it was trained from the project's current inputs."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest

from scripts.model_fingerprint import (
    StaleModel,
    fingerprint,
    manifest_path,
    verify,
    write_manifest,
)


def _project(root: Path) -> Path:
    (root / "data" / "nlu").mkdir(parents=True)
    (root / "data" / "rules").mkdir()
    (root / "data" / "stories").mkdir()
    (root / "config.yml").write_text("pipeline: []\n")
    (root / "domain.yml").write_text("intents:\n  - greet\n  - goodbye\n")
    (root / "constraints.txt").write_text("rasa==3.6.21\n")
    (root / "data" / "nlu" / "a.yml").write_text("nlu: []\n")
    return root


def _model(path: Path, intents: list[str]) -> Path:
    """A model archive laid out as Rasa 3 writes it (metadata.json with the domain)."""
    payload = json.dumps({"domain": {"intents": intents}}).encode()
    with tarfile.open(path, "w:gz") as archive:
        info = tarfile.TarInfo("metadata.json")
        info.size = len(payload)
        archive.addfile(info, io.BytesIO(payload))
    return path


@pytest.fixture
def trained(tmp_path: Path) -> tuple[Path, Path]:
    root = _project(tmp_path / "project")
    model = _model(tmp_path / f"hotline-{fingerprint(root)}.tar.gz", ["greet", "goodbye"])
    write_manifest(model, root, 12.0)
    return root, model


def test_a_model_trained_from_the_current_inputs_is_used(trained: tuple[Path, Path]) -> None:
    root, model = trained
    verify(model, root)
    assert json.loads(manifest_path(model).read_text())["train_seconds"] == 12.0


@pytest.mark.parametrize("changed", ["config.yml", "domain.yml", "data/nlu/a.yml"])
def test_a_changed_input_makes_the_model_stale(trained: tuple[Path, Path], changed: str) -> None:
    root, model = trained
    with (root / changed).open("a") as handle:
        handle.write("# changed\n")
    with pytest.raises(StaleModel, match=changed):
        verify(model, root)


def test_a_new_data_file_makes_the_model_stale(trained: tuple[Path, Path]) -> None:
    root, model = trained
    (root / "data" / "stories" / "new.yml").write_text("stories: []\n")
    with pytest.raises(StaleModel, match="new.yml"):
        verify(model, root)


def test_the_name_alone_is_not_trusted(trained: tuple[Path, Path], tmp_path: Path) -> None:
    root, model = trained
    # Another archive under the right name, next to the genuine manifest.
    _model(model, ["greet", "goodbye", "extra"])
    with pytest.raises(StaleModel, match="not the archive"):
        verify(model, root)
    # A copy without its manifest.
    copy = tmp_path / "copy.tar.gz"
    shutil.copy(model, copy)
    with pytest.raises(StaleModel, match="no readable manifest"):
        verify(copy, root)


def test_the_packed_domain_must_be_the_projects(tmp_path: Path) -> None:
    root = _project(tmp_path / "project")
    model = _model(tmp_path / "m.tar.gz", ["greet"])
    write_manifest(model, root)
    with pytest.raises(StaleModel, match="domain inside"):
        verify(model, root)


def test_a_missing_model_is_stale(tmp_path: Path) -> None:
    with pytest.raises(StaleModel, match="no model"):
        verify(tmp_path / "none.tar.gz", _project(tmp_path / "p"))
