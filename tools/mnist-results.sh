#!/usr/bin/env bash
# Regenerates the MNIST tables and image grids behind docs/RESULTS.md ("Small trained models") into docs/mnist/.
# About 90 minutes on this project's 2-core machine: the 5,000-sample rows are the published comparisons,
# the 1,000-sample runs give every other row (all controls and inversions) and the cosine curve.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build >/dev/null
L="node dist/src/cli/main.js lab"
C="--steps 20 --seed 0 --batch 250 --pr-samples 2000 --bootstrap 20"
D=docs/mnist
mkdir -p $D/sweep

# every row of the imbalance pair (1,000 samples)
$L imbalance --samples 1000 --batch 64 --steps 20 --seed 0 --cfg 2 --autoguidance 1.5,2,3 --pr-samples 1000 \
  --cosine-samples 1000 --bootstrap 20 --fixed-point-tol 1e-4 --fixed-point-iters 10 --out $D/n1000 > /dev/null
# autoguidance's w on the quality pair (1,000 samples), then the 5,000-sample comparisons at that w
$L quality --samples 1000 $C --rows autoguidance-w1.5,autoguidance-w2,autoguidance-w3 --cosine-samples 0 --out $D/sweep --json > $D/sweep/quality.json
BEST=$(node -e "const r=JSON.parse(require('fs').readFileSync('$D/sweep/quality.json','utf8')); const ag=r.rows.filter(x=>x.id.startsWith('autoguidance-w')); ag.sort((a,b)=>a.metrics.frechet-b.metrics.frechet); console.log(ag[0].id)")
$L quality --samples 5000 $C --rows w2sd-ddim,$BEST,w2sd-equal-compute --cosine-samples 0 --out $D/n5000 > /dev/null
$L imbalance --samples 5000 $C --rows w2sd-ddim --cosine-samples 0 --out $D/n5000 > /dev/null
# training length: the cosine curve and the W2SD row (1,000 samples)
$L length --samples 1000 $C --rows w2sd-ddim --cosine-samples 1000 --out $D/n1000 > /dev/null
# the guidance rows of the quality pair: CFG, Z-Sampling, cumulative, weight pair at main CFG (1,000 samples)
$L quality --samples 1000 --steps 20 --seed 0 --batch 250 --pr-samples 1000 --bootstrap 20 --cfg 2 \
  --rows cfg,z-sampling,cumulative,w2sd-main-cfg --cosine-samples 0 --out $D/guided > /dev/null
echo "wrote $D/{n1000,n5000,sweep,guided}/*/results.md and their PNG grids"
