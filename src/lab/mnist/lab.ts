import { join } from 'node:path';
import { ddimSchedule } from '../../core/schedules/discrete.js';
import { ddim } from '../../core/samplers/ddim.js';
import { tensor } from '../../core/tensor.js';
import { indicesOfClasses, loadMnist, subset, toSigned, type ImageSet } from '../../data/index.js';
import { frechetDistance } from '../../eval/frechet.js';
import { featureStats } from '../../eval/linalg.js';
import { precisionRecall } from '../../eval/precision-recall.js';
import { cosineCurve, mergeCurves, type CosinePoint } from './cosine.js';
import { evaluateSamples, makeReference, type Reference, type RowMetrics } from './evaluate.js';
import { buildExperiment, type Experiment, type ExperimentName, type ExperimentSettings } from './experiments.js';
import { imageGrid, labelledPanels, writeAtomic, writePng } from './grid.js';
import { Meter } from './meter.js';
import { ModelShelf } from './models.js';
import { batchKit } from './rows.js';
import { runRow, sampleNoise } from './run.js';
import { pairedFrechetHalfWidth, pairedProportionDiff, pairedShareDiff } from './stats.js';
import { findings } from './findings.js';
import { bestAutoguidanceOf } from './best.js';
import { experimentMarkdown } from './report.js';
import type { ExperimentResult, Paired, RowResult } from './results.js';

export type { ExperimentResult, Paired, RowResult } from './results.js';

/** What is kept of a row for paired comparisons: features and per-sample outcomes, not the images. */
interface Outcome {
  readonly frechet: number;
  readonly features: Float32Array;
  /** Per sample: 1 minority digit, 0 majority digit, −1 neither. */
  readonly pairClass?: Int8Array;
  readonly correct?: Uint8Array;
}

export interface LabOptions {
  readonly modelsDir?: string;
  readonly out: string;
  readonly samples: number;
  readonly batch: number;
  readonly steps: number;
  readonly seed: number;
  readonly settings: ExperimentSettings;
  /** Samples per row (and real images) used for the O(N²) precision/recall. */
  readonly prSamples: number;
  readonly cosineSamples: number;
  /** Paired bootstrap resamples for the FD error bars (0: none). */
  readonly bootstrap: number;
  /** Only these row ids (the strong row always runs: everything is compared with it). */
  readonly rows?: readonly string[];
  readonly threads?: number;
  readonly gridImages: number;
  readonly log?: (line: string) => void;
  /** Samples drawn so far over all rows of this experiment, for a progress bar. */
  readonly onProgress?: (done: number, total: number, label: string) => void;
  /** Stops the run between batches once aborted. */
  readonly signal?: AbortSignal;
  /** Builds the experiment instead of buildExperiment (experiments outside src/lab/mnist, e.g. src/lab/moe). */
  readonly build?: (shelf: ModelShelf, s: ExperimentSettings) => Promise<Experiment>;
}

function referenceSet(exp: Experiment, split: 'train' | 'test'): ImageSet {
  const set = loadMnist(split);
  return exp.referenceDigits ? subset(set, indicesOfClasses(set, exp.referenceDigits), `MNIST ${split} digits ${exp.referenceDigits.join('+')}`) : set;
}

