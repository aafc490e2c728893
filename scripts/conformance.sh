#!/usr/bin/env bash
# Runs the MCP conformance suite's CLIENT scenarios against the coordinator's
# upstream MCP client (coordinator/targets, driven by
# `python -m tests.conformance.conformance_client`). Exits non-zero when any
# scenario fails. Needs Node 22, which tools/ installs from npm (package "node").
#
#   scripts/conformance.sh                 # every applicable scenario
#   scripts/conformance.sh tools_call      # only these scenarios (both revisions where they apply)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/tools"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON="$(command -v python3)"
RESULTS="${CONFORMANCE_RESULTS:-${TMPDIR:-/tmp}/mcp-coordinator-conformance}"

# Scenarios per protocol revision (the 2025-11-25 runs use the initialize
# handshake, the 2026-07-28 runs the stateless per-request envelope).
SCENARIOS_2025=(initialize tools_call sse-retry json-schema-2020-12-preservation)
SCENARIOS_2026=(
  tools_call
  request-metadata
  sep-2322-client-request-state
  http-standard-headers
  http-custom-headers
  http-invalid-tool-headers
  json-schema-ref-no-deref
  json-schema-2020-12-preservation
)
# Client scenarios not run, one line each: the coordinator has no such client feature.
#   elicitation-sep1034-client-defaults  the coordinator declares no elicitation capability (no handler)
#   auth/*                               no OAuth flows: targets authenticate with static configured headers
#   sep-2640-*                           extension (skills/resources prefetch) the coordinator does not implement

if [ ! -x "$TOOLS/node_modules/.bin/conformance" ] || [ ! -x "$TOOLS/node_modules/node/bin/node" ]; then
  (cd "$TOOLS" && npm ci --no-audit --no-fund)
fi
export PATH="$TOOLS/node_modules/node/bin:$PATH"
case "$(node --version)" in
  v22.*) ;;
  *) echo "conformance: need Node 22, found $(node --version)" >&2; exit 1 ;;
esac
export NODE_OPTIONS="--require $ROOT/tests/conformance/bind-localhost.cjs${NODE_OPTIONS:+ $NODE_OPTIONS}"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"

CLIENT="$PYTHON -m tests.conformance.conformance_client"
mkdir -p "$RESULTS"
failed=()
passed=0

run_one() {
  local spec="$1" scenario="$2" log
  log="$RESULTS/${scenario//\//_}@$spec.log"
  if "$TOOLS/node_modules/.bin/conformance" client --command "$CLIENT" --scenario "$scenario" \
      --spec-version "$spec" --timeout 60000 -o "$RESULTS" >"$log" 2>&1; then
    passed=$((passed + 1))
    echo "PASS $scenario @ $spec"
  else
    failed+=("$scenario@$spec")
    echo "FAIL $scenario @ $spec (log: $log)"
    sed -n '/Checks:/,$p' "$log" | grep -E "FAIL|WARN|✗|error" | head -20 || true
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

echo "conformance: ${passed} passed, ${#failed[@]} failed"
if [ "${#failed[@]}" -gt 0 ]; then
  printf '  failed: %s\n' "${failed[@]}"
  exit 1
fi
