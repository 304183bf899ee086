#!/usr/bin/env node
/**
 * Bad-input drill for the w2sd CLI (issue 9): runs every case below as a separate process of the built CLI
 * (`npm run build` first) and checks its exit code, its message, the time to refusal and that the case's
 * folder afterwards holds exactly what it held before (nothing half-written, no temp file, older files
 * untouched). Cases that depend on checks other branches add are marked `needs`; when they fail they are
 * reported as such, never counted as passes.
 *
 *   node tools/bad-input.mjs              run all, print a summary, exit 1 on any failure
 *   node tools/bad-input.mjs --markdown   also print the tables of ranges, applicability and results
 *   node tools/bad-input.mjs --doc docs/RELIABILITY.md   rewrite the generated part of that page
 *   node tools/bad-input.mjs --only toy   run the cases whose id starts with this
 *
 * Time to refusal is the wall time of the process minus the median start-up time of `w2sd --version`
 * measured at the beginning (so a loaded machine does not fail the one-second rule by Node's own start-up).
 * A case that misses a time limit is timed up to twice more. If it still misses while the machine is so loaded
 * that `w2sd --version` alone takes over LOADED_STARTUP_MS, it is reported as "slow (loaded machine)", which
 * does not fail the run: there the clock measures the machine, not the program. Every other problem fails.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fractalMixture } from './fractal-mixture.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const MAIN = join(ROOT, 'dist/src/cli/main.js');
const HELPERS = join(ROOT, 'dist/test/helpers/onnx-graphs.js');
if (!existsSync(MAIN) || !existsSync(HELPERS)) {
  console.error('bad-input: build first (npm run build)');
  process.exit(2);
}
const { GraphBuilder, writeTinySdFolder } = await import(HELPERS);

const args = process.argv.slice(2);
const doc = args.includes('--doc') ? args[args.indexOf('--doc') + 1] : undefined;
const markdown = args.includes('--markdown') || doc !== undefined;
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;

const root = mkdtempSync(join(tmpdir(), 'w2sd-bad-input-'));
const shared = join(root, 'shared');
mkdirSync(shared);

// ---- shared inputs (outside every case folder, so they do not count as leftovers) ----
const put = (name, data) => {
  const p = join(shared, name);
  writeFileSync(p, data);
  return p;
};
const mixtureFile = (components) => put(`fractal-${components}.json`, JSON.stringify(fractalMixture(components)));
const fractal1000 = mixtureFile(1000);
const fractal10000 = mixtureFile(10000);
const toyMix = { ideal: [{ weight: 0.5, mean: [-2], std: 0.5 }, { weight: 0.5, mean: [2], std: 0.5 }], strong: [{ weight: 0.7, mean: [-2], std: 0.6 }, { weight: 0.3, mean: [2], std: 0.6 }], weak: [{ weight: 0.9, mean: [-2], std: 0.8 }, { weight: 0.1, mean: [2], std: 0.8 }] };
const goodMixture = put('good.json', JSON.stringify(toyMix));
const truncatedMixture = put('truncated.json', JSON.stringify(toyMix).slice(0, 60));
const binaryFile = put('binary.bin', Uint8Array.from({ length: 256 }, (_, i) => i));
const noWeight = put('no-weight.json', JSON.stringify({ ...toyMix, strong: [{ mean: [0], std: 1 }] }));
const infMean = put('inf-mean.json', JSON.stringify(toyMix).replace('"mean":[-2]', '"mean":[1e999]'));
const farMean = put('far-mean.json', JSON.stringify(toyMix).replace('"mean":[-2]', '"mean":[1e30]'));
const zeroStd = put('tiny-std.json', JSON.stringify(toyMix).replace('"std":0.5', '"std":1e-30'));
const fifo = join(shared, 'fifo');
const hasFifo = spawnSync('mkfifo', [fifo]).status === 0;
const aFile = put('a-file.txt', 'not a folder');

// SD folders: the tiny test model, and copies with a corrupt, truncated, wrong-shape and NaN UNet
const sd = (name, o = {}) => writeTinySdFolder(join(shared, name), { family: 'sd1', ...o }).dir;
const model = sd('model');
const slowModel = sd('slow', { unet: { convWidth: 96 } });
const corrupt = sd('corrupt-unet');
writeFileSync(join(corrupt, 'unet/model.onnx'), Uint8Array.from({ length: 4096 }, (_, i) => (i * 131) % 251));
const truncated = sd('truncated-unet');
const whole = readFileSync(join(truncated, 'unet/model.onnx'));
writeFileSync(join(truncated, 'unet/model.onnx'), whole.subarray(0, Math.floor(whole.length / 2)));
/** A UNet with the right inputs whose output is built by `body(g, sample)`. */
const customUnet = (name, body) => {
  const dir = sd(name);
  const g = new GraphBuilder();
  const sample = g.input('sample', 'float32', ['batch', 4, 'height', 'width']);
  g.input('timestep', 'int64', ['batch']);
  g.input('encoder_hidden_states', 'float32', ['batch', 'sequence', 32]);
  g.op('Identity', [body(g, sample)], {}, 'out_sample');
  g.output('out_sample', 'float32', ['batch', 'channels', 'height', 'width']);
  g.write(join(dir, 'unet/model.onnx'));
  return dir;
};
const wrongShape = customUnet('wrong-shape-unet', (g, s) => g.op('Concat', [s, s], { axis: 2 }));
const nanUnet = customUnet('nan-unet', (g, s) => g.op('Mul', [s, g.op('Div', [g.scalar(0), g.scalar(0)])]));
const schedulerVariant = (name, change) => {
  const dir = sd(name);
  const p = join(dir, 'scheduler/scheduler_config.json');
  writeFileSync(p, JSON.stringify(change(JSON.parse(readFileSync(p, 'utf8')))));
  return dir;
};
const betasSwapped = schedulerVariant('betas-swapped', (c) => ({ ...c, beta_start: 0.012, beta_end: 0.00085 }));
const unknownSchedule = schedulerVariant('unknown-schedule', (c) => ({ ...c, beta_schedule: 'cubic' }));
const hugeTrainSteps = schedulerVariant('huge-train-steps', (c) => ({ ...c, num_train_timesteps: 1e12 }));
const noBetas = schedulerVariant('no-betas', (c) => Object.fromEntries(Object.entries(c).filter(([k]) => !k.startsWith('beta_'))));
const gen = (m, ...rest) => ['generate', '--model', m, '--prompt', 'a cat', '--width', '16', '--height', '16', '--threads', '1', ...rest];

