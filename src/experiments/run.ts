import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { openScorer, releaseScorerModels } from '../eval/scorers/open.js';
import type { ImageScorer } from '../eval/scorers/types.js';
import { forgetSdModels } from '../models/sd/model.js';
import { generate, type MethodName, type PairPreset } from '../pipelines/index.js';
import type { InversionKind, SamplerName } from '../core/index.js';
import { readExperimentConfig, type ResolvedExperiment, type ResolvedSettings } from './config.js';
import { alive } from './process.js';
import { itemId, type ExperimentItem, type ResultRow, type ResultStore } from './types.js';

/*
 * One item = one image: generate it with the library's public `generate` (which writes the PNG with its
 * generation parameters atomically), score it, and return the row. Models load once per process: SD sessions
 * come from the shared session cache, scorers are opened once per context.
 */

export interface RunContext {
  readonly experiment: ResolvedExperiment;
  readonly scorers: readonly ImageScorer[];
  readonly threads?: number;
  readonly signal?: AbortSignal;
}

export interface ContextOptions {
  readonly threads?: number;
  readonly signal?: AbortSignal;
}

/** Reads and checks the config (or takes a resolved one) and opens every scorer once. */
export async function createContext(config: string | ResolvedExperiment, opts: ContextOptions = {}): Promise<RunContext> {
  const experiment = typeof config === 'string' ? readExperimentConfig(config) : config;
  const threads = opts.threads ?? (experiment.config.threads as number | undefined);
  const runtime = threads !== undefined ? { threads } : {};
  const scorers: ImageScorer[] = [];
  for (const s of experiment.scorers) scorers.push(await openScorer(s, runtime));
  return { experiment, scorers, threads, signal: opts.signal };
}

/** Releases every model of the process (SD sessions are process-wide, like the scorers'). */
export async function closeContext(_ctx: RunContext): Promise<void> {
  forgetSdModels();
  await releaseScorerModels();
}

/** methods × prompts × seeds, prompt-major (so a partial run has complete pairs for the first prompts). */
export function expandItems(ctx: RunContext): ExperimentItem[] {
  const e = ctx.experiment;
  const name = e.config.experiment;
  const items: ExperimentItem[] = [];
  for (const p of e.prompts) {
    for (const seed of e.seedsOf(p)) {
      for (const method of e.methods.keys()) items.push({ id: itemId(name, method, p.id, seed), experiment: name, method, promptId: p.id, prompt: p.prompt, seed });
    }
  }
  return items;
}

export function imagePath(item: ExperimentItem): string {
  return join('images', item.method, `${item.promptId}-${item.seed}.png`);
}

function settingsOf(ctx: RunContext, item: ExperimentItem): ResolvedSettings {
  if (item.experiment !== ctx.experiment.config.experiment) throw new Error(`item ${item.id}: experiment ${item.experiment}, this context runs ${ctx.experiment.config.experiment}`);
  const s = ctx.experiment.methods.get(item.method);
  if (!s) throw new Error(`item ${item.id}: method ${item.method} is not in the config (methods: ${[...ctx.experiment.methods.keys()].join(', ')})`);
  if (item.id !== itemId(item.experiment, item.method, item.promptId, item.seed)) throw new Error(`item ${item.id}: id does not match its key`);
  return s;
}

export async function runItem(ctx: RunContext, item: ExperimentItem): Promise<ResultRow> {
  const s = settingsOf(ctx, item);
  const t0 = performance.now();
  const rel = imagePath(item);
  const result = await generate({
    model: s.model,
    prompt: item.prompt,
    negativePrompt: s.negativePrompt,
    width: s.width,
    height: s.height,
    steps: s.steps,
    seed: item.seed,
    sampler: s.sampler as SamplerName,
    method: s.method as MethodName,
    pair: s.pair as PairPreset | undefined,
    guidance: s.guidance,
    strongGuidance: s.strongGuidance,
    weakGuidance: s.weakGuidance,
    strongModel: s.strongModel,
    weakModel: s.weakModel,
    lambda: s.equalCompute ? undefined : s.lambda,
    inversion: s.inversion as InversionKind | undefined,
    repeats: s.repeats,
    equalCompute: s.equalCompute,
    autoguidanceWeight: s.autoguidanceWeight,
    runtime: ctx.threads !== undefined ? { threads: ctx.threads } : {},
    output: join(ctx.experiment.outDir, rel),
    signal: ctx.signal,
  });
  const scores: Record<string, number> = {};
  for (const scorer of ctx.scorers) {
    const [v] = await scorer.score([{ image: result.images[0], prompt: item.prompt }]);
    if (!Number.isFinite(v)) throw new Error(`scorer ${scorer.name} gave ${v} for ${rel}`);
    scores[scorer.name] = v;
  }
  return {
    id: item.id,
    experiment: item.experiment,
    method: item.method,
    promptId: item.promptId,
    prompt: item.prompt,
    seed: item.seed,
    settings: s,
    nfe: result.evaluations,
    wallMs: performance.now() - t0,
    image: rel.split('\\').join('/'),
    scores,
    createdAt: new Date().toISOString(),
  };
}


/**
 * A process killed while writing a PNG leaves its temporary (`.<name>.<pid>.<time>.tmp`, see
 * pipelines/atomic.ts) behind; those of processes that no longer run are removed. Returns how many.
 */
export function removeStaleTemporaries(outDir: string): number {
  const images = join(outDir, 'images');
  if (!existsSync(images)) return 0;
  let removed = 0;
  for (const method of readdirSync(images, { withFileTypes: true })) {
    if (!method.isDirectory()) continue;
    for (const f of readdirSync(join(images, method.name))) {
      const m = /^\..+\.(\d+)\.[0-9a-z]+\.tmp$/.exec(f);
      if (m && Number(m[1]) !== process.pid && !alive(Number(m[1]))) {
        rmSync(join(images, method.name, f), { force: true });
        removed++;
      }
    }
  }
  return removed;
}

export interface RunProgress {
  readonly done: number;
  readonly skipped: number;
  readonly total: number;
  readonly row?: ResultRow;
}

/**
 * Runs every item not yet in the store. A store made with other settings for a method of the same name is
 * refused before any work (a resumed run must not mix settings under one label).
 */
export async function runExperiment(ctx: RunContext, store: ResultStore, onItem?: (p: RunProgress) => void): Promise<{ ran: number; skipped: number; total: number }> {
  const items = expandItems(ctx);
  const existing = await store.query({ experiment: ctx.experiment.config.experiment });
  for (const r of existing) {
    const now = ctx.experiment.methods.get(r.method);
    if (now && JSON.stringify(now) !== JSON.stringify(r.settings)) {
      throw new Error(
        `the store ${relative(process.cwd(), ctx.experiment.outDir) || '.'} has rows of method ${r.method} made with other settings (${JSON.stringify(r.settings)}; now ${JSON.stringify(now)}): ` +
          'give the changed method a new name or the experiment a new id',
      );
    }
  }
  removeStaleTemporaries(ctx.experiment.outDir);
  const done = new Set(existing.map((r) => r.id));
  let ran = 0;
  let skipped = 0;
  for (const item of items) {
    ctx.signal?.throwIfAborted();
    if (done.has(item.id) || (await store.has(item.id))) {
      skipped++;
      onItem?.({ done: ran + skipped, skipped, total: items.length });
      continue;
    }
    const row = await runItem(ctx, item);
    await store.put(row);
    ran++;
    onItem?.({ done: ran + skipped, skipped, total: items.length, row });
  }
  return { ran, skipped, total: items.length };
}