/** Runs one experiment, writes its grids, results.json and results.md under `<out>/<name>/`, returns the results. */
export async function runExperiment(name: ExperimentName, o: LabOptions): Promise<ExperimentResult> {
  const log = o.log ?? (() => {});
  const t0 = performance.now();
  const shelf = new ModelShelf(o.modelsDir, o.threads ? { threads: o.threads } : {});
  const exp = o.build ? await o.build(shelf, o.settings) : await buildExperiment(name, shelf, o.settings);
  const classifier = await shelf.classifier();
  const dir = join(o.out, name);
  const main = exp.models[0];
  const schedule = (n: number) => ddimSchedule(main.scheduler, n);
  const sampler = ddim();

  const test = referenceSet(exp, 'test');
  const ref: Reference = await makeReference(test.name, toSigned(test), test.count, classifier, o.prSamples);
  log(`${name}: reference ${ref.name}, ${ref.count} images`);

  const rowsToRun = exp.rows.filter((r) => !o.rows || o.rows.includes(r.id) || r.id === exp.strongRow);
  if (o.rows) {
    const unknown = o.rows.filter((id) => !exp.rows.some((r) => r.id === id));
    if (unknown.length) throw new Error(`${name}: unknown row ids ${unknown.join(', ')} (rows: ${exp.rows.map((r) => r.id).join(', ')})`);
  }
  // the strong row first: every other row is compared with it as it finishes
  rowsToRun.sort((a, b) => Number(b.id === exp.strongRow) - Number(a.id === exp.strongRow));

  const results: RowResult[] = [dataRow(exp, ref, classifier.featureDim, await trainingFeatures(exp, o.samples, classifier), o.prSamples)];
  const outcomes = new Map<string, Outcome>();
  const gridImages = Math.min(o.gridImages, o.samples);
  const gridCols = exp.conditional ? main.config.numClasses : Math.ceil(Math.sqrt(gridImages));
  const per = main.imageShape[0] * main.imageShape[1] * main.imageShape[2];
  const gridsForCompare = new Map<string, Float32Array>();

  for (const [k, row] of rowsToRun.entries()) {
    const samples = await runRow(row, {
      onBatch: (done) => o.onProgress?.(k * o.samples + done, rowsToRun.length * o.samples, `${name}: ${row.name}`),
      signal: o.signal,
      count: o.samples,
      batch: o.batch,
      seed: o.seed,
      steps: o.steps,
      sampler,
      schedule,
      imageShape: main.imageShape,
      labelOf: (i) => exp.labelOf(i),
    });
    const evaluated = await evaluateSamples(samples.images, samples.labels, samples.count, classifier, ref, {
      conditional: exp.conditional,
      pair: exp.pair,
      prCount: o.prSamples,
    });
    outcomes.set(row.id, {
      frechet: evaluated.metrics.frechet,
      features: evaluated.features,
      ...(exp.pair ? { pairClass: Int8Array.from(evaluated.predicted, (c) => (c === exp.pair!.minority ? 1 : c === exp.pair!.majority ? 0 : -1)) } : {}),
      ...(exp.conditional ? { correct: Uint8Array.from(evaluated.predicted, (c, i) => Number(c === samples.labels[i])) } : {}),
    });
    const gridData = samples.images.subarray(0, gridImages * per);
    const gridFile = `${row.id}.png`;
    writePng(join(dir, gridFile), imageGrid(gridData, gridImages, main.imageShape[1], main.imageShape[2], { cols: gridCols }));
    gridsForCompare.set(row.id, Float32Array.from(gridData));
    results.push({
      id: row.id,
      name: row.name,
      group: row.group,
      ...(row.note ? { note: row.note } : {}),
      steps: samples.steps,
      nfe: samples.nfe,
      networkPerImage: samples.networkPerImage,
      seconds: samples.seconds,
      metrics: evaluated.metrics,
      ...(samples.fixedPoint ? { fixedPoint: samples.fixedPoint } : {}),
      ...(samples.equalCompute ? { equalCompute: samples.equalCompute } : {}),
      grid: gridFile,
    });
    log(`${name}: ${row.name}: ${samples.count} samples in ${samples.seconds.toFixed(1)} s, NFE ${samples.nfe.toFixed(1)}, FD ${evaluated.metrics.frechet.toFixed(3)}`);
  }

  const cache = new Map<string, Paired>();
  const paired = (a: string, b: string): Paired | undefined => {
    const key = `${a}|${b}`;
    const oa = outcomes.get(a);
    const ob = outcomes.get(b);
    if (!oa || !ob) return undefined;
    let p = cache.get(key);
    if (!p) {
      const half = pairedFrechetHalfWidth(oa.features, ob.features, classifier.featureDim, ref.stats, o.bootstrap);
      p = {
        frechet: { diff: oa.frechet - ob.frechet, halfWidth: half ?? NaN },
        ...(oa.pairClass && ob.pairClass ? { minority: pairedShareDiff(oa.pairClass, ob.pairClass) } : {}),
        ...(oa.correct && ob.correct ? { accuracy: pairedProportionDiff(oa.correct, ob.correct) } : {}),
      };
      cache.set(key, p);
    }
    return p;
  };
  for (let k = 0; k < results.length; k++) {
    const r = results[k];
    if (r.group === 'data' || r.id === exp.strongRow) continue;
    const vs = paired(r.id, exp.strongRow);
    const base = exp.rows.find((row) => row.id === r.id)?.compareWith;
    const vsBase = base ? paired(r.id, base) : undefined;
    results[k] = { ...r, ...(vs ? { vsStrong: vs } : {}), ...(base && vsBase ? { compareWith: base, vsBase } : {}) };
  }

  let cosine: CosinePoint[] | undefined;
  if (exp.cosine && o.cosineSamples > 0) {
    cosine = await cosineFor(exp, o, schedule, sampler);
    log(`${name}: cosine curve over ${o.cosineSamples} samples`);
  }

  const compareGrid = writeCompare(dir, exp, results, gridsForCompare, gridImages, gridCols, Math.min(o.prSamples, o.samples));
  const result: ExperimentResult = {
    name,
    title: exp.title,
    conditional: exp.conditional,
    ...(exp.pair ? { pair: exp.pair } : {}),
    settings: {
      samples: o.samples,
      steps: o.steps,
      seed: o.seed,
      sampler: 'ddim (eta 0)',
      batch: o.batch,
      prSamples: o.prSamples,
      bootstrap: o.bootstrap,
      cfgScale: o.settings.cfgScale,
      autoguidanceWeights: o.settings.autoguidanceWeights,
      fixedPoint: o.settings.fixedPoint,
      models: exp.models.map((m) => m.name),
      modelsDir: shelf.dir,
    },
    reference: { name: ref.name, count: ref.count },
    rows: results,
    ...(cosine ? { cosine } : {}),
    findings: [],
    wallSeconds: 0,
    ...(compareGrid ? { compareGrid } : {}),
  };
  const done: ExperimentResult = { ...result, findings: findings(result, exp, paired), wallSeconds: (performance.now() - t0) / 1000 };
  writeAtomic(join(dir, 'results.json'), JSON.stringify(done, null, 2) + '\n');
  writeAtomic(join(dir, 'results.md'), experimentMarkdown(done));
  return done;
}