// MNIST models: the shipped ones, with the quality pair's weak model truncated in a copy
const models = join(shared, 'models');
mkdirSync(models);
for (const m of readdirSync(join(ROOT, 'models'))) if (m !== 'mnist-small') symlinkSync(join(ROOT, 'models', m), join(models, m));
cpSync(join(ROOT, 'models/mnist-small'), join(models, 'mnist-small'), { recursive: true });
const small = readFileSync(join(models, 'mnist-small/model.onnx'));
writeFileSync(join(models, 'mnist-small/model.onnx'), small.subarray(0, Math.floor(small.length / 3)));

// ---- the cases ----
/**
 * id, command line (run in a fresh case folder), expected exit code and message; `setup` puts files in the
 * case folder first (they must survive unchanged); `signal` sends one after `afterMs` or after a stderr line
 * matching `afterLine`; `expectFiles` lists what a successful run adds; `needs` marks checks of other branches.
 */
const cases = [
  // toy: numbers
  { id: 'toy-samples-1e9', argv: ['toy', '--samples', '1e9'], code: 1, message: /needs about \d+ GiB of memory \(--samples 1000000000.*--max-memory/ },
  { id: 'toy-samples-negative', argv: ['toy', '--samples', '-5'], code: 1, message: /--samples: expected an integer from 1 to/ },
  { id: 'toy-samples-nan', argv: ['toy', '--samples', 'NaN'], code: 1, message: /--samples: expected an integer/ },
  { id: 'toy-samples-hex', argv: ['toy', '--samples', '0x10'], code: 1, message: /--samples: expected an integer .* got "0x10"/ },
  { id: 'toy-steps-junk', argv: ['toy', '--steps', '12abc'], code: 1, message: /--steps: expected an integer from 1 to 10000, got "12abc"/ },
  { id: 'toy-steps-overflow', argv: ['toy', '--steps', '1e400'], code: 1, message: /--steps: expected an integer from 1 to 10000, got "1e400"/ },
  { id: 'toy-steps-zero', argv: ['toy', '--steps', '0'], code: 1, message: /--steps: expected an integer from 1 to 10000/ },
  { id: 'toy-lambda-equals-T', argv: ['toy', '--steps', '50', '--lambda', '50'], code: 1, message: /--lambda: expected an integer from 0 to 49, got "50"/ },
  { id: 'toy-seed-negative', argv: ['toy', '--seed', '-1'], code: 1, message: /--seed: expected an integer from 0 to/ },
  { id: 'toy-seed-fraction', argv: ['toy', '--seed', '1.5'], code: 1, message: /--seed: expected an integer/ },
  { id: 'toy-dim-3', argv: ['toy', '--dim', '3'], code: 1, message: /--dim: expected one of 1, 2, got "3"/ },
  { id: 'toy-sampler-unknown', argv: ['toy', '--sampler', 'lms'], code: 1, message: /--sampler: expected one of ddim, euler/ },
  { id: 'toy-inversion-lagged', argv: ['toy', '--inversion', 'official-lagged'], code: 1, message: /official-lagged: needs a discrete/ },
  { id: 'toy-sweep-unknown', argv: ['toy', '--sweep', 'lambda,gamma'], code: 1, message: /--sweep: unknown name "gamma"; allowed: gap, lambda, steps, w, all/ },
  { id: 'toy-trajectories-huge', argv: ['toy', '--trajectories', '1e6'], code: 1, message: /--trajectories: expected an integer from 0 to 1000/ },
  { id: 'toy-max-memory-zero', argv: ['toy', '--max-memory', '0'], code: 1, message: /--max-memory: expected a number ≥ 1/ },
  { id: 'toy-dim-with-mixture', argv: ['toy', '--dim', '1', '--mixture', goodMixture], code: 1, message: /--dim does not apply/ },
  // toy: mixture files
  { id: 'toy-mixture-10000-components', argv: ['toy', '--mixture', fractal10000], code: 1, message: /estimated work is .* component-evaluations \(--samples 10000, --steps 50, 10000 components in 2-D\).*--max-work/ },
  { id: 'toy-mixture-truncated', argv: ['toy', '--mixture', truncatedMixture], code: 1, message: /truncated\.json: malformed JSON/ },
  { id: 'toy-mixture-binary', argv: ['toy', '--mixture', binaryFile], code: 1, message: /binary\.bin: is binary/ },
  { id: 'toy-mixture-folder', argv: ['toy', '--mixture', shared], code: 1, message: /is a folder, expected a JSON mixture file/ },
  { id: 'toy-mixture-missing-field', argv: ['toy', '--mixture', noWeight], code: 1, message: /strong\[0\]: missing field "weight"/ },
  { id: 'toy-mixture-infinite-mean', argv: ['toy', '--mixture', infMean], code: 1, message: /ideal\[0\]\.mean.*finite/ },
  { id: 'toy-mixture-far-mean', argv: ['toy', '--mixture', farMean], code: 1, message: /ideal\[0\]\.mean\[0\]: expected a number from -10000 to 10000, got 1e\+30/ },
  { id: 'toy-mixture-thin-variance', argv: ['toy', '--mixture', zeroStd], code: 1, message: /ideal\[0\]\.cov\[0\]\[0\]: expected a number from 1e-12 to 1e8, got 1\.0+1e-60/ },
  ...(hasFifo ? [{ id: 'toy-mixture-fifo', argv: ['toy', '--mixture', fifo], code: 1, message: /is not a regular file \(a FIFO/ }] : []),
  // toy: output paths
  { id: 'toy-out-proc', argv: ['toy', '--out', '/proc/w2sd-out'], code: 1, message: /\/proc is a kernel pseudo file system/ },
  { id: 'toy-out-is-file', argv: ['toy', '--out', aFile], code: 1, message: /a-file\.txt: is a file, expected a folder/ },
  { id: 'toy-out-under-file', argv: ['toy', '--out', join(aFile, 'sub')], code: 1, message: /a-file\.txt is a file, not a folder/ },
  { id: 'toy-results-folder', argv: ['toy', '--results', shared], code: 1, message: /is a folder, expected a file/ },
  { id: 'toy-results-binary', argv: ['toy', '--results', binaryFile], code: 1, message: /is binary \(holds NUL bytes\), expected a Markdown text file/ },
  // toy: signals in the middle of compute (the 1,000-component fractal mixture is accepted and computing)
  { id: 'toy-sigint-fractal', argv: ['toy', '--mixture', fractal1000, '--samples', '1000', '--out', 'out'], setup: { 'out/': null, 'out/toy-mixture.md': '# an older run\n' }, signal: { name: 'SIGINT', afterMs: 4000 }, code: 130, message: /interrupted by SIGINT/ },
  { id: 'toy-sigterm', argv: ['toy', '--samples', '20000', '--steps', '200', '--out', 'out'], signal: { name: 'SIGTERM', afterMs: 2500 }, code: 143, message: /interrupted by SIGTERM/ },
  { id: 'toy-small-run-ok', argv: ['toy', '--samples', '200', '--steps', '6', '--trajectories', '2', '--out', 'out'], code: 0, message: /wrote/, expectFiles: ['out/', 'out/toy2d.json', 'out/toy2d.md', 'out/toy2d-methods.png', 'out/toy2d-models.png'] },

  // lab
  { id: 'lab-unknown-experiment', argv: ['lab', 'gamma'], code: 1, message: /lab <experiment>: expected one of imbalance, length, quality, all/ },
  { id: 'lab-rows-unknown', argv: ['lab', 'quality', '--rows', 'strong,nope'], code: 1, message: /--rows: unknown name "nope"; allowed: weak, strong, cfg/ },
  { id: 'lab-samples-1e9', argv: ['lab', 'quality', '--samples', '1e9'], code: 1, message: /--samples: expected an integer from 1 to 1e7/ },
  { id: 'lab-pr-samples-memory', argv: ['lab', 'quality', '--pr-samples', '100000'], code: 1, message: /needs about \d+ GiB of memory .*--pr-samples 100000.*--max-memory/ },
  { id: 'lab-fixed-point-tol-zero', argv: ['lab', 'quality', '--fixed-point-tol', '0'], code: 1, message: /--fixed-point-tol: expected a number in \(0, 1\)/ },
  { id: 'lab-autoguidance-junk', argv: ['lab', 'quality', '--autoguidance', '1.5,x'], code: 1, message: /--autoguidance: expected a number from -50 to 50, got "x"/ },
  { id: 'lab-batch-zero', argv: ['lab', 'quality', '--batch', '0'], code: 1, message: /--batch: expected an integer from 1 to 4096/ },
  { id: 'lab-cfg-not-applicable', argv: ['lab', 'imbalance', '--cfg', '3'], code: 1, message: /--cfg does not apply to lab imbalance/ },
  { id: 'lab-models-is-file', argv: ['lab', 'quality', '--models', aFile], code: 1, message: /--models .*a-file\.txt: is a file, expected a folder/ },
  { id: 'lab-results-binary', argv: ['lab', 'quality', '--results', binaryFile], code: 1, message: /is binary/ },
  { id: 'lab-out-sys', argv: ['lab', 'quality', '--out', '/sys/w2sd'], code: 1, message: /\/sys is a kernel pseudo file system/ },
  { id: 'lab-truncated-model', argv: ['lab', 'quality', '--models', models, '--samples', '20', '--pr-samples', '20', '--rows', 'strong', '--out', 'out', '--threads', '1'], code: 1, message: /mnist-small.*model\.onnx is not a loadable ONNX model \(corrupt or truncated file\?\)/, slow: true },
  { id: 'lab-sigint', argv: ['lab', 'quality', '--samples', '400', '--pr-samples', '100', '--rows', 'strong,w2sd-ddim', '--bootstrap', '0', '--out', 'out', '--results', 'RESULTS.md', '--threads', '1'], setup: { 'RESULTS.md': '# mine\n' }, signal: { name: 'SIGINT', afterLine: /quality: reference/, afterMs: 500 }, code: 130, message: /interrupted by SIGINT/ },

  // start
  { id: 'start-samples-1e9', argv: ['start', '--samples', '1e9'], code: 1, message: /--samples: expected an integer from 2 to 1e6, got "1e9"/ },
  { id: 'start-steps-one', argv: ['start', '--steps', '1'], code: 1, message: /--steps: expected an integer from 2 to 1000, got "1"/ },
  { id: 'start-batch-fraction', argv: ['start', '--batch', '6.5'], code: 1, message: /--batch: expected an integer from 1 to 4096/ },
  { id: 'start-seed-hex', argv: ['start', '--seed', '0x1'], code: 1, message: /--seed: expected an integer/ },
  { id: 'start-out-sys', argv: ['start', '--out', '/sys/kernel/w2sd'], code: 1, message: /\/sys is a kernel pseudo file system/ },
  { id: 'start-models-missing', argv: ['start', '--models', 'nowhere'], code: 1, message: /--models nowhere: folder not found/ },
  { id: 'start-sigint', argv: ['start', '--samples', '2000', '--out', 'out'], signal: { name: 'SIGINT', afterLine: /sampling 2000 images/, afterMs: 3000 }, code: 130, message: /interrupted by SIGINT/ },

  // generate: numbers and applicability
  { id: 'generate-steps-1e9', argv: gen(model, '--steps', '1e9'), code: 1, message: /--steps: expected an integer from 1 to 1000, got "1e9"/ },
  { id: 'generate-width-fraction', argv: gen(model, '--width', '64.5'), code: 1, message: /--width: expected an integer from 8 to 8192, got "64.5"/ },
  { id: 'generate-guidance-nan', argv: gen(model, '--guidance', 'nan'), code: 1, message: /--guidance: expected a number from -50 to 50, got "nan"/ },
  { id: 'generate-seed-huge', argv: gen(model, '--seed', '1e300'), code: 1, message: /--seed: expected an integer from 0 to 9007199254740991/ },
  { id: 'generate-lambda-with-cfg', argv: gen(model, '--method', 'cfg', '--lambda', '3'), code: 1, message: /--lambda does not apply to --method cfg/ },
  { id: 'generate-eta-with-euler', argv: gen(model, '--sampler', 'euler', '--eta', '0.5'), code: 1, message: /--eta does not apply .*--sampler euler: it applies to the ddim sampler/ },
  { id: 'generate-pair-with-cfg', argv: gen(model, '--method', 'cfg', '--pair', 'guidance'), code: 1, message: /--pair does not apply to --method cfg/ },
  { id: 'generate-guidance-with-plain', argv: gen(model, '--method', 'plain', '--guidance', '3'), code: 1, message: /--guidance does not apply to --method plain/ },
  { id: 'generate-memory', argv: gen(model, '--batch', '64', '--width', '8192', '--height', '8192'), code: 1, message: /needs about \d+ GiB of memory \(--batch 64 at 8192 × 8192\).*--max-memory/ },
  { id: 'generate-negative-guidance-ok', argv: gen(model, '--guidance', '-1.5', '--steps', '2', '--out', 'neg.png'), code: 0, message: /wrote .*neg\.png/, expectFiles: ['neg.png'] },
  // generate: paths
  { id: 'generate-out-not-png', argv: gen(model, '--out', 'x.jpg'), code: 1, message: /--out x\.jpg: expected a \.png file name/ },
  { id: 'generate-out-proc', argv: gen(model, '--out', '/proc/x.png'), code: 1, message: /\/proc is a kernel pseudo file system/ },
  { id: 'generate-out-is-folder', argv: gen(model, '--out', 'taken.png'), setup: { 'taken.png/': null }, code: 1, message: /taken\.png: is a folder, expected a file/ },
  // generate: model files
  { id: 'generate-corrupt-unet', argv: gen(corrupt, '--steps', '2', '--out', 'c.png'), code: 1, message: /corrupt-unet.*unet.*model\.onnx/ },
  { id: 'generate-truncated-unet', argv: gen(truncated, '--steps', '2', '--out', 't.png'), code: 1, message: /truncated-unet.*unet.*model\.onnx/ },
  { id: 'generate-wrong-shape-unet', argv: gen(wrongShape, '--steps', '2', '--out', 'w.png'), code: 1, message: /wrong-shape-unet.*unet.*model\.onnx.*\[1, 4, 16, 8\].*\[1, 4, 8, 8\]|wrong-shape-unet.*unet.*model\.onnx.*shape/, needs: 'harden-sd' },
  { id: 'generate-nan-unet', argv: gen(nanUnet, '--steps', '2', '--out', 'n.png'), code: 1, message: /(NaN|non-finite).*(main|strong|weak).*step|step.*(main|strong|weak).*(NaN|non-finite)/i, needs: 'harden-sd' },
  { id: 'generate-scheduler-betas-swapped', argv: gen(betasSwapped, '--steps', '2', '--out', 'b.png'), code: 1, message: /scheduler_config\.json.*beta_start .* must be less than beta_end/ },
  { id: 'generate-scheduler-unknown-schedule', argv: gen(unknownSchedule, '--steps', '2', '--out', 'u.png'), code: 1, message: /"beta_schedule" must be "linear", "scaled_linear" or "squaredcos_cap_v2", got "cubic"/ },
  { id: 'generate-scheduler-huge-train-steps', argv: gen(hugeTrainSteps, '--steps', '2', '--out', 'h.png'), code: 1, message: /"num_train_timesteps" must be an integer from 2 to 100000/ },
  { id: 'generate-scheduler-defaults-said', argv: gen(noBetas, '--steps', '2', '--out', 'd.png'), code: 0, message: /warning: .*scheduler_config\.json does not set beta_schedule, beta_start, beta_end; using the defaults beta_schedule = "linear", beta_start = 0\.0001, beta_end = 0\.02/, expectFiles: ['d.png'] },
  { id: 'generate-sigint', argv: gen(slowModel, '--width', '64', '--height', '64', '--steps', '500', '--out', 'g.png'), setup: { 'g.png': 'older image' }, signal: { name: 'SIGINT', afterMs: 3000 }, code: 130, message: /interrupted by SIGINT/ },
];

// ---- running them ----
function snapshot(dir, prefix = '') {
  const out = {};
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const rel = `${prefix}${e.name}`;
    if (e.isDirectory()) {
      out[`${rel}/`] = 'dir';
      Object.assign(out, snapshot(join(dir, e.name), `${rel}/`));
    } else out[rel] = createHash('sha256').update(readFileSync(join(dir, e.name))).digest('hex');
  }
  return out;
}

function run(argv, cwd, signal) {
  return new Promise((resolveRun) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [MAIN, ...argv], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let sentAt;
    let timer;
    const send = () => {
      if (sentAt !== undefined || child.exitCode !== null) return;
      sentAt = performance.now();
      child.kill(signal.name);
    };
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      if (signal?.afterLine && signal.afterLine.test(stderr) && timer === undefined) timer = setTimeout(send, signal.afterMs ?? 0);
    });
    if (signal && !signal.afterLine) timer = setTimeout(send, signal.afterMs);
    const guard = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('exit', (code, sig) => {
      clearTimeout(guard);
      clearTimeout(timer);
      const end = performance.now();
      resolveRun({ code: code ?? sig, stdout, stderr, ms: end - t0, afterSignalMs: sentAt === undefined ? undefined : end - sentAt });
    });
  });
}

