#!/usr/bin/env bash
# Regenerates everything under gen/ from proto/. CI runs this and fails when
# `git status` then shows a difference, so gen/ never drifts from the contract.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python}"

rm -rf gen/mcpcoordinator
mkdir -p gen
BIN="$(dirname "$(command -v "$PYTHON")")"
"$PYTHON" -m grpc_tools.protoc \
  --proto_path=proto \
  --python_out=gen --pyi_out=gen --grpc_python_out=gen \
  --plugin=protoc-gen-mypy_grpc="$BIN/protoc-gen-mypy_grpc" --mypy_grpc_out=gen \
  proto/mcpcoordinator/v1/coordinator.proto
touch gen/mcpcoordinator/__init__.py gen/mcpcoordinator/v1/__init__.py

# The OpenAPI document is derived from the same descriptors as the REST door.
if "$PYTHON" -c "import coordinator.gateway.openapi" 2>/dev/null; then
  "$PYTHON" -m coordinator.gateway.openapi > gen/openapi.json
fi
