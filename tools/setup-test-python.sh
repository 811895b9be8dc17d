#!/usr/bin/env bash
# Creates (once) a Python venv with the peers mural's tests check against:
# dynamicprompts 0.31 (template syntax), PyYAML (its YAML wildcards) and the
# official openai client (a real client of `mural serve`).
# The venv lives in a cache directory outside the clone and is reused.
#
#   tools/setup-test-python.sh           # create or reuse it
#   tools/setup-test-python.sh --print   # print its python
#   MURAL_TEST_PYTHON=$(tools/setup-test-python.sh --print) cargo test --workspace
set -euo pipefail
cache="${MURAL_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mural-ci}"
venv="$cache/venv-test-peers-1"
if [ "${1:-}" = "--print" ]; then
  echo "$venv/bin/python"
  exit 0
fi
if ! "$venv/bin/python" -c 'import dynamicprompts, yaml, openai' >/dev/null 2>&1; then
  rm -rf "$venv"
  mkdir -p "$cache"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check 'dynamicprompts==0.31.0' 'pyyaml>=6' 'openai>=1.40,<3'
fi
"$venv/bin/python" -c 'import dynamicprompts; import openai; print("test peers ready: dynamicprompts 0.31.0, openai", openai.__version__)'
