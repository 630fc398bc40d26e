#!/bin/sh
# Regenerates both TF.js reference fixtures (pure @tensorflow/tfjs 4.22.0, cpu backend).
# Usage: nn/testdata/tfjs/regen.sh   (from anywhere; needs Node >= 18 and npm registry access)
set -eu
cd "$(dirname "$0")"
npm ci --no-audit --no-fund
node make_reference.js --seed 1 --height 299 --width 299 --inputs 3 --shard-bytes 1048576 --out seed1_299
node make_reference.js --seed 7 --height 120 --width 160 --inputs 2 --shard-bytes 4194304 --out seed7_160x120
