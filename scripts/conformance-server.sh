#!/usr/bin/env bash
# Runs the MCP conformance suite's SERVER scenarios against the coordinator's
# /mcp door, both protocol revisions. The fixtures the scenarios call
# (tests/conformance/fixture_server.py) run as a stdio target behind the
# coordinator, so every scenario crosses the gateway. Exits non-zero when any
# scenario fails. Needs Node 22, which tools/ installs from npm (package "node").
#
#   scripts/conformance-server.sh                 # every applicable scenario
#   scripts/conformance-server.sh tools-list      # only these scenarios (both revisions where they apply)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/tools"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON="$(command -v python3)"
RESULTS="${CONFORMANCE_RESULTS:-${TMPDIR:-/tmp}/mcp-coordinator-conformance-server}"

# Scenarios per protocol revision. Those not run are listed, with the reason,
# in the README ("MCP conformance").
SCENARIOS_2025=(
  completion-complete
  dns-rebinding-protection
  server-initialize
  server-session-lifecycle
  ping
  tools-list
  tools-call-simple-text
  tools-call-image
  tools-call-audio
  tools-call-embedded-resource
  tools-call-mixed-content
  tools-call-error
  tools-call-with-progress
  json-schema-2020-12
  server-sse-multiple-streams
  resources-list
  resources-read-text
  resources-read-binary
  resources-templates-read
  prompts-list
  prompts-get-simple
  prompts-get-with-args
  prompts-get-embedded-resource
  prompts-get-with-image
)
SCENARIOS_2026=(
  completion-complete
  dns-rebinding-protection
  http-custom-header-server-validation
  server-stateless
  tools-list
  tools-call-simple-text
  tools-call-image
  tools-call-audio
  tools-call-embedded-resource
  tools-call-mixed-content
  tools-call-error
  tools-call-with-progress
  json-schema-2020-12
  server-sse-multiple-streams
  resources-list
  resources-read-text
  resources-read-binary
  resources-templates-read
  sep-2164-resource-not-found
  prompts-list
  prompts-get-simple
  prompts-get-with-args
  prompts-get-embedded-resource
  prompts-get-with-image
  caching
  http-header-validation
)

if [ ! -x "$TOOLS/node_modules/.bin/conformance" ] || [ ! -x "$TOOLS/node_modules/node/bin/node" ]; then
  (cd "$TOOLS" && npm ci --no-audit --no-fund)
fi
export PATH="$TOOLS/node_modules/node/bin:$PATH"
case "$(node --version)" in
  v22.*) ;;
  *) echo "conformance-server: need Node 22, found $(node --version)" >&2; exit 1 ;;
esac
export NODE_OPTIONS="--require $ROOT/tests/conformance/bind-localhost.cjs${NODE_OPTIONS:+ $NODE_OPTIONS}"
mkdir -p "$RESULTS"

# The coordinator: no API key (the suite sends none), the fixtures as its only target.
WORK="$(mktemp -d)"
COORDINATOR_PID=""
cleanup() {
  if [ -n "$COORDINATOR_PID" ]; then kill "$COORDINATOR_PID" 2>/dev/null || true; wait "$COORDINATOR_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
cat >"$WORK/coordinator.yaml" <<YAML
targets:
  - name: fixtures
    transport: stdio
    command: $PYTHON
    args: ["-m", "tests.conformance.fixture_server"]
    cwd: $ROOT
    env: {PYTHONPATH: "$ROOT"}
YAML
# A clean environment: a stray <NAME>_MCP_URL or COORDINATOR_API_KEY would change what is tested.
(cd "$ROOT" && exec env -i PATH="$PATH" HOME="${HOME:-/root}" \
  HOST=127.0.0.1 PORT=0 GRPC_PORT=0 LOG_LEVEL=WARNING \
  "$PYTHON" -m coordinator serve --config "$WORK/coordinator.yaml" >"$WORK/stdout" 2>"$RESULTS/coordinator.log") &
COORDINATOR_PID=$!
URL=""
for _ in $(seq 1 300); do
  URL="$(sed -n 's|.* HTTP \(http://[^ ]*\).*|\1/mcp|p' "$WORK/stdout" | head -1)"
  [ -n "$URL" ] && break
  kill -0 "$COORDINATOR_PID" 2>/dev/null || { cat "$RESULTS/coordinator.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$URL" ] || { echo "conformance-server: the coordinator did not start" >&2; exit 1; }
echo "conformance-server: coordinator at $URL"

failed=()
passed=0
run_one() {
  local spec="$1" scenario="$2" log
  log="$RESULTS/${scenario}@$spec.log"
  if "$TOOLS/node_modules/.bin/conformance" server --url "$URL" --scenario "$scenario" \
      --spec-version "$spec" --timeout 60000 -o "$RESULTS" \
      --expected-failures "$ROOT/tests/conformance/server-baseline.yml" >"$log" 2>&1; then
    passed=$((passed + 1))
    echo "PASS $scenario @ $spec"
  else
    failed+=("$scenario@$spec")
    echo "FAIL $scenario @ $spec (log: $log)"
    grep -E "FAILURE|WARNING|Error" "$log" | head -20 || true
  fi
}

wanted=("$@")
selected() {
  [ "${#wanted[@]}" -eq 0 ] && return 0
  local s
  for s in "${wanted[@]}"; do [ "$s" = "$1" ] && return 0; done
  return 1
}

for scenario in "${SCENARIOS_2025[@]}"; do selected "$scenario" && run_one 2025-11-25 "$scenario"; done
for scenario in "${SCENARIOS_2026[@]}"; do selected "$scenario" && run_one 2026-07-28 "$scenario"; done

echo "conformance-server: ${passed} passed, ${#failed[@]} failed"
if [ "${#failed[@]}" -gt 0 ]; then
  printf '  failed: %s\n' "${failed[@]}"
  exit 1
fi
