#!/usr/bin/env bash
# Checks the protobuf contract: `buf format` leaves it unchanged, and against
# the previous commit (`BREAKING_AGAINST`, default HEAD~1: on main, the contract
# before the change being checked) `buf breaking` finds nothing that would break
# a client generated from the old contract. CI runs this.
set -euo pipefail
cd "$(dirname "$0")/.."
BUF=tools/node_modules/.bin/buf
AGAINST="${BREAKING_AGAINST:-HEAD~1}"

echo "buf format: checking proto/"
"$BUF" format --diff --exit-code

if ! git rev-parse --verify --quiet "${AGAINST}^{commit}" >/dev/null; then
  # A shallow clone or a first commit has nothing to compare with; say so loudly
  # rather than pass in silence.
  echo "WARNING: buf breaking SKIPPED: commit ${AGAINST} is not in this clone" \
    "(shallow clone or first commit); fetch more history to check the contract" >&2
  exit 0
fi
echo "buf breaking: against $(git rev-parse --short "${AGAINST}^{commit}") (${AGAINST})"
"$BUF" breaking --against ".git#ref=$(git rev-parse "${AGAINST}^{commit}")"
echo "buf breaking: no breaking change"
