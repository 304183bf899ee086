import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ddim } from '../src/core/index.js';
import { runToyLab, type ToyLabOptions } from '../src/lab/toy/lab.js';
import { ToyOptionError } from '../src/lab/toy/errors.js';
import { toyProblem } from '../src/lab/toy/problem.js';
import { runMethod } from '../src/lab/toy/run.js';
import { autoguidanceRow, equalComputeRow, plainStrong, s2wdRow, selfReflectionRow, w2sdRow } from '../src/lab/toy/methods.js';
import { TOY2D, TOY1D } from '../src/models/gmm-toys.js';

const small: ToyLabOptions = { dim: 2, samples: 600, steps: 50, sampler: 'ddim', inversion: 'ddim', seed: 3 };
const sampler = ddim();

test('counted NFE: plain T, W2SD T + 2λ, autoguidance 2T, equal-compute exactly T (T\' + 2λ = T)', async () => {
  const p = toyProblem({ dim: 2, samples: 50, seed: 1 });
  const T = 12;
  assert.equal((await runMethod(p, plainStrong(p), { sampler, steps: T })).nfe, 12);
  assert.equal((await runMethod(p, w2sdRow(p, { inversion: 'ddim' }), { sampler, steps: T })).nfe, 12 + 2 * 11);
  assert.equal((await runMethod(p, w2sdRow(p, { lambda: 4, inversion: 'ddim' }), { sampler, steps: T })).nfe, 12 + 8);
  assert.equal((await runMethod(p, autoguidanceRow(p, 1.5), { sampler, steps: T })).nfe, 24);
  // T = 12: λ = 3, T' = 6 (λ = T'/2 exactly); T = 50: T' = 26, λ = 12 (the paper's 25, 12 would spend 49)
  for (const [steps, tp, l] of [[12, 6, 3], [50, 26, 12], [7, 3, 2]]) {
    const row = await runMethod(p, equalComputeRow(p, { inversion: 'ddim' }, steps), { sampler, steps });
    assert.equal(row.nfe, steps, `T = ${steps}`);
    assert.deepEqual(row.equalCompute, { steps: tp, lambda: l, evaluations: steps, budget: steps });
    assert.equal(row.name, `W2SD equal-compute (ddim, T'=${tp}, λ=${l})`);
  }
});

// Coarse steps are the hard case: between modes the plain iteration x̃ ← G(x̃) diverges, the secant solver must not.
test('self-reflection with the fixed-point inversion reproduces plain strong sampling, also at coarse steps', async () => {
  const p = toyProblem({ dim: 2, samples: 400, seed: 5 });
  for (const steps of [10, 50]) {
    const plain = await runMethod(p, plainStrong(p), { sampler, steps });
    const self = await runMethod(p, selfReflectionRow(p, { inversion: 'fixed-point' }), { sampler, steps });
    let maxDiff = 0;
    for (let i = 0; i < plain.samples.length; i++) maxDiff = Math.max(maxDiff, Math.abs(plain.samples[i] - self.samples[i]));
    assert.ok(maxDiff < 1e-3, `T = ${steps}: max |Δx| ${maxDiff}`);
    assert.ok(self.nfe > steps + 2 * (steps - 1), 'fixed-point iterations are counted');
  }
});

test('self-reflection at T = 50 (the paper setting) is the identity too', async () => {
  const p = toyProblem({ dim: 2, samples: 400, seed: 5 });
  const plain = await runMethod(p, plainStrong(p), { sampler, steps: 50 });
  const self = await runMethod(p, selfReflectionRow(p, { inversion: 'fixed-point' }), { sampler, steps: 50 });
  let maxDiff = 0;
  for (let i = 0; i < plain.samples.length; i++) maxDiff = Math.max(maxDiff, Math.abs(plain.samples[i] - self.samples[i]));
  assert.ok(maxDiff < 1e-3, `max |Δx| ${maxDiff}`);
  assert.ok(self.nfe > 50 + 2 * 49, 'fixed-point iterations are counted');
});

test('zero gap (weak = strong): fixed-point W2SD equals plain sampling; ddim W2SD stays near it', async () => {
  const p = toyProblem({ dim: 2, samples: 400, seed: 6, weakMass: TOY2D.strongBottomLeft });
  const plain = await runMethod(p, plainStrong(p), { sampler, steps: 50 });
  const fp = await runMethod(p, w2sdRow(p, { inversion: 'fixed-point' }), { sampler, steps: 50 });
  const dd = await runMethod(p, w2sdRow(p, { inversion: 'ddim' }), { sampler, steps: 50 });
  const diff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
  assert.ok(diff(plain.samples, fp.samples) < 1e-3);
  // The ddim round trip is not the identity: it moves samples, but keeps the mode masses within a few points.
  assert.ok(diff(plain.samples, dd.samples) > 1e-3);
  for (let k = 0; k < 4; k++) assert.ok(Math.abs(plain.metrics.modeMass[k] - dd.metrics.modeMass[k]) < 0.05);
});

