#!/usr/bin/env bash
# Trains the Rasa model only when its inputs changed; prints the model's path last.
# A model found in models/ or in the cache is used only if its manifest shows it was
# trained from the current inputs (scripts/model_fingerprint.py verify), not because
# of its name.
set -euo pipefail
py=.venv/bin/python
cache="${MODEL_CACHE:-$HOME/.cache/mutuals-hotline/models}"
name="hotline-$("$py" scripts/model_fingerprint.py .)"
model="models/$name.tar.gz"
manifest="models/$name.json"
mkdir -p models "$cache"
verify() { "$py" scripts/model_fingerprint.py verify "$1"; }
if [ -f "$model" ] && verify "$model"; then
  echo "Model up to date: $model" >&2
elif [ -f "$cache/$name.tar.gz" ] && verify "$cache/$name.tar.gz"; then
  cp "$cache/$name.tar.gz" "$model"
  cp "$cache/$name.json" "$manifest"
  echo "Model taken from cache: $cache/$name.tar.gz" >&2
else
  rm -f "$model" "$manifest"
  echo "Training $model (about 2 minutes on 2 cores)..." >&2
  start=$(date +%s)
  .venv/bin/rasa train --fixed-model-name "$name" --out models --quiet >&2
  seconds=$(( $(date +%s) - start ))
  "$py" scripts/model_fingerprint.py manifest "$model" "$seconds" >/dev/null
  echo "Training took $seconds s" >&2
  { cp "$model" "$cache/" && cp "$manifest" "$cache/"; } 2>/dev/null || true
fi
ln -sfn "$name.tar.gz" models/current.tar.gz
echo "$model"
