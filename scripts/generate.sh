#!/usr/bin/env bash
# Regenerates everything under gen/ from proto/. CI runs this and fails when
# `git status` then shows a difference, so gen/ never drifts from the contract.
# Needs the Python dev extra and the Node tools: `cd tools && npm ci`.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"

# buf.gen.yaml lists the plugins; they come from the virtualenv (pinned versions).
rm -rf gen/mcpcoordinator
mkdir -p gen
PATH="$(dirname "$(command -v "$PYTHON")"):$PATH" tools/node_modules/.bin/buf generate >/dev/null
touch gen/mcpcoordinator/__init__.py gen/mcpcoordinator/v1/__init__.py

# The OpenAPI document is derived from the same descriptors as the REST door.
if "$PYTHON" -c "import coordinator.gateway.openapi" 2>/dev/null; then
  "$PYTHON" -m coordinator.gateway.openapi > gen/openapi.json
fi

# Test-only proto of the HTTP/JSON gateway (tests/gateway): every shape of
# google.api.http binding the transcoder serves.
rm -rf gen/transcodingtest
"$PYTHON" -m grpc_tools.protoc \
  --proto_path=proto --proto_path=tests/gateway/proto \
  --python_out=gen --pyi_out=gen \
  tests/gateway/proto/transcodingtest/v1/transcoding.proto
touch gen/transcodingtest/__init__.py gen/transcodingtest/v1/__init__.py
