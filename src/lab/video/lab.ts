import { join } from 'node:path';
import { autoguidance } from '../../core/guidance.js';
import { equalCompute, plain, s2wd, selfReflection, w2sd, type Legs, type Method, type W2sdSettings } from '../../core/methods.js';
import { ddim } from '../../core/samplers/ddim.js';
import { ddimSchedule } from '../../core/schedules/discrete.js';
import { tensor } from '../../core/tensor.js';
import type { Denoiser } from '../../core/types.js';
import { loadMnist } from '../../data/index.js';
import { loadClassifier } from '../../eval/classifier.js';
import { loadClipModel, type ClipModel } from '../../models/clip-model.js';
import type { RuntimeOptions } from '../../models/onnx/providers.js';
import { Meter } from '../mnist/meter.js';
import { defaultModelsDir, MODEL_NAMES } from '../mnist/models.js';
import { sampleNoise } from '../mnist/run.js';
import { movingMnist } from './clips.js';
import { clipFeatures, clipMetrics, referenceStats, type ClipMetrics } from './metrics.js';

/** The shipped clip models (training/train_dit.py video run; models/mnist-video*.md). */
export const VIDEO_MODELS = { strong: 'mnist-video', weak: 'mnist-video-early' } as const;

export interface VideoLabOptions {
  readonly modelsDir?: string;
  /** Clips per row. */
  readonly samples: number;
  readonly batch: number;
  readonly steps: number;
  readonly seed: number;
  readonly autoguidanceWeights: readonly number[];
  readonly fixedPoint: { readonly tolerance: number; readonly maxIterations: number };
  /** Real test clips for the frame-feature reference. */
  readonly referenceClips: number;
  readonly runtime?: RuntimeOptions;
  readonly log?: (line: string) => void;
}

export interface VideoRow {
  readonly id: string;
  readonly name: string;
  readonly group: 'data' | 'reference' | 'baseline' | 'w2sd' | 'control' | 'equal-compute';
  readonly nfe: number;
  readonly seconds: number;
  readonly metrics: ClipMetrics;
  /** The first clips of the row, [n, 1, F, S, S], for the animated grid. */
  readonly preview: Float32Array;
}

export interface VideoLabResult {
  readonly settings: Omit<VideoLabOptions, 'log' | 'runtime' | 'modelsDir'> & { readonly models: readonly string[]; readonly sampler: string };
  readonly clipShape: readonly number[];
  readonly bestW: number;
  readonly rows: readonly VideoRow[];
  readonly previewCount: number;
  readonly wallSeconds: number;
}

interface RowSpec {
  readonly id: string;
  readonly name: string;
  readonly group: VideoRow['group'];
  build(legs: Legs): Method;
}

function rowSpecs(o: VideoLabOptions): { ag: (w: number) => RowSpec; rows: RowSpec[] } {
  const fp: W2sdSettings = { inversion: 'fixed-point', fixedPoint: o.fixedPoint };
  const dd: W2sdSettings = { inversion: 'ddim' };
  const row = (id: string, name: string, group: RowSpec['group'], build: (l: Legs) => Method): RowSpec => ({ id, name, group, build });
  return {
    ag: (w) => row(`autoguidance-w${w}`, `autoguidance w=${w}`, 'baseline', (l) => plain(`autoguidance w=${w}`, autoguidance(l.strong, l.weak, w))),
    rows: [
      row('weak', `weak alone (${VIDEO_MODELS.weak})`, 'reference', (l) => plain('weak', l.weak)),
      row('strong', `strong alone (${VIDEO_MODELS.strong})`, 'baseline', (l) => plain('strong', l.strong)),
      row('w2sd-ddim', 'W2SD (ddim inversion)', 'w2sd', (l) => w2sd('W2SD', l, dd)),
      row('w2sd-fixed-point', 'W2SD (fixed-point inversion)', 'w2sd', (l) => w2sd('W2SD', l, fp)),
      row('s2wd', 'S2WD (roles swapped)', 'control', (l) => s2wd('S2WD', l, dd)),
      row('self-ddim', 'self-reflection (ddim)', 'control', (l) => selfReflection('self', l, dd)),
      row('self-fixed-point', 'self-reflection (fixed-point)', 'control', (l) => selfReflection('self', l, fp)),
      row('w2sd-equal-compute', 'W2SD equal compute (T′ + 2λ = T)', 'equal-compute', (l) => equalCompute('W2SD eq', l, dd)),
      row('self-equal-compute', 'self-reflection equal compute (T′ + 2λ = T)', 'control', (l) => equalCompute('self eq', { ...l, weak: l.strong }, dd)),
    ],
  };
}

