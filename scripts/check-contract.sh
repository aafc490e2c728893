#!/usr/bin/env bash
# Checks the protobuf contract: `buf format` leaves it unchanged, and against a
# baseline commit `buf breaking` finds nothing that would break a client
# generated from the baseline's contract. CI runs this.
#
# BREAKING_AGAINST chooses the baseline: any git ref (a tag, a branch, a commit);
# by default HEAD~1, which on main is the contract before the change being
# checked. A clone without the baseline (a shallow clone, a first commit) fails:
# fetch more history (`git fetch --deepen=1`) or name another baseline. Only
# BREAKING_AGAINST=none skips the breaking check, on purpose.
set -euo pipefail
cd "$(dirname "$0")/.."
BUF=tools/node_modules/.bin/buf
AGAINST="${BREAKING_AGAINST:-HEAD~1}"

echo "buf format: checking proto/"
"$BUF" format --diff --exit-code

if [ "$AGAINST" = "none" ]; then
  echo "buf breaking: SKIPPED (BREAKING_AGAINST=none)" >&2
  exit 0
fi
if ! BASELINE="$(git rev-parse --verify --quiet "${AGAINST}^{commit}")"; then
  echo "check-contract: the baseline ${AGAINST} is not a commit in this clone (a shallow clone" \
    "or a first commit?): fetch more history (git fetch --deepen=1), choose another baseline" \
    "with BREAKING_AGAINST=<git ref>, or skip the check with BREAKING_AGAINST=none" >&2
  exit 1
fi
echo "buf breaking: against $(git rev-parse --short "$BASELINE") (${AGAINST})"
"$BUF" breaking --against ".git#ref=${BASELINE}"
echo "buf breaking: no breaking change"