async function trainingFeatures(exp: Experiment, samples: number, classifier: Awaited<ReturnType<ModelShelf['classifier']>>) {
  // as many real training images as generated samples, scored like samples: a scale for FD and precision/recall.
  // Not a floor: the classifier was trained on these images, so their features sit apart from test features.
  const train = referenceSet(exp, 'train');
  const n = Math.min(samples, train.count);
  const stride = train.count / n;
  const picked = subset(train, Array.from({ length: n }, (_, i) => Math.floor(i * stride)));
  const { features, logits } = await classifier.classify(toSigned(picked), n);
  return { features, logits, count: n, labels: picked.labels };
}

function dataRow(exp: Experiment, ref: Reference, dim: number, t: Awaited<ReturnType<typeof trainingFeatures>>, prSamples: number): RowResult {
  const pr = precisionRecall(ref.prFeatures, t.features.subarray(0, Math.min(prSamples, t.count) * dim), dim);
  const classes = t.logits.length / t.count;
  const predicted: number[] = new Array(classes).fill(0);
  let correct = 0;
  let minority = 0;
  let majority = 0;
  for (let i = 0; i < t.count; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (t.logits[i * classes + c] > t.logits[i * classes + best]) best = c;
    predicted[best]++;
    if (best === t.labels[i]) correct++;
    if (exp.pair && best === exp.pair.minority) minority++;
    if (exp.pair && best === exp.pair.majority) majority++;
  }
  const metrics: RowMetrics = {
    frechet: frechetDistance(featureStats(t.features, dim, 'training features'), ref.stats),
    precision: pr.precision,
    recall: pr.recall,
    ...(exp.conditional ? { accuracy: correct / t.count } : {}),
    ...(exp.pair ? { minorityOfPair: minority / (minority + majority), minority: minority / t.count, majority: majority / t.count, other: (t.count - minority - majority) / t.count } : {}),
    predicted,
  };
  return {
    id: 'mnist-train',
    name: `MNIST training images (${t.count})`,
    group: 'data',
    note: 'real training images scored like samples, for scale; not a floor: the evaluation classifier was trained on them, so samples can score a lower FD',
    steps: 0,
    nfe: 0,
    networkPerImage: 0,
    seconds: 0,
    metrics,
  };
}

async function cosineFor(exp: Experiment, o: LabOptions, schedule: (n: number) => ReturnType<typeof ddimSchedule>, sampler: ReturnType<typeof ddim>): Promise<CosinePoint[]> {
  const legs = exp.cosine!;
  const main = exp.models[0];
  const per = main.imageShape[0] * main.imageShape[1] * main.imageShape[2];
  const s = schedule(o.steps);
  const parts: { points: CosinePoint[]; weight: number }[] = [];
  for (let start = 0; start < o.cosineSamples; start += o.batch) {
    const n = Math.min(o.batch, o.cosineSamples - start);
    const labels = Int32Array.from({ length: n }, (_, i) => exp.labelOf(start + i));
    const kit = batchKit(labels, new Meter());
    const noise = sampleNoise(o.seed, start, n, per);
    for (let i = 0; i < noise.length; i++) noise[i] *= s.initSigma;
    const points = await cosineCurve(
      { strong: kit.leg(legs.strong.model, legs.strong.scale), weak: kit.leg(legs.weak.model, legs.weak.scale), ideal: kit.leg(legs.ideal.model, legs.ideal.scale) },
      sampler,
      tensor(noise, [n, ...main.imageShape]),
      s,
    );
    parts.push({ points, weight: n });
  }
  return mergeCurves(parts);
}

/** One labelled picture: strong | W2SD (ddim) | best autoguidance | S2WD, same seeds in the same places. */
function writeCompare(dir: string, exp: Experiment, rows: readonly RowResult[], grids: Map<string, Float32Array>, count: number, cols: number, prCount: number): string | undefined {
  const best = bestAutoguidanceOf(rows, !!exp.pair, prCount);
  const wanted = [exp.strongRow, 'w2sd-ddim', best?.id, 's2wd'].filter((id): id is string => !!id && grids.has(id));
  if (wanted.length < 2) return undefined;
  const main = exp.models[0];
  const short: Record<string, string> = { 'w2sd-ddim': 'W2SD (ddim)', s2wd: 'S2WD' };
  short[exp.strongRow] = 'strong alone';
  const panels = wanted.map((id) => ({
    title: short[id] ?? rows.find((r) => r.id === id)!.name,
    image: imageGrid(grids.get(id)!, count, main.imageShape[1], main.imageShape[2], { cols }),
  }));
  const file = 'compare.png';
  writePng(join(dir, file), labelledPanels(panels));
  return file;
}
