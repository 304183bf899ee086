#!/usr/bin/env bash
# Regenerates the tables behind docs/RESULTS.md's "Mixture of experts and video" sections into docs/moe-video/:
# the exact labs (toy --preset all) and the two trained pairs (lab moe, lab video). Sample counts are what
# this 2-core machine runs in about 7 minutes when quiet (15–25 under heavy load); raise --samples for tighter numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build >/dev/null
D=docs/moe-video
mkdir -p $D
node dist/src/cli/main.js toy --preset all --samples 2000 --steps 20 --seed 0 --out $D/exact > /dev/null
node dist/src/cli/main.js lab moe --samples 200 --batch 200 --steps 20 --seed 0 --autoguidance 1.5,2,3 \
  --pr-samples 200 --cosine-samples 0 --bootstrap 20 --out $D --quiet > /dev/null
node dist/src/cli/main.js lab video --samples 50 --batch 50 --steps 20 --seed 0 --autoguidance 1.5,2,3 \
  --out $D --quiet > /dev/null
echo "wrote $D/exact/*.md, $D/moe/results.md, $D/video/results.md and their grids and GIFs"
