import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { GENERATE_RULES, TOY_RULES, checkApplicability } from '../src/cli/applicability.js';
import { checkBudget } from '../src/cli/budget.js';
import { registerToy, toyNeed } from '../src/cli/toy.js';
import { registerGenerate } from '../src/cli/generate.js';
import { checkOutputFile, checkOutputFolder, checkResultsPage, readTextFile } from '../src/cli/paths.js';
import { OptionError, describeRange, parseEnum, parseInteger, parseList, parseNumber, parseNumberList } from '../src/cli/validate.js';

test('numbers are parsed strictly: plain decimals only, in range', () => {
  for (const [text, value] of [['12', 12], ['-1.5', -1.5], ['.5', 0.5], ['2e-4', 0.0002], [' 7 ', 7], ['+3', 3], ['1e3', 1000]] as const) {
    assert.equal(parseNumber(text, '--x'), value, text);
  }
  for (const bad of ['0x10', '0b1', '0o7', '1e400', '-1e400', '12abc', '', ' ', 'NaN', 'Infinity', '-Infinity', '1_000', '1,5', '--1', '1e', 'e3']) {
    assert.throws(() => parseNumber(bad, '--x'), (e: unknown) => e instanceof OptionError && e.message === `--x: expected a finite number, got ${JSON.stringify(bad)}`, bad);
  }
  assert.equal(parseInteger('1e3', '--n'), 1000);
  assert.throws(() => parseInteger('64.5', '--width', { min: 8, max: 8192 }), /^OptionError: --width: expected an integer from 8 to 8192, got "64.5"$/);
  assert.throws(() => parseInteger('9007199254740993', '--seed'), /--seed: expected an integer, got/);
  assert.throws(() => parseNumber('1', '--tol', { min: 0, max: 1, minExclusive: true, maxExclusive: true }), /--tol: expected a number in \(0, 1\), got "1"/);
  assert.equal(parseNumber('-1.5', '--scale', { min: -50, max: 50 }), -1.5);
  assert.throws(() => parseNumber('-51', '--scale', { min: -50, max: 50 }), /--scale: expected a number from -50 to 50/);
});

test('ranges are described in words; round powers of ten as exponents', () => {
  assert.equal(describeRange({ min: 1, max: 10_000_000 }, true), 'an integer from 1 to 1e7');
  assert.equal(describeRange({ min: 0 }, false), 'a number ≥ 0');
  assert.equal(describeRange({ max: 1, maxExclusive: true }, false), 'a number < 1');
  assert.equal(describeRange({ min: 0, max: 1, minExclusive: true }, false), 'a number in (0, 1]');
});

test('enums and lists refuse unknown names and list the allowed ones', () => {
  assert.equal(parseEnum('ddim', '--sampler', ['ddim', 'euler']), 'ddim');
  assert.throws(() => parseEnum('lms', '--sampler', ['ddim', 'euler']), /^OptionError: --sampler: expected one of ddim, euler, got "lms"$/);
  assert.deepEqual(parseList(['a,b', 'a'], '--rows', ['a', 'b', 'c']), ['a', 'b']);
  assert.deepEqual(parseList('all', '--sweep', ['x', 'y'], { all: ['x', 'y'] }), ['x', 'y']);
  assert.throws(() => parseList('a,nope', '--rows', ['a', 'b']), /^OptionError: --rows: unknown name "nope"; allowed: a, b$/);
  assert.throws(() => parseList('a,,b', '--rows'), /--rows: expected a comma-separated list without empty items/);
  assert.deepEqual(parseNumberList('1.5,-2', '--w', { min: -50, max: 50 }), [1.5, -2]);
  assert.throws(() => parseNumberList('1,0x2', '--w'), /--w: expected a finite number, got "0x2"/);
});

test('options that do not apply are refused by the table (defaults never are); lenient ones warned', () => {
  const given = (...o: string[]) => new Set(o);
  assert.throws(() => checkApplicability(GENERATE_RULES, { method: 'cfg', sampler: 'ddim' }, given('--lambda'), 'cfg'), /--lambda does not apply to cfg: it applies to the reflection methods/);
  assert.throws(() => checkApplicability(GENERATE_RULES, { method: 'plain', sampler: 'ddim' }, given('--guidance'), 'plain'), /--guidance does not apply/);
  assert.throws(() => checkApplicability(GENERATE_RULES, { method: 'w2sd', sampler: 'euler' }, given('--eta'), 'euler'), /--eta does not apply to euler: it applies to the ddim sampler/);
  assert.throws(() => checkApplicability(GENERATE_RULES, { method: 'cfg', sampler: 'ddim' }, given('--pair'), 'cfg'), /--pair does not apply/);
  assert.throws(() => checkApplicability(GENERATE_RULES, { method: 'w2sd', sampler: 'ddim' }, given('--ag-weight'), 'w2sd'), /--ag-weight does not apply/);
  assert.deepEqual(checkApplicability(GENERATE_RULES, { method: 'w2sd', sampler: 'ddim' }, given('--lambda', '--eta', '--pair', '--guidance'), 'w2sd'), []);
  assert.deepEqual(checkApplicability(GENERATE_RULES, { method: 'cfg', sampler: 'euler' }, given(), 'cfg'), [], 'nothing given: nothing refused');
  assert.deepEqual(checkApplicability(TOY_RULES, { mixture: false, results: true }, given('--sweep'), 'toy'), ['--sweep does not apply to toy: it applies to runs without --results (--results runs every sweep); ignored']);
});