const LOADED_STARTUP_MS = 500;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const startup = [];
for (let i = 0; i < 3; i++) startup.push((await run(['--version'], root)).ms);
const startupMs = median(startup);

/** One run of a case in a fresh folder: what went wrong (timing problems apart from the rest). */
async function attempt(c, n) {
  const dir = join(root, 'cases', `${c.id}${n ? `-retry${n}` : ''}`);
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(c.setup ?? {})) {
    if (name.endsWith('/')) mkdirSync(join(dir, name), { recursive: true });
    else writeFileSync(join(dir, name), content);
  }
  const before = snapshot(dir);
  const r = await run(c.argv, dir, c.signal);
  const after = snapshot(dir);
  const problems = [];
  const timing = [];
  if (r.code !== c.code) problems.push(`exit ${r.code}, expected ${c.code}`);
  const text = `${r.stderr}\n${r.stdout}`;
  if (!c.message.test(text)) problems.push(`message ${JSON.stringify(text.trim().split('\n').slice(-3).join(' | ').slice(0, 300))} does not match ${c.message}`);
  const beyond = r.ms - startupMs;
  if (c.signal) {
    if (r.afterSignalMs === undefined) problems.push('finished before the signal was sent');
    else if (r.afterSignalMs > 1000) timing.push(`exited ${r.afterSignalMs.toFixed(0)} ms after ${c.signal.name}`);
  } else if (c.code !== 0 && !c.slow && beyond > 1000) timing.push(`refused ${beyond.toFixed(0)} ms after start-up`);
  const expected = { ...before };
  for (const f of c.expectFiles ?? []) expected[f] = after[f] ?? 'missing';
  const added = Object.keys(after).filter((k) => !(k in expected));
  const removed = Object.keys(expected).filter((k) => !(k in after));
  const changed = Object.keys(before).filter((k) => k in after && after[k] !== before[k]);
  if (added.length) problems.push(`left behind: ${added.join(', ')}`);
  if (removed.length) problems.push(`missing: ${removed.join(', ')}`);
  if (changed.length) problems.push(`changed: ${changed.join(', ')}`);
  return { r, beyond, problems: [...problems, ...timing], timingOnly: problems.length === 0 && timing.length > 0 };
}