test('W2SD adds mass to the mode the weak model lacks; S2WD removes it (2-D and 1-D, common noise)', async () => {
  for (const dim of [1, 2] as const) {
    const p = toyProblem({ dim, samples: 1500, seed: 11 });
    const run = (m: Parameters<typeof runMethod>[1]) => runMethod(p, m, { sampler, steps: 50 });
    const strong = (await run(plainStrong(p))).metrics.modeMass[0];
    const w2 = (await run(w2sdRow(p, { inversion: 'ddim' }))).metrics.modeMass[0];
    const s2 = (await run(s2wdRow(p, { inversion: 'ddim' }))).metrics.modeMass[0];
    const strongTarget = dim === 1 ? TOY1D.strongLeft : TOY2D.strongBottomLeft;
    assert.ok(Math.abs(strong - strongTarget) < 0.04, `dim ${dim}: plain strong ${strong}`);
    assert.ok(w2 > strong + 0.05, `dim ${dim}: W2SD ${w2} vs strong ${strong}`);
    assert.ok(s2 < strong - 0.03, `dim ${dim}: S2WD ${s2} vs strong ${strong}`);
  }
});

test('the lab is deterministic for a seed and its gap sweep shrinks the effect as the gap closes and reverses it past zero', async () => {
  const a = await runToyLab({ ...small, sweeps: ['gap'] });
  const b = await runToyLab({ ...small, sweeps: ['gap'] });
  assert.deepEqual(a.rows.map((r) => r.metrics), b.rows.map((r) => r.metrics));
  const gap = a.sweeps.find((s) => s.kind === 'gap')!;
  const massAt = (v: number) => gap.points.find((p) => p.value === v)!.rows[0].metrics.modeMass[0];
  const strong = a.rows.find((r) => r.name === 'plain strong')!.metrics.modeMass[0];
  assert.ok(massAt(0) > massAt(0.05) && massAt(0.05) > massAt(TOY2D.strongBottomLeft), 'less mass gained as the gap closes');
  assert.ok(Math.abs(massAt(TOY2D.strongBottomLeft) - strong) < 0.03, 'zero gap ≈ plain strong');
  assert.ok(massAt(0.25) < strong, 'reversed gap removes mass');
  const names = a.rows.map((r) => r.name);
  for (const n of ['plain strong', 'plain weak', 'W2SD (ddim)', 'W2SD (fixed-point)', 'S2WD (ddim)']) assert.ok(names.includes(n), n);
  assert.ok(names.some((n) => n.startsWith('autoguidance') && n.endsWith('(best)')));
  assert.ok(names.some((n) => n.startsWith('W2SD equal-compute')));
});

test('bad options are typed errors naming the option', async () => {
  const cases: [Partial<ToyLabOptions>, RegExp][] = [
    [{ lambda: 50 }, /--lambda: .*0 <= lambda < steps \(50\)/],
    [{ lambda: -1 }, /--lambda/],
    [{ steps: 0 }, /--steps: expected a positive integer/],
    [{ steps: 2.5 }, /--steps/],
    [{ samples: NaN }, /--samples/],
    [{ sampler: 'plms' }, /--sampler: expected one of ddim/],
    [{ inversion: 'exact' }, /--inversion: expected one of/],
    [{ inversion: 'official-lagged' }, /official-lagged: needs a discrete/],
    [{ seed: -2 }, /--seed/],
    [{ sweeps: ['nope' as 'gap'] }, /--sweep/],
  ];
  for (const [o, re] of cases) {
    await assert.rejects(runToyLab({ ...small, ...o }), (e: unknown) => e instanceof ToyOptionError && re.test(e.message), String(re));
  }
});

test('to first order W2SD is autoguidance with w = 2: with an exact inversion their mode masses agree', async () => {
  // x̃ − x = Δσ(d_s − d_w) followed by a strong step is Δσ·(x − (2D_s − D_w))/σ, the autoguided step at w = 2.
  const p = toyProblem({ dim: 2, samples: 1500, seed: 21 });
  const fp = await runMethod(p, w2sdRow(p, { inversion: 'fixed-point' }), { sampler, steps: 50 });
  const ag = await runMethod(p, autoguidanceRow(p, 2), { sampler, steps: 50 });
  const ag15 = await runMethod(p, autoguidanceRow(p, 1.5), { sampler, steps: 50 });
  assert.ok(Math.abs(fp.metrics.modeMass[0] - ag.metrics.modeMass[0]) < 0.03, `${fp.metrics.modeMass[0]} vs ${ag.metrics.modeMass[0]}`);
  assert.ok(Math.abs(fp.metrics.modeMass[0] - ag.metrics.modeMass[0]) < Math.abs(fp.metrics.modeMass[0] - ag15.metrics.modeMass[0]));
});
