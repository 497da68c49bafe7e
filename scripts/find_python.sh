#!/usr/bin/env bash
# Prints the path of a Python 3.10 interpreter (Rasa 3.6 supports 3.8-3.10 only).
# Looks at $PYTHON, then PATH, then pyenv, then uv. Exits 1 with advice if none.
set -u
want="3.10"
is_ok() { [ -n "$1" ] && [ -x "$1" ] && [ "$("$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$want" ]; }

for cand in "${PYTHON:-}" "$(command -v python3.10 2>/dev/null)"; do
  if is_ok "$cand"; then echo "$cand"; exit 0; fi
done
if command -v pyenv >/dev/null 2>&1; then
  for v in $(pyenv versions --bare 2>/dev/null | grep -E "^${want//./\\.}(\.[0-9]+)?$" | sort -V -r); do
    cand="$(pyenv root)/versions/$v/bin/python"
    if is_ok "$cand"; then echo "$cand"; exit 0; fi
  done
fi
if command -v uv >/dev/null 2>&1; then
  cand="$(uv python find "$want" 2>/dev/null || true)"
  if is_ok "$cand"; then echo "$cand"; exit 0; fi
fi
cat >&2 <<MSG
No Python $want interpreter found (Rasa Open Source 3.6 runs on Python 3.8-3.10 only).
Install one, then run make again. Any of these works:
  pyenv install 3.10        (https://github.com/pyenv/pyenv)
  uv python install 3.10    (https://docs.astral.sh/uv/)
  apt-get install python3.10 python3.10-venv   (where your distribution has it)
Or point at one you have: make PYTHON=/path/to/python3.10 run
MSG
exit 1
