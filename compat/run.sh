#!/usr/bin/env bash
# Runs the third-party client compatibility suite against target/release/weir.
# Run compat/setup.sh first (scripts/test-all.sh does both). Extra arguments go to pytest,
# e.g. `compat/run.sh -k kcat` or `compat/run.sh compat/tests/test_crash.py`.
set -euo pipefail

COMPAT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(dirname "$COMPAT_DIR")"
cd "$REPO"

export WEIR_BIN="${WEIR_BIN:-$REPO/target/release/weir}"
if [ ! -x "$WEIR_BIN" ]; then
  echo "compat/run.sh: $WEIR_BIN not found; run: cargo build --release -p weir-cli" >&2
  exit 1
fi
if [ ! -x "$COMPAT_DIR/.venv/bin/python" ]; then
  echo "compat/run.sh: compat/.venv missing; run compat/setup.sh first" >&2
  exit 1
fi

exec "$COMPAT_DIR/.venv/bin/python" -m pytest compat/tests -v -ra \
  -p no:cacheprovider --timeout="${COMPAT_TEST_TIMEOUT:-300}" --durations=10 "$@"