test('the budget refuses by estimate and names the drivers and the option that raises the limit', () => {
  const need = toyNeed({ samples: 1e9, steps: 50, dims: [2], components: 4, sweeps: [] });
  // 1e9 samples × 2 dims × 4 B × 64 sets + 1e9 × 8 B × 16 + mixtures: hand-computed
  assert.equal(need.memoryBytes, 1e9 * 2 * 4 * 64 + 4 * 3 * (4 * 3 + 2) * 8 + 1e9 * 8 * 16);
  assert.throws(() => checkBudget(need, { maxMemoryBytes: 16 * 1024 ** 3 }), /needs about 596 GiB of memory \(--samples 1000000000, --steps 50, 4 components in 2-D\), more than the limit of 16\.0 GiB: .*--max-memory/);
  const big = toyNeed({ samples: 10_000, steps: 50, dims: [2], components: 10_000, sweeps: [] });
  assert.equal(big.work, 10_000 * 61 * 50 * 10_000 * 4);
  assert.throws(() => checkBudget(big, { maxMemoryBytes: Infinity, maxWork: 5e10, workUnit: 'component-evaluations' }), /estimated work is 1\.22e\+12 component-evaluations .* --max-work/);
  const fractal = toyNeed({ samples: 1000, steps: 50, dims: [2], components: 1000, sweeps: [] });
  assert.doesNotThrow(() => checkBudget(fractal, { maxMemoryBytes: 1024 ** 3, maxWork: 2e11 }));
});

test('output paths that cannot work are refused up front', () => {
  const dir = mkdtempSync(join(tmpdir(), 'w2sd-paths-'));
  const file = join(dir, 'file.txt');
  writeFileSync(file, 'x');
  assert.throws(() => checkOutputFolder(file, '--out'), /--out .*file\.txt: is a file, expected a folder/);
  assert.throws(() => checkOutputFolder(join(file, 'sub'), '--out'), /file\.txt is a file, not a folder/);
  assert.throws(() => checkOutputFile(dir, '--results'), /is a folder, expected a file/);
  if (process.platform === 'linux') {
    assert.throws(() => checkOutputFolder('/proc/w2sd-out', '--out'), /\/proc is a kernel pseudo file system/);
    assert.throws(() => checkOutputFile('/sys/kernel/x.md', '--results'), /\/sys is a kernel pseudo file system/);
    assert.throws(() => checkOutputFile('/dev/null', '--out'), /\/dev is a kernel pseudo file system/);
  }
  assert.equal(checkOutputFolder(join(dir, 'new', 'deeper'), '--out'), join(dir, 'new', 'deeper'));
  assert.equal(existsSync(join(dir, 'new')), false, 'checking creates nothing');
  assert.deepEqual(readdirSync(dir), ['file.txt'], 'the writability probe leaves nothing');
  const binary = join(dir, 'bin.md');
  writeFileSync(binary, Uint8Array.from([0x23, 0, 1, 2]));
  assert.throws(() => checkResultsPage(binary, '--results'), /bin\.md: is binary \(holds NUL bytes\), expected a Markdown text file/);
  writeFileSync(binary, Uint8Array.from([0x23, 0xff, 0xfe]));
  assert.throws(() => checkResultsPage(binary, '--results'), /is not UTF-8 text/);
  assert.throws(() => readTextFile(join(dir, 'none.json'), '--mixture', 'a JSON mixture file'), /--mixture .*none\.json: cannot read the file \(a folder on the path does not exist\)/);
});

/** Runs a command in-process with commander's exits turned into exceptions. */
async function cli(register: (p: Command) => unknown, args: string[]): Promise<void> {
  const program = new Command('w2sd').exitOverride();
  register(program);
  await program.parseAsync(['node', 'w2sd', ...args]);
}

