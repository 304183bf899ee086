import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { registerToy, ToyOptionError } from '../src/cli/toy.js';
import { OptionError } from '../src/cli/validate.js';
import { MixtureSpecError } from '../src/models/gmm-spec.js';
import { RESULTS_END } from '../src/lab/toy/report.js';
import { runCommand } from './helpers/cli.js';

/** Runs `w2sd toy ...args` in-process and returns what it printed on stdout. */
const toy = (args: string[]): Promise<string> => runCommand(registerToy, ['toy', ...args]);

const tiny = ['--samples', '300', '--steps', '8', '--trajectories', '4'];

test('w2sd toy --json prints one object with a row per method (name, NFE, metrics) and writes table, JSON and PNGs', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'w2sd-toy-'));
  const json = JSON.parse(await toy([...tiny, '--dim', '1', '--json', '--sweep', 'lambda', '--out', dir]));
  assert.equal(json.config.dim, 1);
  assert.equal(json.config.steps, 8);
  const strong = json.rows.find((r: { name: string }) => r.name === 'plain strong');
  assert.equal(strong.nfe, 8);
  for (const key of ['modeMass', 'meanLogLik', 'outlierRate', 'slicedW1', 'modeShift', 'modeSpread']) assert.ok(key in strong, key);
  assert.equal(json.sweeps[0].kind, 'lambda');
  const files = await readdir(dir);
  for (const f of ['toy1d.md', 'toy1d.json', 'toy1d-methods.png']) assert.ok(files.includes(f), f);
  assert.ok(!files.some((f) => f.endsWith('.tmp')), 'no temporary files left');
  const png = PNG.sync.read(await readFile(join(dir, 'toy1d-methods.png')));
  assert.ok(png.width > 200 && png.height > 200);
  assert.match(await readFile(join(dir, 'toy1d.md'), 'utf8'), /\| plain strong \| 8 \|/);
});

test('w2sd toy --mixture reads a user file; --results keeps the rest of the page and replaces only its block', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'w2sd-toy-'));
  const mix = join(dir, 'm.json');
  const comp = (weight: number, mean: number[], name: string) => ({ weight, mean, cov: [[1, 0.3], [0.3, 0.5]], name });
  await writeFile(mix, JSON.stringify({
    ideal: [comp(0.5, [-3, 0], 'west'), comp(0.5, [3, 0], 'east')],
    strong: [comp(0.3, [-3, 0], 'west'), comp(0.7, [3, 0], 'east')],
    weak: [comp(0.1, [-3, 0], 'west'), comp(0.9, [3, 0], 'east')],
  }));
  const results = join(dir, 'RESULTS.md');
  await writeFile(results, '# Results\n\nhand-written intro\n');
  await toy([...tiny, '--mixture', mix, '--out', join(dir, 'fig'), '--results', results]);
  const first = await readFile(results, 'utf8');
  assert.match(first, /hand-written intro/);
  assert.match(first, /west mass/, 'the under-weighted mode of the user mixture is found');
  await writeFile(results, first + '\n## Other section\n');
  await toy([...tiny, '--mixture', mix, '--out', join(dir, 'fig'), '--results', results]);
  const second = await readFile(results, 'utf8');
  assert.equal(second.split(RESULTS_END).length, 2, 'one generated block');
  assert.match(second, /## Other section/);
});

test('bad options and malformed mixtures are typed errors', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'w2sd-toy-'));
  const bad = join(dir, 'bad.json');
  await writeFile(bad, '{"ideal": [ {"weight": 1, "mean": [0]} ], ');
  const cases: [string[], new (m: string) => Error, RegExp][] = [
    [['--steps', 'abc'], OptionError, /--steps: expected an integer from 1 to 10000, got "abc"/],
    [['--samples', 'Infinity'], OptionError, /--samples: expected an integer from 1 to 2147483647, got "Infinity"/],
    [['--steps', '0'], OptionError, /--steps: expected an integer from 1 to 10000, got "0"/],
    [['--steps', '10', '--lambda', '10'], OptionError, /--lambda: expected an integer from 0 to 9, got "10"/],
    [['--dim', '3'], OptionError, /--dim: expected one of 1, 2, got "3"/],
    [['--sampler', 'lms'], OptionError, /--sampler/],
    [['--inversion', 'official-lagged'], ToyOptionError, /discrete/],
    [['--sweep', 'gamma'], OptionError, /--sweep: unknown name "gamma"; allowed: gap, lambda, steps, w, all/],
    [['--mixture', join(dir, 'missing.json')], OptionError, /cannot read the file/],
    [['--mixture', bad], MixtureSpecError, /bad\.json: malformed JSON/],
  ];
  for (const [args, type, re] of cases) {
    await assert.rejects(toy([...args, '--out', dir, '--json']), (e: unknown) => e instanceof type && re.test((e as Error).message), `${args.join(' ')}`);
  }
});
