#!/usr/bin/env bash
# Load test: wrk against POST /v1/prompts with the built-in writer.
# Needs wrk (apt-get install wrk). Goal: >= 5,000 req/s, p99 < 10 ms on 2 cores.
#
#   tools/load/prompts.sh [DURATION] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/../.."
duration="${1:-15s}"
conns="${2:-32}"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 2; }
cargo build --release --quiet
home=$(mktemp -d)
port=17878
MURAL_HOME="$home" XDG_CONFIG_HOME="$home/cfg" ./target/release/mural serve --addr "127.0.0.1:$port" > "$home/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$home"' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
wrk -t2 -c"$conns" -d"$duration" --latency -s tools/load/prompts.lua "http://127.0.0.1:$port"