const results = [];
for (const c of cases) {
  if (only && !c.id.startsWith(only)) continue;
  // a timing miss on a shared machine is measured up to twice more; every other problem counts at once
  let a = await attempt(c, 0);
  const retried = a.timingOnly ? a.problems.join('; ') : undefined;
  for (let n = 1; n <= 2 && a.timingOnly; n++) a = await attempt(c, n);
  const { r, beyond, problems } = a;
  const loaded = startupMs > LOADED_STARTUP_MS;
  const status = problems.length === 0 ? 'pass' : c.needs ? `needs ${c.needs}` : a.timingOnly && loaded ? 'slow (loaded machine)' : 'FAIL';
  const firstLine = (r.stderr.split('\n').find((l) => l.startsWith('w2sd:') || l.includes('interrupted')) ?? r.stdout.split('\n').find((l) => l.startsWith('wrote')) ?? '').trim();
  results.push({ ...c, r, status, problems, beyond, firstLine, retried });
  const timing = c.signal ? `${r.afterSignalMs?.toFixed(0)} ms after ${c.signal.name}` : `${r.ms.toFixed(0)} ms (${beyond.toFixed(0)} beyond start-up)`;
  const notes = [...problems, ...(retried ? [`first attempt: ${retried}`] : [])];
  console.log(`${status.padEnd(16)} ${c.id.padEnd(38)} exit ${String(r.code).padEnd(4)} ${timing}${notes.length ? `\n                 ${notes.join('\n                 ')}` : ''}`);
}

