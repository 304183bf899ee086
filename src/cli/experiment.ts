import { join } from 'node:path';
import type { Command } from 'commander';
import { closeContext, createContext, runExperiment } from '../experiments/run.js';
import { readExperimentConfig } from '../experiments/config.js';
import { SqliteStore } from '../experiments/store.js';
import { addQueueOptions, queueExperimentAction } from './experiment-queue.js';

interface RawOptions {
  threads?: string;
  json?: boolean;
  progress: boolean;
  queue?: string;
  queueName?: string;
  wait?: boolean;
}

export interface CliIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
}

const STDIO: CliIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

export function positiveIntOption(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim() === '' ? NaN : Number(value);
  if (!Number.isInteger(v) || v < 1) throw new Error(`${name}: expected a positive integer, got ${JSON.stringify(value)}`);
  return v;
}

async function action(config: string, raw: RawOptions, io: CliIo): Promise<void> {
  if (raw.queue !== undefined) return queueExperimentAction(config, { queue: raw.queue, queueName: raw.queueName, wait: raw.wait, json: raw.json }, io);
  const threads = positiveIntOption(raw.threads, '--threads');
  // everything is checked (config, folders, prompt set, scorer folders) before the first image
  const experiment = readExperimentConfig(config);
  const ctx = await createContext(experiment, { threads });
  const store = SqliteStore.open(join(experiment.outDir, 'results.sqlite'));
  try {
    const t0 = performance.now();
    const r = await runExperiment(ctx, store, (p) => {
      if (!raw.progress || raw.json || !p.row) return;
      const s = Object.entries(p.row.scores).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ');
      io.err(`[${p.done}/${p.total}] ${p.row.method} prompt ${p.row.promptId} seed ${p.row.seed}: ${p.row.nfe} evaluations, ${(p.row.wallMs / 1000).toFixed(1)} s${s ? `, ${s}` : ''}\n`);
    });
    const summary = { experiment: experiment.config.experiment, store: store.path, images: join(experiment.outDir, 'images'), ...r, seconds: (performance.now() - t0) / 1000 };
    if (raw.json) io.out(`${JSON.stringify(summary, null, 2)}\n`);
    else io.out(`${summary.experiment}: ${r.ran} items run, ${r.skipped} already done, ${r.total} in all (${summary.seconds.toFixed(1)} s); results in ${store.path}\n`);
  } finally {
    await store.close();
    await closeContext(ctx);
  }
}

/** `w2sd experiment CONFIG`: methods × prompts × seeds into a resumable results store. */
export function registerExperiment(program: Command, io: CliIo = STDIO): Command {
  const experiment = program
    .command('experiment')
    .description('Run methods × prompts × seeds from a JSON config into a results store (resumable; see docs/EVAL.md)')
    .argument('<config>', 'experiment config (JSON)')
    .option('--threads <n>', 'ONNX Runtime intra-op threads (default: the config’s, else all cores)')
    .option('--json', 'print a JSON summary on stdout')
    .option('--no-progress', 'no per-item lines on stderr')
    .action((config: string, raw: RawOptions) => action(config, raw, io));
  return addQueueOptions(experiment, io);
}
