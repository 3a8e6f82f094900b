#!/usr/bin/env bash
# The test command (`npm test`): installs the system peers the tests use when missing (as root),
# type-checks, then runs every test file. Peers that cannot be installed make their tests skip
# with a reason.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-peers.sh
[ -d node_modules ] || npm ci
npx tsc --noEmit -p .
# Per-file limit 6 min: the certificate renewal test waits for a 5-minute certificate to be renewed
# (about 150 s after issuance, with jitter).
mapfile -t files < <(find src test -name '*.test.ts' | sort)
exec node --import tsx --test --test-concurrency=1 --test-timeout=360000 "${files[@]}"