test('toy and generate refuse hex, overflow, junk, fractions and huge runs before any work', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'w2sd-refuse-'));
  const out = join(dir, 'out');
  const farMixture = join(mkdtempSync(join(tmpdir(), 'w2sd-mix-')), 'far.json');
  const comp = (mean: number) => ({ weight: 1, mean: [mean], std: 1 });
  writeFileSync(farMixture, JSON.stringify({ ideal: [comp(1e30)], strong: [comp(0)], weak: [comp(0)] }));
  const cases: [(p: Command) => unknown, string[], RegExp][] = [
    [registerToy, ['toy', '--samples', '0x10'], /--samples: expected an integer/],
    [registerToy, ['toy', '--steps', '1e400'], /--steps: expected an integer/],
    [registerToy, ['toy', '--seed', '12abc'], /--seed: expected an integer/],
    [registerToy, ['toy', '--samples', '1e9'], /needs about .* GiB of memory \(--samples 1000000000.*--max-memory/],
    [registerToy, ['toy', '--sweep', 'lambda,nope'], /--sweep: unknown name "nope"/],
    [registerToy, ['toy', '--out', '/proc/w2sd'], /pseudo file system/],
    [registerToy, ['toy', '--results', dir], /is a folder, expected a file/],
    [registerToy, ['toy', '--mixture', farMixture], /far\.json: ideal\[0\]\.mean\[0\]: expected a number from -10000 to 10000, got 1e\+30/],
    [(p) => registerGenerate(p, { out: () => {}, err: () => {} }), ['generate', '--model', dir, '--prompt', 'p', '--width', '64.5'], /--width: expected an integer from 8 to 8192, got "64.5"/],
    [(p) => registerGenerate(p, { out: () => {}, err: () => {} }), ['generate', '--model', dir, '--prompt', 'p', '--steps', '1e9'], /--steps: expected an integer from 1 to 1000/],
    [(p) => registerGenerate(p, { out: () => {}, err: () => {} }), ['generate', '--model', dir, '--prompt', 'p', '--method', 'cfg', '--lambda', '3'], /--lambda does not apply/],
    [(p) => registerGenerate(p, { out: () => {}, err: () => {} }), ['generate', '--model', dir, '--prompt', 'p', '--sampler', 'euler', '--eta', '0.5'], /--eta does not apply/],
    [(p) => registerGenerate(p, { out: () => {}, err: () => {} }), ['generate', '--model', dir, '--prompt', 'p', '--out', join(dir, 'x.png'), '--batch', '64', '--width', '8192', '--height', '8192'], /memory \(--batch 64 at 8192 × 8192\)/],
  ];
  for (const [register, args, re] of cases) {
    const t0 = performance.now();
    await assert.rejects(cli(register, [...args, ...(args[0] === 'toy' && !args.includes('--out') ? ['--out', out] : [])]), (e: unknown) => e instanceof OptionError && re.test(e.message), args.join(' '));
    assert.ok(performance.now() - t0 < 1000, `${args.join(' ')} refused in under a second`);
  }
  assert.deepEqual(readdirSync(dir), [], 'nothing written');
});

test('scheduler configs: fields out of range are refused naming the field and the range', async () => {
  const { parseSchedulerConfig } = await import('../src/core/schedules/config.js');
  const sd = { beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012 };
  assert.throws(() => parseSchedulerConfig({ ...sd, beta_start: 0.012, beta_end: 0.00085 }), /beta_start \(0\.012\) must be less than beta_end \(0\.00085\) for the scaled_linear schedule/);
  assert.throws(() => parseSchedulerConfig({ ...sd, beta_start: 1.5 }), /beta_start and beta_end must lie in \(0, 1\)/);
  assert.throws(() => parseSchedulerConfig({ ...sd, num_train_timesteps: 1e12 }), /"num_train_timesteps" must be an integer from 2 to 100000, got 1000000000000/);
  assert.throws(() => parseSchedulerConfig({ ...sd, beta_schedule: 'cubic' }), /"beta_schedule" must be "linear", "scaled_linear" or "squaredcos_cap_v2", got "cubic"/);
  assert.throws(() => parseSchedulerConfig({ ...sd, timestep_spacing: 'even' }), /"timestep_spacing" must be "leading", "trailing" or "linspace"/);
  assert.throws(() => parseSchedulerConfig({ ...sd, steps_offset: 1000 }), /"steps_offset" must be an integer from 0 to num_train_timesteps − 1 = 999/);
  assert.throws(() => parseSchedulerConfig({ ...sd, num_train_timesteps: 3, trained_betas: [0.1, 1.2, 0.3] }), /"trained_betas" must be an array of numbers in \(0, 1\)/);
  // squaredcos_cap_v2 ignores beta_start / beta_end, as in diffusers
  assert.doesNotThrow(() => parseSchedulerConfig({ beta_schedule: 'squaredcos_cap_v2', beta_start: 0.02, beta_end: 0.0001 }));
});
