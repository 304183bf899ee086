import type { Experiment } from './experiments.js';
import type { ExperimentResult, Paired, RowResult } from './results.js';
import type { PairedDiff } from './stats.js';
import { BEST_W_CRITERION } from '../../eval/best-w.js';
import { balancedAutoguidanceOf, bestAutoguidanceOf, lowestFdAutoguidanceOf } from './best.js';

/*
 * Findings are sentences computed from the measured numbers: each comparison states the values, the paired
 * 95 % interval and a verdict chosen by the interval's sign. Nothing here knows in advance which method wins.
 */

/** Samples precision/recall were measured on (their standard error). */
const prCountOf = (r: ExperimentResult) => Math.min(r.settings.prSamples, r.settings.samples);
const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
const pp = (d: PairedDiff) => `${d.diff >= 0 ? '+' : '−'}${Math.abs(100 * d.diff).toFixed(1)} ± ${(100 * d.halfWidth).toFixed(1)} pp`;
const fdDiff = (d: PairedDiff) =>
  `${d.diff >= 0 ? '+' : '−'}${Math.abs(d.diff).toFixed(3)}${Number.isFinite(d.halfWidth) ? ` ± ${d.halfWidth.toFixed(3)}` : ''}`;

/** 'up' / 'down' when the 95 % interval excludes 0, 'none' otherwise (or when no interval was computed). */
function direction(d: PairedDiff): 'up' | 'down' | 'none' {
  if (!Number.isFinite(d.halfWidth)) return 'none';
  if (d.diff - d.halfWidth > 0) return 'up';
  if (d.diff + d.halfWidth < 0) return 'down';
  return 'none';
}

function fdVerdict(d: PairedDiff): string {
  if (!Number.isFinite(d.halfWidth)) return d.diff < 0 ? 'lower (no error bar computed)' : 'higher (no error bar computed)';
  const dir = direction(d);
  return dir === 'down' ? 'better (lower FD)' : dir === 'up' ? 'worse (higher FD)' : 'no significant difference';
}

function accVerdict(d: PairedDiff): string {
  const dir = direction(d);
  return dir === 'up' ? 'higher accuracy' : dir === 'down' ? 'lower accuracy' : 'accuracy unchanged within error';
}

export function findings(r: ExperimentResult, exp: Experiment, paired: (a: string, b: string) => Paired | undefined): string[] {
  return exp.pair ? imbalanceFindings(r, paired) : conditionalFindings(r, exp, paired);
}

function row(r: ExperimentResult, id: string): RowResult | undefined {
  return r.rows.find((x) => x.id === id);
}

function imbalanceFindings(r: ExperimentResult, paired: (a: string, b: string) => Paired | undefined): string[] {
  const out: string[] = [];
  const strong = row(r, 'strong');
  if (!strong) return ['the strong row did not run: no comparisons'];
  const share = (x: RowResult) => x.metrics.minorityOfPair ?? NaN;
  const dist = (x: RowResult) => Math.abs(share(x) - 0.5);
  const refs = ['weak', 'ideal', 'mnist-train'].map((id) => row(r, id)).filter((x): x is RowResult => !!x);
  out.push(
    `Minority (digit ${r.pair!.minority}) share among samples classified ${r.pair!.majority} or ${r.pair!.minority}: strong alone ${pct(share(strong))}; ` +
      refs.map((x) => `${x.name} ${pct(share(x))}`).join('; ') +
      '; target 50 %.',
  );
  for (const x of r.rows.filter((x) => x.group === 'w2sd' || x.group === 'equal-compute' || x.id === 's2wd' || x.id.startsWith('self-'))) {
    const d = x.vsStrong?.minority;
    if (!d) continue;
    const dir = direction(d);
    let verdict: string;
    if (dir === 'none') verdict = 'no significant change from the strong model';
    else if (dist(x) < dist(strong)) verdict = `closer to 50 % than the strong model (${pct(dist(x))} vs ${pct(dist(strong))} away)`;
    else verdict = `farther from 50 % than the strong model (${pct(dist(x))} vs ${pct(dist(strong))} away)`;
    const off = x.metrics.other !== undefined && strong.metrics.other !== undefined ? `; neither digit: ${pct(x.metrics.other)} (strong ${pct(strong.metrics.other)})` : '';
    out.push(`${x.name} [NFE ${x.nfe.toFixed(0)}]: ${pct(share(x))} (${pp(d)} vs strong): ${verdict}${off}; FD ${fdDiff(x.vsStrong!.frechet)} vs strong, ${fdVerdict(x.vsStrong!.frechet)}.`);
  }
  const ag = bestAutoguidanceOf(r.rows, true, prCountOf(r));
  const w2 = row(r, 'w2sd-ddim');
  if (ag && w2) {
    const d = paired('w2sd-ddim', ag.id)?.minority;
    const closer = dist(w2) < dist(ag) ? 'W2SD (ddim) is closer to 50 %' : dist(w2) > dist(ag) ? `autoguidance (w=${ag.id.slice(14)}) is closer to 50 %` : 'both are equally far from 50 %';
    out.push(
      `Best autoguidance on this measure, ${ag.name} [NFE ${ag.nfe.toFixed(0)}]: ${pct(share(ag))}; W2SD (ddim) [NFE ${w2.nfe.toFixed(0)}]: ${pct(share(w2))}` +
        (d ? ` (W2SD − autoguidance ${pp(d)})` : '') +
        `: ${closer}${d && direction(d) === 'none' ? ', but the difference is within error' : ''}. (The best w was picked on these same samples, which favours autoguidance slightly.)`,
    );
    const bal = balancedAutoguidanceOf(r.rows, prCountOf(r));
    if (bal) out.push(`By ${BEST_W_CRITERION}, the best w is ${bal.name} (precision ${pct(bal.metrics.precision)}, recall ${pct(bal.metrics.recall)}, share ${pct(share(bal))}).`);
  }
  out.push(...cosineFindings(r));
  return out;
}

