#!/usr/bin/env bash
# The test command (`npm test`): installs the system peers the tests use when missing (as root),
# type-checks, then runs every test file. Peers that cannot be installed make their tests skip
# with a reason.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-peers.sh
[ -d node_modules ] || npm ci
npx tsc --noEmit -p .
mapfile -t files < <(find src test -name '*.test.ts' | sort)
exec node --import tsx --test --test-concurrency=1 --test-timeout=180000 "${files[@]}"
