#!/usr/bin/env bash
# Regenerates everything under gen/ from proto/. CI runs this and fails when
# `git status` then shows a difference, so gen/ never drifts from the contract.
# Needs the Python dev extra, the Node tools (`cd tools && npm ci`) and, for
# gen/go, Debian's golang-go, protoc-gen-go-grpc and golang-google-protobuf-dev.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"

# protoc-gen-go built from Debian's golang-google-protobuf-dev source in GOPATH
# mode (offline); /usr/bin/protoc-gen-go is the old 1.3 generator.
if ! command -v go >/dev/null || [ ! -d /usr/share/gocode/src/google.golang.org/protobuf ]; then
  echo "generate.sh: gen/go needs Debian's golang-go, protoc-gen-go-grpc, golang-google-grpc-dev," \
    "golang-google-protobuf-dev and golang-github-golang-protobuf-1-5-dev (see .ci/run)" >&2
  exit 1
fi
GO_PLUGINS="$(mktemp -d)"
trap 'rm -rf "$GO_PLUGINS"' EXIT
GO111MODULE=off GOPATH="$GO_PLUGINS:/usr/share/gocode" \
  go build -o "$GO_PLUGINS/protoc-gen-go" google.golang.org/protobuf/cmd/protoc-gen-go

# buf.gen.yaml lists the plugins; the Python ones come from the virtualenv
# (pinned versions), protoc-gen-es from tools/ (npm, locked).
rm -rf gen/mcpcoordinator gen/ts/mcpcoordinator gen/ts/google gen/go/mcpcoordinator gen/go/google
mkdir -p gen
PATH="$GO_PLUGINS:$(dirname "$(command -v "$PYTHON")"):$PATH" tools/node_modules/.bin/buf generate >/dev/null
touch gen/mcpcoordinator/__init__.py gen/mcpcoordinator/v1/__init__.py

# gen/ts and gen/go are packages other projects depend on; their manifests
# carry the service's version.
VERSION="$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' coordinator/__init__.py)"
cat > gen/ts/package.json <<JSON
{
  "name": "@mcp-coordinator/client",
  "version": "$VERSION",
  "description": "Generated TypeScript/JavaScript for the MCP Coordinator contract (mcpcoordinator.v1), for @connectrpc/connect.",
  "license": "MIT",
  "type": "module",
  "exports": {
    ".": "./mcpcoordinator/v1/coordinator_pb.js",
    "./google/api/*": "./google/api/*"
  },
  "dependencies": {
    "@bufbuild/protobuf": "^2.17.0"
  }
}
JSON
# google/api comes from Google's genproto (not generated into gen/go); its
# version is the one grpc v1.33.3 itself requires.
cat > gen/go/go.mod <<GOMOD
module github.com/insightpulseai/mcp-coordinator/gen/go

go 1.19

require (
	google.golang.org/genproto v0.0.0-20200526211855-cb27e3aa2013
	google.golang.org/grpc v1.33.3
	google.golang.org/protobuf v1.28.1
)
GOMOD

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