function conditionalFindings(r: ExperimentResult, exp: Experiment, paired: (a: string, b: string) => Paired | undefined): string[] {
  const out: string[] = [];
  const strong = row(r, exp.strongRow);
  if (!strong) return ['the strong row did not run: no comparisons'];
  const acc = (x: RowResult) => (x.metrics.accuracy !== undefined ? `, accuracy ${pct(x.metrics.accuracy)}` : '');
  const refs = r.rows.filter((x) => x.group === 'reference' || x.group === 'data' || x.id === 'cfg');
  out.push(
    `Strong alone: FD ${strong.metrics.frechet.toFixed(3)}${acc(strong)}, precision ${pct(strong.metrics.precision)}, recall ${pct(strong.metrics.recall)}. ` +
      refs.map((x) => `${x.name}: FD ${x.metrics.frechet.toFixed(3)}${acc(x)}`).join('; ') +
      '.',
  );
  for (const x of r.rows.filter((x) => x.group === 'w2sd' || x.group === 'equal-compute' || x.group === 'control')) {
    const base = x.compareWith && x.vsBase ? { name: row(r, x.compareWith)?.name ?? x.compareWith, d: x.vsBase, row: row(r, x.compareWith) } : x.vsStrong ? { name: 'strong alone', d: x.vsStrong, row: strong } : undefined;
    if (!base) continue;
    const a = base.d.accuracy;
    out.push(
      `${x.name} [NFE ${x.nfe.toFixed(0)}, ${x.networkPerImage.toFixed(0)} network rows/image` +
        `${x.equalCompute ? `; T'=${x.equalCompute.steps}, λ=${x.equalCompute.lambda}, budget ${x.equalCompute.budget} evaluations per image` : ''}] vs ${base.name}` +
        `${x.equalCompute && base.row ? ` [${base.row.networkPerImage.toFixed(0)} network rows/image]` : ''}: FD ${fdDiff(base.d.frechet)}, ${fdVerdict(base.d.frechet)}` +
        (a ? `; accuracy ${pp(a)}, ${accVerdict(a)}` : '') +
        `; precision ${pct(x.metrics.precision)}, recall ${pct(x.metrics.recall)}.`,
    );
  }
  const ag = bestAutoguidanceOf(r.rows, false, prCountOf(r));
  const w2 = row(r, 'w2sd-ddim');
  if (ag && w2) {
    const d = paired('w2sd-ddim', ag.id);
    if (d) {
      out.push(
        `W2SD (ddim) [NFE ${w2.nfe.toFixed(0)}] against autoguidance at its best w by ${BEST_W_CRITERION} ` +
          `(${ag.name}: precision ${pct(ag.metrics.precision)}, recall ${pct(ag.metrics.recall)}, FD ${ag.metrics.frechet.toFixed(3)}, NFE ${ag.nfe.toFixed(0)}; ` +
          `lowest FD: ${lowestFdAutoguidanceOf(r.rows)!.name}): ` +
          `FD ${fdDiff(d.frechet)}, W2SD is ${fdVerdict(d.frechet)}` +
          (d.accuracy ? `; accuracy ${pp(d.accuracy)}` : '') +
          '. (The best w was picked on these same samples, which favours autoguidance slightly.)',
      );
    }
  }
  const eq = row(r, 'strong-3t');
  if (eq && w2) {
    const d = paired('w2sd-ddim', 'strong-3t');
    if (d) out.push(`At equal NFE, W2SD (ddim, ${w2.nfe.toFixed(0)} calls) vs the strong model run for ${eq.steps} steps (${eq.nfe.toFixed(0)} calls): FD ${fdDiff(d.frechet)}, W2SD is ${fdVerdict(d.frechet)}.`);
  }
  out.push(...cosineFindings(r));
  return out;
}

function cosineFindings(r: ExperimentResult): string[] {
  const c = r.cosine;
  if (!c || c.length === 0) return [];
  const values = c.map((p) => p.meanCosine);
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  // contiguous runs of positive mean cosine, named by their timesteps: the sign can differ by noise level
  const runs: string[] = [];
  for (let i = 0; i < c.length; i++) {
    if (c[i].meanCosine <= 0) continue;
    let j = i;
    while (j + 1 < c.length && c[j + 1].meanCosine > 0) j++;
    runs.push(i === j ? `t = ${c[i].timestep}` : `t = ${c[i].timestep} … ${c[j].timestep}`);
    i = j;
  }
  const positive = values.filter((v) => v > 0).length;
  const top = c.reduce((a, b) => (b.meanCosine > a.meanCosine ? b : a));
  const low = c.reduce((a, b) => (b.meanCosine < a.meanCosine ? b : a));
  const sign =
    positive === c.length
      ? 'positive at every step: the weak-to-strong direction points the way the ideal model differs from the strong one throughout'
      : positive === 0
        ? 'negative at every step: the weak-to-strong direction points away from the ideal model throughout'
        : `positive at ${positive} of ${c.length} steps (${runs.join('; ')}), negative or zero elsewhere`;
  return [
    `Cosine between ε_s − ε_w and ε_ideal − ε_s along the strong model's DDIM path (paper App. E.1 assumes it is positive): ` +
      `${sign}; mean ${mean.toFixed(3)}, highest ${top.meanCosine.toFixed(3)} at t = ${top.timestep}, lowest ${low.meanCosine.toFixed(3)} at t = ${low.timestep}.`,
  ];
}
