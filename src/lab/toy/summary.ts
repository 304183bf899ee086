import { describeFixedPoint } from '../../core/index.js';
import type { ToyLabResult } from './lab.js';
import type { MethodRow } from './run.js';
import { otherShift } from './tables.js';

const pp = (v: number): string => `${(100 * v).toFixed(1)} %`;

/**
 * Sentences generated from the measured numbers (never written by hand, so they cannot drift from the
 * tables): where each method puts the target mode's mass relative to the strong model and the ideal,
 * and what that costs in likelihood and mode placement.
 */
export function findings(res: ToyLabResult): string[] {
  const k = res.target.mode;
  const t = res.target.name;
  const find = (prefix: string): MethodRow | undefined => res.rows.find((r) => r.name.startsWith(prefix));
  const strong = find('plain strong')!;
  const exact = find('ideal (exact samples)')!;
  const s0 = strong.metrics.modeMass[k];
  const ideal = res.target.idealMass;
  const out: string[] = [
    `Plain strong sampling puts ${pp(s0)} on ${t} (ideal ${pp(ideal)}; exact ideal samples: ${pp(exact.metrics.modeMass[k])}, ` +
      `the sampling noise floor, ± ${pp(Math.sqrt((ideal * (1 - ideal)) / res.config.samples))} standard error); ` +
      `mean log p_ideal ${strong.metrics.meanLogLik.toFixed(4)}, sliced W1 ${strong.metrics.slicedW1.toFixed(3)}.`,
  ];
  const c = res.bestWChoice;
  out.push(
    `Autoguidance's best w = ${c.w}, by ${c.criterion}. Sliced W1 alone would pick w = ${c.bySlicedW1}${c.bySlicedW1 < 1 ? ' (anti-guidance: blur)' : ''}, ` +
      `mean log p_ideal alone w = ${c.byMeanLogLik}${c.byMeanLogLik > c.w ? ' (toward collapse)' : ''}.`,
  );
  const se = Math.sqrt((ideal * (1 - ideal)) / res.config.samples);
  for (const r of res.rows) {
    if (r === strong || r === exact || r.name.startsWith('plain')) continue;
    const m = r.metrics;
    const mass = m.modeMass[k];
    const closed = ideal !== s0 ? (mass - s0) / (ideal - s0) : NaN;
    // Past the ideal by more than two standard errors of a mass estimate: a real over-shoot, not noise.
    const overshoot = Math.abs(mass - s0) > Math.abs(ideal - s0) + 2 * se && Math.sign(mass - s0) === Math.sign(ideal - s0);
    const place = m.modeShift[k] >= 0
      ? `${t} mean ${m.modeShift[k].toFixed(2)} from the ideal mean (strong ${strong.metrics.modeShift[k].toFixed(2)}) with spread ${m.modeSpread[k].toFixed(2)}× the ideal's`
      : `no samples on ${t}`;
    out.push(
      `${r.name} (NFE ${r.nfe}): ${t} ${pp(s0)} → ${pp(mass)} ` +
        `(${Number.isFinite(closed) ? `${(100 * closed).toFixed(0)} % of the gap to the ideal closed` : 'no gap'}${overshoot ? ', over-shoots the ideal mass' : ''}); ` +
        `mean log p_ideal ${m.meanLogLik >= strong.metrics.meanLogLik ? '+' : ''}${(m.meanLogLik - strong.metrics.meanLogLik).toFixed(4)}; ` +
        `outliers ${pp(strong.metrics.outlierRate)} → ${pp(m.outlierRate)}; sliced W1 ${strong.metrics.slicedW1.toFixed(3)} → ${m.slicedW1.toFixed(3)}; ` +
        `precision ${pp(strong.metrics.precision)} → ${pp(m.precision)}, recall ${pp(strong.metrics.recall)} → ${pp(m.recall)}; ` +
        `${place}, other modes' means up to ${otherShift(m, k).toFixed(2)} off` +
        `${r.fixedPoint ? `; ${describeFixedPoint(r.fixedPoint)}` : ''}.`,
    );
  }
  return out;
}