rmSync(root, { recursive: true, force: true });
const count = (s) => results.filter((x) => x.status === s).length;
const needs = results.filter((x) => x.status.startsWith('needs'));
console.log(`\nload average ${loadavg().map((l) => l.toFixed(1)).join(', ')} on ${cpus().length} CPUs`);
console.log(`${results.length} cases: ${count('pass')} pass, ${count('FAIL')} fail, ${count('slow (loaded machine)')} slow on a loaded machine (start-up over ${LOADED_STARTUP_MS} ms), ${needs.length} waiting for other branches (${needs.map((x) => `${x.id}: ${x.status}`).join('; ') || 'none'}); start-up ${startupMs.toFixed(0)} ms`);

/** The documented ranges and applicability rules, read from the built CLI (the same objects it checks with). */
async function rulesMarkdown() {
  const { describeRange } = await import(join(ROOT, 'dist/src/cli/validate.js'));
  const { TOY_RANGES, TOY_MAX_WORK } = await import(join(ROOT, 'dist/src/cli/toy.js'));
  const { LAB_RANGES } = await import(join(ROOT, 'dist/src/cli/lab.js'));
  const { START_RANGES } = await import(join(ROOT, 'dist/src/cli/start.js'));
  const { GENERATE_RANGES } = await import(join(ROOT, 'dist/src/cli/generate.js'));
  const { GENERATE_RULES, TOY_RULES, LAB_RULES } = await import(join(ROOT, 'dist/src/cli/applicability.js'));
  const INTEGER = new Set(['samples', 'steps', 'seed', 'trajectories', 'mixtureDim', 'mixtureComponents', 'batch', 'prSamples', 'cosineSamples', 'bootstrap', 'threads', 'grid', 'fixedPointIters', 'size']);
  const kebab = (k) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  const lines = ['| command | value | allowed |', '| --- | --- | --- |'];
  for (const [cmd, ranges] of [['toy', TOY_RANGES], ['lab', LAB_RANGES], ['start', START_RANGES], ['generate', GENERATE_RANGES]]) {
    for (const [k, r] of Object.entries(ranges)) {
      const name = k === 'size' ? '--width, --height' : k === 'guidance' ? (cmd === 'lab' ? '--cfg, --autoguidance (each)' : '--guidance, --strong-guidance, --weak-guidance, --ag-weight') : k.startsWith('mixture') ? `--mixture file: ${{ mixtureDim: 'dimension', mixtureComponents: 'components per mixture', mixtureMean: 'each mean coordinate', mixtureVariance: 'each variance (covariance diagonal)' }[k]}` : `--${kebab(k)}`;
      lines.push(`| ${cmd} | ${name} | ${describeRange(r, INTEGER.has(k))} |`);
    }
  }
  lines.push(`| toy, generate | --lambda | an integer from 0 to T − 1 |`, `| toy | --max-work | a number ≥ 1 (default ${TOY_MAX_WORK.toExponential()}) |`, '| toy, lab, start, generate | --max-memory | MiB, a number ≥ 1 (default ¾ of the machine’s memory) |');
  const rules = ['| command | option | applies to | otherwise |', '| --- | --- | --- | --- |'];
  for (const [cmd, list] of [['generate', GENERATE_RULES], ['toy', TOY_RULES], ['lab', LAB_RULES]]) {
    for (const r of list) rules.push(`| ${cmd} | ${r.option} | ${r.appliesTo} | ${r.warn ? 'warning' : 'refused'} |`);
  }
  return `### Ranges\n\n${lines.join('\n')}\n\n### Options that do not apply\n\n${rules.join('\n')}\n`;
}

