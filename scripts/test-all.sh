#!/usr/bin/env bash
# Weir's one test command (README, .ci/run): formatting, lints, unit/integration tests, bench
# and fuzz builds, the release binary, then the third-party client compatibility suite.
# Installs what it needs (compat/setup.sh) and skips nothing silently. Exits non-zero if any step fails.
#
#   ./scripts/test-all.sh            all steps
#   ./scripts/test-all.sh compat     only the named steps (fmt clippy test bench fuzz release compat_setup compat)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"

ALL_STEPS=(fmt clippy test bench fuzz release compat_setup compat)
if [ "$#" -gt 0 ]; then STEPS=("$@"); else STEPS=("${ALL_STEPS[@]}"); fi

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Honour a relocated cargo target dir (CARGO_TARGET_DIR) for the binary the compat suite runs.
TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
export WEIR_BIN="${WEIR_BIN:-$TARGET_DIR/release/weir}"
START_ALL=$(date +%s)
declare -a SUMMARY=()

section() {
  printf '\n==============================================================================\n'
  printf '== %s\n' "$*"
  printf '==============================================================================\n'
}

require() {  # require TOOL HINT
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "test-all: '$1' not found. $2" >&2
    exit 1
  fi
}

step_fmt() {
  cargo fmt --version >/dev/null 2>&1 || { echo "rustfmt missing: rustup component add rustfmt" >&2; return 1; }
  cargo fmt --all -- --check
}

step_clippy() {
  cargo clippy --version >/dev/null 2>&1 || { echo "clippy missing: rustup component add clippy" >&2; return 1; }
  cargo clippy --workspace --all-targets -- -D warnings
}

step_test() {
  cargo test --workspace
}

step_bench() {
  cargo bench --workspace --no-run
}

step_fuzz() {
  if [ ! -d fuzz ]; then
    echo "no fuzz/ directory: nothing to build"
    return 0
  fi
  if [ ! -f fuzz/Cargo.toml ]; then
    echo "fuzz/ has no Cargo.toml: nothing to build"
    return 0
  fi
  # cargo fuzz needs a nightly toolchain (sanitizer flags); this machine may not have one and
  # cannot download it. With nightly + cargo-fuzz: build the fuzz targets for real.
  # Otherwise: type-check the fuzz crate on stable, so the targets still have to compile.
  if rustup toolchain list 2>/dev/null | grep -q '^nightly' && cargo fuzz --version >/dev/null 2>&1; then
    (cd fuzz && cargo +nightly fuzz build)
  elif grep -q '^\[workspace\]' fuzz/Cargo.toml; then
    echo "nightly and/or cargo-fuzz unavailable: cargo check of the fuzz crate on stable instead"
    cargo check --manifest-path fuzz/Cargo.toml --all-targets --target-dir target/fuzz-check
  else
    echo "fuzz/ is a member of the main workspace: already built by the clippy and test steps"
  fi
}

step_release() {
  cargo build --release -p weir-cli
  ls -l "$TARGET_DIR/release/weir"
}

step_compat_setup() {
  compat/setup.sh
}

step_compat() {
  compat/run.sh
}

require cargo "Install the Rust toolchain (rustup)."
echo "test-all: $(cargo --version), $(rustc --version)"
echo "test-all: steps: ${STEPS[*]}${CI:+ (CI=$CI)}"

# Every step runs even after a failure (so one run shows every problem), except that the
# compat suite needs the release binary and the installed clients.
FAILED=()
for step in "${STEPS[@]}"; do
  if ! declare -F "step_$step" >/dev/null; then
    echo "test-all: unknown step '$step' (known: ${ALL_STEPS[*]})" >&2
    exit 2
  fi
  section "$step"
  if [ "$step" = compat ] && printf '%s\n' "${FAILED[@]}" | grep -qx 'release\|compat_setup'; then
    echo "skipped: needs the release build and compat/setup.sh, which failed"
    SUMMARY+=("SKIPPED $step")
    FAILED+=("$step")
    continue
  fi
  t0=$(date +%s)
  # A subshell with errexit on: any failing command inside a step fails the step
  # (an `if step_x` would switch errexit off inside the function).
  set +e
  ( set -e; "step_$step" )
  rc=$?
  set -e
  if [ "$rc" -eq 0 ]; then
    SUMMARY+=("ok      $step ($(( $(date +%s) - t0 ))s)")
  else
    SUMMARY+=("FAILED  $step ($(( $(date +%s) - t0 ))s, exit $rc)")
    FAILED+=("$step")
  fi
done

section "summary"
printf '%s\n' "${SUMMARY[@]}"
if [ "${#FAILED[@]}" -gt 0 ]; then
  echo "test-all: FAILED steps: ${FAILED[*]} ($(( $(date +%s) - START_ALL ))s)" >&2
  exit 1
fi
echo "test-all: all steps passed in $(( $(date +%s) - START_ALL ))s"
