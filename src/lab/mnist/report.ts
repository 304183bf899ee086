import { describeFixedPoint } from '../../core/fixed-point-summary.js';
import type { ExperimentResult, RowResult } from './results.js';
import type { PairedDiff } from './stats.js';

const pct = (x: number | undefined) => (x === undefined ? '' : `${(100 * x).toFixed(1)} %`);
const pp = (d: PairedDiff | undefined) => (d ? `${d.diff >= 0 ? '+' : '−'}${Math.abs(100 * d.diff).toFixed(1)} ± ${(100 * d.halfWidth).toFixed(1)}` : '');
const fd = (d: PairedDiff | undefined) =>
  d ? `${d.diff >= 0 ? '+' : '−'}${Math.abs(d.diff).toFixed(3)}${Number.isFinite(d.halfWidth) ? ` ± ${d.halfWidth.toFixed(3)}` : ''}` : '';

function cells(r: ExperimentResult, x: RowResult): string[] {
  const base = x.compareWith && x.vsBase ? x.vsBase : x.vsStrong;
  const baseTag = x.compareWith && x.vsBase ? ` (vs ${x.compareWith})` : '';
  const common = [
    x.name,
    x.group === 'data' ? '–' : x.nfe.toFixed(x.nfe % 1 === 0 ? 0 : 1),
    x.group === 'data' ? '–' : x.networkPerImage.toFixed(0),
  ];
  const tail = [x.metrics.frechet.toFixed(3), fd(base?.frechet) + (base ? baseTag : ''), pct(x.metrics.precision), pct(x.metrics.recall), x.seconds ? x.seconds.toFixed(0) : '–'];
  if (r.pair) return [...common, pct(x.metrics.minorityOfPair), pp(x.vsStrong?.minority), pct(x.metrics.minority), pct(x.metrics.other), ...tail];
  return [...common, pct(x.metrics.accuracy), pp(base?.accuracy) + (base?.accuracy ? baseTag : ''), ...tail];
}

/** `linkPrefix`: where the grids are relative to the page ("" beside them, "imbalance/" from the parent folder). */
export function experimentMarkdown(r: ExperimentResult, linkPrefix = ''): string {
  const s = r.settings;
  const lines: string[] = [];
  lines.push(`### ${r.title}`, '');
  lines.push(
    `${s.samples} samples per row, ${s.sampler}, T = ${s.steps}, seed ${s.seed} (the same initial noise for sample i in every row), ` +
      `batch ${s.batch}; reference: ${r.reference.name} (${r.reference.count} images); precision/recall (k = 3) on the first ${Math.min(s.prSamples, s.samples)} samples; ` +
      `FD error bars: paired bootstrap, ${s.bootstrap} resamples; proportions: paired normal 95 % intervals. ` +
      `Models: ${s.models.join(', ')}. Wall time ${r.wallSeconds.toFixed(0)} s.`,
    '',
  );
  const head = r.pair
    ? ['row', 'NFE', 'net/img', `${r.pair.minority}s among ${r.pair.majority}/${r.pair.minority}`, 'Δ vs strong (pp)', `${r.pair.minority}s of all`, 'neither digit', 'FD', 'ΔFD vs strong', 'precision', 'recall', 's']
    : ['row', 'NFE', 'net/img', 'accuracy', 'Δ acc (pp)', 'FD', 'ΔFD', 'precision', 'recall', 's'];
  lines.push(`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`);
  for (const x of r.rows) lines.push(`| ${cells(r, x).join(' | ')} |`);
  lines.push(
    '',
    'NFE: model calls per image batch (a CFG batch of 2B counts once, as the paper counts); net/img: network rows evaluated per image (compute). ' +
      'FD: Fréchet distance on the evaluation classifier\'s features (not comparable to Inception FID). Δ columns: this row minus the plain strong row ' +
      '(or minus the row named in brackets), paired over samples with the same noise.',
    '',
  );
  const solved = r.rows.filter((x) => x.fixedPoint);
  if (solved.length) {
    lines.push('Fixed-point inversions:', '');
    for (const x of solved) lines.push(`- ${x.name}: ${describeFixedPoint(x.fixedPoint!)}${x.fixedPoint!.unconvergedSteps.length ? ' (NOT CONVERGED)' : ''}`);
    lines.push('');
  }
  const noted = r.rows.filter((x) => x.note);
  if (noted.length) {
    lines.push('Rows:', '');
    for (const x of noted) lines.push(`- ${x.name}: ${x.note}`);
    lines.push('');
  }
  if (r.cosine?.length) {
    lines.push('Cosine between ε_s − ε_w and ε_ideal − ε_s along the strong model\'s DDIM path (paper App. E.1):', '');
    lines.push('| step | t | σ | mean cosine | share > 0 | ‖ε_s − ε_w‖ | ‖ε_ideal − ε_s‖ |', '| --- | --- | --- | --- | --- | --- | --- |');
    for (const p of r.cosine) {
      lines.push(`| ${p.step} | ${p.timestep} | ${p.sigma.toFixed(3)} | ${p.meanCosine.toFixed(3)} | ${pct(p.positive)} | ${p.normWeakToStrong.toFixed(3)} | ${p.normStrongToIdeal.toFixed(3)} |`);
    }
    lines.push('');
  }
  lines.push('Findings (computed from the numbers above):', '');
  for (const f of r.findings) lines.push(`- ${f}`);
  lines.push('');
  const grids = r.rows.filter((x) => x.grid);
  if (r.compareGrid) lines.push(`Side by side (same seeds): ![${r.name} comparison](${linkPrefix}${r.compareGrid})`, '');
  if (grids.length) lines.push(`Grids: ${grids.map((x) => `[${x.id}](${linkPrefix}${x.grid})`).join(', ')}.`, '');
  return lines.join('\n');
}

/** The "Small trained models (MNIST)" section: every experiment that ran, with how it was run. */
export function mnistSection(results: readonly ExperimentResult[], command: string, linkBase: string): string {
  const lines = ['## Small trained models (MNIST)', ''];
  lines.push(
    `Regenerate with \`${command}\` (wall time of this run: ${results.reduce((s, r) => s + r.wallSeconds, 0).toFixed(0)} s on this machine). ` +
      'Every number below was measured by that command; the findings under each table are computed from them.',
    '',
  );
  for (const r of results) lines.push(experimentMarkdown(r, `${linkBase}${r.name}/`).replace(/^### /, '### '), '');
  return lines.join('\n');
}
