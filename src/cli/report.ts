import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { readExperimentConfig } from '../experiments/config.js';
import { buildReport, differencePlot, reportMarkdown, rowsCsv, rowsJsonl } from '../experiments/report.js';
import { SqliteStore } from '../experiments/store.js';
import { writeFilesAtomically } from '../pipelines/atomic.js';
import { positiveIntOption, type CliIo } from './experiment.js';

interface RawOptions {
  out?: string;
  baseline?: string;
  jsonl?: string;
  csv?: string;
  json?: boolean;
  resamples: string;
}

const STDIO: CliIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

async function action(source: string, raw: RawOptions, io: CliIo): Promise<void> {
  const resamples = positiveIntOption(raw.resamples, '--resamples')!;
  if (resamples > 100000) throw new Error(`--resamples: at most 100000, got ${resamples}`);
  const full = resolve(source);
  if (!existsSync(full)) throw new Error(`report source ${full}: not found (give the experiment config or its results.sqlite)`);
  const fromStore = full.endsWith('.sqlite');
  if (!fromStore && !full.endsWith('.json')) throw new Error(`report source ${full}: expected an experiment config (.json) or a results store (.sqlite)`);
  const experiment = fromStore ? undefined : readExperimentConfig(full);
  const storePath = experiment ? join(experiment.outDir, 'results.sqlite') : full;
  if (!existsSync(storePath)) throw new Error(`results store ${storePath}: not found (run w2sd experiment first)`);
  for (const [name, p] of [['--jsonl', raw.jsonl], ['--csv', raw.csv]] as const) {
    if (p !== undefined && !existsSync(dirname(resolve(p)))) throw new Error(`${name} ${p}: folder ${dirname(resolve(p))} does not exist`);
  }
  const store = SqliteStore.open(storePath, { readOnly: true });
  let rows;
  try {
    rows = await store.query(experiment ? { experiment: experiment.config.experiment } : {});
  } finally {
    await store.close();
  }
  const experiments = [...new Set(rows.map((r) => r.experiment))];
  if (experiments.length > 1) throw new Error(`results store ${storePath} holds several experiments (${experiments.join(', ')}): report from the config`);
  const methods = experiment ? [...experiment.methods.keys()] : [...new Set(rows.map((r) => r.method))];
  const baselines = experiment ? [...experiment.baselines] : (raw.baseline ?? '').split(',').filter((s) => s !== '');
  for (const b of baselines) if (!methods.includes(b)) throw new Error(`--baseline ${b}: not a method of the store (methods: ${methods.join(', ')})`);
  const report = buildReport({ experiment: experiment?.config.experiment ?? experiments[0] ?? '?', methods, baselines, rows, matched: experiment?.matched, resamples });
  const outDir = resolve(raw.out ?? join(experiment ? experiment.outDir : dirname(storePath), 'report'));
  mkdirSync(outDir, { recursive: true });
  const files = [
    { path: join(outDir, 'report.md'), data: Buffer.from(reportMarkdown(report)) },
    { path: join(outDir, 'report.json'), data: Buffer.from(`${JSON.stringify(report, null, 1)}\n`) },
    ...report.scorers.filter((s) => report.comparisons.some((c) => c.scorer === s)).map((s) => ({ path: join(outDir, `diff-${s}.png`), data: differencePlot(report, s) })),
    ...(raw.jsonl ? [{ path: resolve(raw.jsonl), data: Buffer.from(rowsJsonl(rows)) }] : []),
    ...(raw.csv ? [{ path: resolve(raw.csv), data: Buffer.from(rowsCsv(rows)) }] : []),
  ];
  writeFilesAtomically(files);
  if (raw.json) io.out(`${JSON.stringify({ ...report, files: files.map((x) => x.path) }, null, 2)}\n`);
  else io.out(`${reportMarkdown(report)}\nwrote ${files.map((x) => x.path).join(', ')}\n`);
}

/** `w2sd report CONFIG|STORE`: tables, win rates with intervals, difference plots, JSONL/CSV export. */
export function registerReport(program: Command, io: CliIo = STDIO): Command {
  return program
    .command('report')
    .description('Report an experiment: means with 95 % CIs, paired win rates vs baselines (bootstrap over prompts), plots, JSONL/CSV export')
    .argument('<source>', 'experiment config (.json) or results store (.sqlite)')
    .option('--out <dir>', 'report folder (default: <experiment out>/report)')
    .option('--baseline <labels>', 'with a .sqlite source: comma-separated baseline methods')
    .option('--jsonl <file>', 'also export every row as JSON lines')
    .option('--csv <file>', 'also export every row as CSV')
    .option('--resamples <n>', 'bootstrap resamples', '2000')
    .option('--json', 'print the report as JSON on stdout')
    .action((source: string, raw: RawOptions) => action(source, raw, io));
}
