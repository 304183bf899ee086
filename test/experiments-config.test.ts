import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ddimSchedule, type Schedule } from '../src/core/index.js';
import { resolveExperiment } from '../src/experiments/config.js';
import { matchedGuidance, reflectedShare } from '../src/experiments/matching.js';
import { drawBench, pickAPic, promptFile } from '../src/experiments/prompts.js';
import { readSdFolder } from '../src/pipelines/index.js';
import { writeTinySdFolder } from './helpers/onnx-graphs.js';

const tmp = mkdtempSync(join(tmpdir(), 'w2sd-expcfg-'));
writeTinySdFolder(join(tmp, 'model'), { family: 'sd1' });
writeTinySdFolder(join(tmp, 'weak'), { family: 'sd1', unet: { seed: 9 } });
after(() => rmSync(tmp, { recursive: true, force: true }));
const cfgPath = join(tmp, 'exp.json');

const base = {
  experiment: 'e',
  model: 'model',
  weakModel: 'weak',
  prompts: { set: 'list', list: ['a', 'b'] },
  seeds: [0, 1],
  steps: 10,
  width: 16,
  height: 16,
  methods: [
    { name: 'cfg', method: 'cfg', baseline: true },
    { name: 'z', method: 'w2sd', pair: 'guidance' },
    { name: 'cfg-z', method: 'cfg', guidance: 'matched', matchedTo: 'z', baseline: true },
  ],
  scorers: [],
};

function synthetic(sigmas: number[], final: number): Schedule {
  return { points: sigmas.map((sigma, i) => ({ sigma, timestep: i })), final: { sigma: final, timestep: -1 }, initSigma: sigmas[0], timestepOf: () => 0 };
}

test('matched guidance: w_main + r·(w_s − w_w)·ρ with ρ the share of σ travel in reflected steps (hand values)', () => {
  const s = synthetic([10, 5, 2, 1], 0);
  // λ = 3 reflects steps 0..2: σ from 10 to 1 of 10 → ρ = 0.9
  assert.equal(reflectedShare(s, 3), 0.9);
  assert.equal(reflectedShare(s, 1), 0.5);
  // guidance pair (Z-Sampling): 5.5 + 5.5·0.9 = 10.45; two repeats: 5.5 + 2·5.5·0.9 = 15.4
  assert.ok(Math.abs(matchedGuidance({ mainGuidance: 5.5, strongGuidance: 5.5, weakGuidance: 0, steps: 4, lambda: 3 }, s).guidance - 10.45) < 1e-12);
  assert.ok(Math.abs(matchedGuidance({ mainGuidance: 5.5, strongGuidance: 5.5, weakGuidance: 0, steps: 4, lambda: 3, repeats: 2 }, s).guidance - 15.4) < 1e-12);
  // weights pair: both legs at CFG 1, no guidance difference → the main scale
  assert.equal(matchedGuidance({ mainGuidance: 5.5, strongGuidance: 1, weakGuidance: 1, steps: 4, lambda: 3 }, s).guidance, 5.5);
});

test('config: a matched CFG row gets the scale of its reflection row from the model’s own schedule', () => {
  writeFileSync(cfgPath, JSON.stringify(base));
  const e = resolveExperiment(base, cfgPath);
  const sched = ddimSchedule(readSdFolder(join(tmp, 'model')).scheduler, 10);
  const rho = (sched.points[0].sigma - sched.points[9].sigma) / (sched.points[0].sigma - sched.final.sigma);
  assert.ok(rho > 0.9 && rho < 1, `ρ ${rho}`);
  const m = e.matched.get('cfg-z')!;
  assert.ok(Math.abs(m.guidance - (5.5 + 5.5 * rho)) < 1e-9);
  assert.equal(e.methods.get('cfg-z')!.guidance, m.guidance);
  assert.deepEqual(e.baselines, ['cfg', 'cfg-z']);
  assert.equal(e.methods.get('z')!.lambda, 9);
  assert.deepEqual([...e.methods.keys()], ['cfg', 'z', 'cfg-z']);
});

