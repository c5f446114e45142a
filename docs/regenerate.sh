#!/bin/sh
# Regenerates the figures under docs/ from their scenarios' sweeps.
# The headline figure: sf-vs-e2e-chain's sweep (8 hop counts x 4 loss rates
# x 2 modes x 5 seeds = 320 runs of 30 simulated seconds; about 10 s of wall
# time on 2 cores in a release build).
set -eu
cd "$(dirname "$0")/.."
cargo run --release --locked -p sim --bin meshsim -- \
    sweep scenarios/sf-vs-e2e-chain.json --out out/sf-vs-e2e-chain-sweep
cp out/sf-vs-e2e-chain-sweep/plots/sweep-0.svg docs/sf-vs-e2e-goodput.svg
cp out/sf-vs-e2e-chain-sweep/plots/sweep-1.svg docs/sf-vs-e2e-delivery.svg