export function checkVideoOptions(o: VideoLabOptions): void {
  const pos = (v: number, what: string) => {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${what}: expected a positive integer, got ${v}`);
  };
  pos(o.samples, '--samples');
  pos(o.batch, '--batch');
  pos(o.steps, '--steps');
  pos(o.referenceClips, '--reference-clips');
  if (o.samples > 20000) throw new Error(`--samples: at most 20000 clips per row, got ${o.samples}`);
  if (!Number.isSafeInteger(o.seed) || o.seed < 0) throw new Error(`--seed: expected a non-negative integer, got ${o.seed}`);
  if (o.autoguidanceWeights.length === 0) throw new Error('--autoguidance: give at least one weight');
}

/** Plain vs W2SD vs the controls on the shipped clip models, per-frame quality and temporal metrics. */
export async function runVideoLab(o: VideoLabOptions): Promise<VideoLabResult> {
  checkVideoOptions(o);
  const t0 = performance.now();
  const log = o.log ?? (() => {});
  const dir = o.modelsDir ?? defaultModelsDir();
  const [strong, weak, classifier] = await Promise.all([
    loadClipModel(join(dir, VIDEO_MODELS.strong), o.runtime),
    loadClipModel(join(dir, VIDEO_MODELS.weak), o.runtime),
    loadClassifier(join(dir, MODEL_NAMES.classifier), o.runtime),
  ]);
  if (strong.clipShape.join() !== weak.clipShape.join()) throw new Error(`video lab: ${strong.name} and ${weak.name} have different clip shapes`);
  const [, frames, side] = strong.clipShape;
  const shape = { frames, side };
  const test = loadMnist('test');
  const ref = movingMnist(test, o.referenceClips, o.seed + 1);
  const refStats = referenceStats(await clipFeatures(ref.clips, ref.count, shape, classifier), classifier.featureDim);
  const preview = Math.min(20, o.samples);
  const per = strong.clipShape.reduce((a, b) => a * b, 1);

  const real = movingMnist(test, o.samples, o.seed + 2);
  const rows: VideoRow[] = [
    {
      id: 'real',
      name: `real moving-MNIST test clips (${o.samples})`,
      group: 'data',
      nfe: 0,
      seconds: 0,
      metrics: clipMetrics(await clipFeatures(real.clips, real.count, shape, classifier), real.labels, shape, classifier.featureDim, refStats),
      preview: real.clips.slice(0, preview * per),
    },
  ];
  const run = async (spec: RowSpec): Promise<VideoRow> => {
    const r = await sampleRow(spec, strong, weak, o);
    const metrics = clipMetrics(await clipFeatures(r.clips, o.samples, shape, classifier), r.labels, shape, classifier.featureDim, refStats);
    log(`video: ${spec.name}: ${o.samples} clips in ${r.seconds.toFixed(1)} s, NFE ${r.nfe}, frame FD ${metrics.frameFd.toFixed(3)}`);
    return { id: spec.id, name: spec.name, group: spec.group, nfe: r.nfe, seconds: r.seconds, metrics, preview: r.clips.slice(0, preview * per) };
  };
  const specs = rowSpecs(o);
  const agRows: VideoRow[] = [];
  for (const w of o.autoguidanceWeights) agRows.push(await run(specs.ag(w)));
  let best = 0;
  agRows.forEach((r, i) => {
    if (r.metrics.frameFd < agRows[best].metrics.frameFd) best = i;
  });
  for (const spec of specs.rows) rows.push(await run(spec));
  rows.push(...agRows);
  return {
    settings: {
      samples: o.samples,
      batch: o.batch,
      steps: o.steps,
      seed: o.seed,
      autoguidanceWeights: o.autoguidanceWeights,
      fixedPoint: o.fixedPoint,
      referenceClips: o.referenceClips,
      models: [strong.name, weak.name, classifier.name],
      sampler: 'ddim (eta 0)',
    },
    clipShape: strong.clipShape,
    bestW: o.autoguidanceWeights[best],
    rows,
    previewCount: preview,
    wallSeconds: (performance.now() - t0) / 1000,
  };
}

async function sampleRow(spec: RowSpec, strong: ClipModel, weak: ClipModel, o: VideoLabOptions): Promise<{ clips: Float32Array; labels: Int32Array; nfe: number; seconds: number }> {
  const per = strong.clipShape.reduce((a, b) => a * b, 1);
  const clips = new Float32Array(o.samples * per);
  const labels = Int32Array.from({ length: o.samples }, (_, i) => i % strong.config.numClasses);
  const meter = new Meter();
  const schedule = (n: number) => ddimSchedule(strong.scheduler, n);
  const sampler = ddim();
  let batches = 0;
  const t0 = performance.now();
  for (let start = 0; start < o.samples; start += o.batch) {
    const n = Math.min(o.batch, o.samples - start);
    const l = labels.slice(start, start + n);
    const s: Denoiser = meter.wrap(strong.denoiser(l));
    const legs: Legs = { main: s, strong: s, weak: meter.wrap(weak.denoiser(l)) };
    const noise = tensor(sampleNoise(o.seed, start, n, per), [n, ...strong.clipShape]);
    clips.set(await spec.build(legs).run({ sampler, schedule, steps: o.steps, noise }), start * per);
    batches++;
  }
  return { clips, labels, nfe: meter.calls / batches, seconds: (performance.now() - t0) / 1000 };
}