if (markdown) {
  const esc = (s) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const rel = (s) => s.split(root).join('…').split(ROOT).join('.');
  const table = ['| case | command | exit | time | first line of the answer | result |', '| --- | --- | --- | --- | --- | --- |'];
  for (const x of results) {
    const cmd = `w2sd ${x.argv.map((a) => rel(a)).join(' ')}`;
    const time = x.signal ? `${x.r.afterSignalMs?.toFixed(0)} ms after ${x.signal.name}` : `${x.beyond.toFixed(0)} ms`;
    table.push(`| ${x.id} | \`${esc(cmd).slice(0, 140)}\` | ${x.r.code} | ${time}${x.retried ? ' (timed again)' : ''} | ${esc(rel(x.firstLine)).slice(0, 160)} | ${x.status} |`);
  }
  const summary = `${results.length} cases: ${count('pass')} pass, ${count('FAIL')} fail, ${needs.length} waiting for other branches (${needs.map((x) => x.id).join(', ') || 'none'}); ${results.filter((x) => x.retried).length} timed again after a timing miss, ${count('slow (loaded machine)')} still over the limit on this loaded machine; Node start-up ${startupMs.toFixed(0)} ms (subtracted from refusal times), load average ${loadavg()[0].toFixed(1)} on ${cpus().length} CPUs, ${new Date().toISOString().slice(0, 10)}.`;
  const block = `${await rulesMarkdown()}\n### Bad-input drill (\`node tools/bad-input.mjs\`)\n\n${summary}\n\n${table.join('\n')}\n`;
  if (doc) {
    const BEGIN = '<!-- bad-input:begin (generated by `node tools/bad-input.mjs --doc docs/RELIABILITY.md`) -->';
    const END = '<!-- bad-input:end -->';
    const page = readFileSync(doc, 'utf8');
    const b = page.indexOf(BEGIN);
    const e = page.indexOf(END);
    if (b < 0 || e < b) throw new Error(`${doc}: markers ${BEGIN} … ${END} not found`);
    writeFileSync(doc, `${page.slice(0, b + BEGIN.length)}\n\n${block}\n${page.slice(e)}`);
    console.log(`updated ${doc}`);
  } else console.log(`\n${block}`);
}
process.exitCode = count('FAIL') > 0 ? 1 : 0;
