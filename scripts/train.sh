#!/usr/bin/env bash
# Trains the Rasa model only when its inputs changed; prints the model's path last.
set -euo pipefail
py=.venv/bin/python
cache="${MODEL_CACHE:-$HOME/.cache/mutuals-hotline/models}"
name="hotline-$("$py" scripts/model_fingerprint.py .)"
model="models/$name.tar.gz"
mkdir -p models "$cache"
if [ -f "$model" ]; then
  echo "Model up to date: $model" >&2
elif [ -f "$cache/$name.tar.gz" ]; then
  cp "$cache/$name.tar.gz" "$model"
  echo "Model taken from cache: $cache/$name.tar.gz" >&2
else
  echo "Training $model (a few minutes)..." >&2
  start=$(date +%s)
  .venv/bin/rasa train --fixed-model-name "$name" --out models --quiet >&2
  echo "Training took $(( $(date +%s) - start )) s" >&2
  cp "$model" "$cache/" 2>/dev/null || true
fi
ln -sfn "$name.tar.gz" models/current.tar.gz
echo "$model"
