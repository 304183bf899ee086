import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openScorer, releaseScorerModels } from '../src/eval/scorers/open.js';
import type { RgbImage } from '../src/eval/scorers/types.js';
import { writeTinySdFolder } from '../test/helpers/onnx-graphs.js';
import { writeTestScorerFolder } from '../test/helpers/scorers.js';

/*
 * Scorer throughput (images/s, preprocessing included) on the test CLIP model and on any real folder given
 * with `--scorer-model <dir>`, and the peak resident memory of a process that generates and scores one
 * experiment item (pipeline + scorer) against generation alone.
 */

export interface ThroughputRow {
  readonly model: string;
  readonly image: string;
  readonly batch: number;
  readonly imagesPerSecond: number;
}

export interface EvalRssRow {
  readonly setting: string;
  readonly peakRssMB: number;
}

function image(width: number, height: number): RgbImage {
  const rgb = new Uint8Array(width * height * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 2654435761) >>> 24;
  return { rgb, width, height };
}

async function throughput(model: string, dir: string, img: RgbImage, batch: number): Promise<ThroughputRow> {
  const s = await openScorer({ name: 'pickscore', kind: 'pickscore', path: dir });
  const inputs = Array.from({ length: batch }, () => ({ image: img, prompt: 'a photo of a cat sitting on a red sofa' }));
  await s.score(inputs);
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < 1500 || n < 2 * batch) {
    await s.score(inputs);
    n += batch;
  }
  return { model, image: `${img.width}×${img.height}`, batch, imagesPerSecond: n / ((performance.now() - t0) / 1000) };
}

const PEAK_KB = `(await import('node:fs')).existsSync('/proc/self/status') ? Number(/VmHWM:\\s+(\\d+)/.exec((await import('node:fs')).readFileSync('/proc/self/status', 'utf8'))[1]) : process.resourceUsage().maxRSS`;

function peakRss(setting: string, code: string): EvalRssRow {
  const res = spawnSync(process.execPath, ['--input-type=module', '-e', `${code}\nconsole.log(${PEAK_KB});`], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`rss ${setting}: ${res.stderr}`);
  return { setting, peakRssMB: Number(res.stdout.trim().split('\n').pop()) / 1024 };
}

export async function benchEval(args: readonly string[] = []): Promise<{ throughput: ThroughputRow[]; rss: EvalRssRow[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'w2sd-bench-eval-'));
  try {
    const clip = writeTestScorerFolder(join(dir, 'clip'));
    const rows: ThroughputRow[] = [];
    for (const img of [image(32, 32), image(512, 512), image(1024, 768)]) {
      for (const batch of [1, 8]) rows.push(await throughput('test CLIP (crop 32)', clip, img, batch));
    }
    const real = args.flatMap((a, i) => (a === '--scorer-model' && args[i + 1] ? [args[i + 1]] : []));
    for (const m of real) for (const batch of [1, 8]) rows.push(await throughput(m, m, image(512, 512), batch));
    await releaseScorerModels();

    // one experiment item in a fresh process: generate 128×128 (a 64×64 latent), then score
    writeTinySdFolder(join(dir, 'model'), { family: 'sd1', unet: { ballastMB: 96 } });
    const cfg = join(dir, 'exp.json');
    const base = { experiment: 'bench', model: 'model', prompts: { set: 'list', list: ['a cat'] }, seeds: [0], steps: 4, width: 128, height: 128, methods: [{ name: 'cfg', method: 'cfg' }] };
    writeFileSync(cfg, JSON.stringify({ ...base, scorers: [{ name: 'pickscore', kind: 'pickscore', path: 'clip' }, { name: 'aesthetic', kind: 'aesthetic', path: 'clip' }] }));
    const noScorer = join(dir, 'exp-none.json');
    writeFileSync(noScorer, JSON.stringify({ ...base, scorers: [] }));
    const run = fileURLToPath(new URL('../src/experiments/run.js', import.meta.url));
    const item = (c: string) => `import { createContext, expandItems, runItem } from ${JSON.stringify(run)}; const ctx = await createContext(${JSON.stringify(c)}); await runItem(ctx, expandItems(ctx)[0]);`;
    const rss = [peakRss('one item, pipeline only (test UNet with 96 MiB of weights, 128×128)', item(noScorer)), peakRss('one item, pipeline + pickscore + aesthetic (test CLIP)', item(cfg))];
    printEval(rows, rss);
    return { throughput: rows, rss };
  } finally {
    await releaseScorerModels();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function printEval(rows: readonly ThroughputRow[], rss: readonly EvalRssRow[]): void {
  console.log('\n## Scorers: throughput and memory\n');
  console.log('| scorer model | input image | batch | images/s (preprocessing included) |');
  console.log('|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.model} | ${r.image} | ${r.batch} | ${r.imagesPerSecond.toFixed(1)} |`);
  console.log('\n| setting | peak RSS MiB |');
  console.log('|---|---|');
  for (const r of rss) console.log(`| ${r.setting} | ${r.peakRssMB.toFixed(0)} |`);
}