test('config: every bad input is named with what is allowed, before any work', () => {
  const bad = (patch: Record<string, unknown>, re: RegExp) => assert.throws(() => resolveExperiment({ ...base, ...patch }, cfgPath), re);
  bad({ colour: 1 }, /config: unknown key "colour" \(allowed: experiment, model/);
  bad({ experiment: 'a b' }, /experiment: expected a label matching/);
  bad({ model: 'nowhere' }, /model: folder .*nowhere not found/);
  bad({ seeds: [0, 0] }, /seeds: a seed appears twice/);
  bad({ seeds: 'all' }, /seeds: expected "index" or a non-empty array/);
  bad({ steps: 0 }, /steps: expected ≥ 1, got 0/);
  bad({ prompts: { set: 'coco' } }, /prompts\.set: expected one of pick-a-pic, drawbench, file, list, got "coco"/);
  bad({ prompts: { set: 'pick-a-pic', limit: 501 } }, /prompts\.limit 501: pick-a-pic has only 500 prompts/);
  bad({ methods: [{ name: 'x', method: 'magic' }] }, /methods\[0\]\.method: expected one of cfg, plain, w2sd/);
  bad({ methods: [{ name: 'x', method: 'cfg' }, { name: 'x', method: 'cfg' }] }, /the name x appears twice/);
  bad({ methods: [{ name: 'x', method: 'cfg', guidance: 'matched' }] }, /guidance "matched" needs matchedTo/);
  bad({ methods: [{ name: 'x', method: 'cfg', lambda: 'many' }] }, /methods\[0\]\.lambda: expected an integer, got "many"/);
  bad({ methods: [{ name: 'x', method: 'w2sd', pair: 'weights', lambda: 10 }] }, /lambda 10: expected 0 ≤ λ < T = 10/);
  bad({ weakModel: undefined, methods: [{ name: 'x', method: 'autoguidance' }] }, /needs a weak model folder/);
  bad({ scorers: [{ name: 'p', kind: 'fid', path: 'x' }] }, /scorers\[0\]\.kind: expected one of clipscore, pickscore, hpsv2, aesthetic, clip-i, dino/);
  bad({ scorers: [{ name: 'd', kind: 'dino', path: 'x' }] }, /scorers\[0\]: dino needs "references"/);
});

test('prompt sets: Pick-a-Pic first 100 with seed = index, DrawBench 200, user CSV with quotes, commas and newlines', () => {
  const pp = pickAPic();
  assert.equal(pp.length, 100);
  assert.deepEqual(pp[0], { id: '0', prompt: 'A curious cat exploring a haunted mansion', index: 0 });
  assert.equal(pp[87].prompt, ''); // empty in the official file, kept as the official code does
  assert.equal(pp[99].prompt, 'A cat in a space suit walking on the moon');
  assert.equal(pp[2].prompt, 'Portrait of a 26yr white woman, hyper-detailed, extremely ashamed, soft skin');
  const e = resolveExperiment({ ...base, prompts: { set: 'pick-a-pic', limit: 3 }, seeds: 'index' }, cfgPath);
  assert.deepEqual(e.prompts.map((p) => e.seedsOf(p)), [[0], [1], [2]]);
  const db = drawBench();
  assert.equal(db.length, 200);
  assert.equal(db[0].prompt, 'A red colored car.');
  assert.equal(db[199].prompt, "New York Skyline with 'Google Research Pizza Cafe' written with fireworks on the sky.");
  const csv = join(tmp, 'p.csv');
  writeFileSync(csv, 'id,prompt\nx1,"a cat, sitting"\nx2,"a ""quoted"" word\non two lines"\n');
  assert.deepEqual(promptFile(csv).map((p) => [p.id, p.prompt]), [['x1', 'a cat, sitting'], ['x2', 'a "quoted" word\non two lines']]);
  writeFileSync(csv, 'id,prompt\nx1,a\nx1,b\n');
  assert.throws(() => promptFile(csv), /id x1 appears twice/);
  writeFileSync(csv, 'caption\na\n');
  assert.throws(() => promptFile(csv), /expected a column prompt, found caption/);
});
