#!/usr/bin/env bash
# Builds the fuzz targets with stable Rust (libFuzzer via libfuzzer-sys,
# coverage from LLVM's sanitizer-coverage passes; no nightly, no
# cargo-fuzz) and runs one of them.
#
#   node-core/fuzz/run.sh TARGET [RUNS] [libFuzzer options...]
#
# RUNS defaults to 10,000,000 executions. The corpus is kept in
# corpus/TARGET (not committed); crash inputs land in artifacts/TARGET and
# belong, once fixed, as regression tests in the crate they crashed.
# Works the same for sim/fuzz and node/fuzz (set FUZZ_DIR).
set -euo pipefail
here="${FUZZ_DIR:-$(cd "$(dirname "$0")" && pwd)}"
target="$1"; shift
runs="${1:-10000000}"; [ $# -gt 0 ] && shift
export RUSTFLAGS="-Cpasses=sancov-module \
 -Cllvm-args=-sanitizer-coverage-level=4 \
 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
 -Cllvm-args=-sanitizer-coverage-pc-table \
 -Cllvm-args=-sanitizer-coverage-trace-compares \
 --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
triple="$(rustc -vV | sed -n 's/^host: //p')"
# An explicit --target keeps RUSTFLAGS off build scripts and proc macros.
cargo build --manifest-path "$here/Cargo.toml" --release --target "$triple" \
  --target-dir "${FUZZ_TARGET_DIR:-$here/target}" --bin "$target"
mkdir -p "$here/corpus/$target" "$here/artifacts/$target"
exec "${FUZZ_TARGET_DIR:-$here/target}/$triple/release/$target" \
  -runs="$runs" -artifact_prefix="$here/artifacts/$target/" "$@" "$here/corpus/$target"
