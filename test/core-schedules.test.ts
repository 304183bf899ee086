import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  alphasCumprod, ddimSchedule, eulerSchedule, karrasSchedule, karrasSigmas, parseSchedulerConfig, veSchedule,
} from '../src/core/index.js';

const fixtures = new URL('../../test/fixtures/hf/configs/', import.meta.url);
const readConfig = (rel: string) => parseSchedulerConfig(JSON.parse(readFileSync(new URL(rel, fixtures), 'utf8')), rel);
const sd15 = () => readConfig('sd15/scheduler/scheduler_config.json');
const turbo = () => readConfig('sdxl-turbo/scheduler/scheduler_config.json');
const close = (a: number, b: number, rel: number, what: string) =>
  assert.ok(Math.abs(a - b) <= rel * Math.abs(b), `${what}: ${a} vs ${b}`);

/** ᾱ of the SD 1.x table in plain float64, written from the definition (scaled_linear betas). */
function sd15AlphaBar(t: number): number {
  const a = Math.sqrt(0.00085);
  const b = Math.sqrt(0.012);
  let acc = 1;
  for (let i = 0; i <= t; i++) acc *= 1 - (a + ((b - a) * i) / 999) ** 2;
  return acc;
}

test('the real SD 1.5 config parses with its values', () => {
  const c = sd15();
  assert.equal(c.betaSchedule, 'scaled_linear');
  assert.equal(c.stepsOffset, 1);
  assert.equal(c.setAlphaToOne, false);
  assert.equal(c.clipSample, false);
  assert.equal(c.numTrainTimesteps, 1000);
  assert.equal(turbo().timestepSpacing, 'trailing');
});

test('SD 1.5 ᾱ and σ range match the definition and the published σ ∈ [0.0292, 14.6146]', () => {
  const ac = alphasCumprod(sd15());
  for (const t of [0, 1, 250, 500, 999]) close(ac[t], sd15AlphaBar(t), 2e-5, `ᾱ[${t}]`);
  const sigma = (a: number) => Math.sqrt((1 - a) / a);
  close(sigma(ac[999]), 14.6146, 1e-4, 'σ_max');
  close(sigma(ac[0]), 0.0292, 2e-3, 'σ_min');
});

test('DDIM timesteps per spacing, as diffusers sets them', () => {
  const ts = (cfg: ReturnType<typeof sd15>, n: number) => ddimSchedule(cfg, n).points.map((p) => p.timestep);
  // leading + steps_offset 1, the official W2SD setting: 981, 961, …, 1
  assert.deepEqual(ts(sd15(), 50), Array.from({ length: 50 }, (_, i) => 981 - 20 * i));
  assert.deepEqual(ts(turbo(), 1), [999]);
  assert.deepEqual(ts(turbo(), 4), [999, 749, 499, 249]);
  const lin = parseSchedulerConfig({ timestep_spacing: 'linspace' });
  assert.deepEqual(ts(lin, 10), [999, 888, 777, 666, 555, 444, 333, 222, 111, 0]);
});

test('DDIM lands at t − N//T and its final level follows set_alpha_to_one', () => {
  const s = ddimSchedule(sd15(), 50);
  assert.equal(s.targets, undefined, 'leading spacing is a consistent chain');
  close(s.final.sigma, Math.sqrt(0.00085 / (1 - 0.00085)), 5e-5, 'final σ at ᾱ_0');
  close(s.initSigma, Math.sqrt(1 + s.points[0].sigma ** 2), 1e-12, 'unit variance in x_t');
  const one = ddimSchedule(parseSchedulerConfig({ set_alpha_to_one: true }), 10);
  assert.equal(one.final.sigma, 0);
  // linspace: 999 steps to 999 − 100 = 899, but the next step starts at 888
  const lin = ddimSchedule(parseSchedulerConfig({ timestep_spacing: 'linspace' }), 10);
  assert.ok(lin.targets);
  assert.equal(lin.targets[0].timestep, 899);
  assert.equal(lin.points[1].timestep, 888);
});

test('Euler σ: fractional linspace timesteps interpolate the table; final σ is 0; init noise by spacing', () => {
  const cfg = parseSchedulerConfig({ beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012 });
  const s = eulerSchedule(cfg, 4);
  const ac = alphasCumprod(cfg);
  const sig = (t: number) => Math.sqrt((1 - ac[t]) / ac[t]);
  assert.deepEqual(s.points.map((p) => p.timestep), [999, 666, 333, 0]);
  close(s.points[1].sigma, sig(666), 1e-12, 'σ(666)');
  assert.equal(s.final.sigma, 0);
  close(s.initSigma, sig(999), 1e-12, 'linspace: init σ = σ_max');
  const frac = eulerSchedule(cfg, 7);
  const t1 = frac.points[1].timestep; // 999·5/6 = 832.5
  close(t1, 832.5, 1e-6, 'fractional t');
  close(frac.points[1].sigma, (sig(832) + sig(833)) / 2, 1e-6, 'σ at t = 832.5');
  assert.equal(sd15().timestepSpacing, undefined, 'SD 1.5 names no spacing: Euler reads linspace, DDIM leading');
  const leading = eulerSchedule(parseSchedulerConfig({ timestep_spacing: 'leading', steps_offset: 1 }), 10);
  assert.deepEqual(leading.points.map((p) => p.timestep), [901, 801, 701, 601, 501, 401, 301, 201, 101, 1]);
  close(leading.initSigma, Math.sqrt(leading.points[0].sigma ** 2 + 1), 1e-12, 'leading: √(σ_max² + 1)');
});

test('timestepOf inverts σ(t) on the table and interpolates in log σ between', () => {
  const s = eulerSchedule(sd15(), 10);
  const ac = alphasCumprod(sd15());
  const sig = (t: number) => Math.sqrt((1 - ac[t]) / ac[t]);
  for (const t of [0, 1, 17, 500, 998, 999]) close(s.timestepOf(sig(t)), t, 1e-9, `t(σ(${t}))`);
  const mid = Math.exp((Math.log(sig(400)) + Math.log(sig(401))) / 2);
  close(s.timestepOf(mid), 400.5, 1e-9, 'log-σ midpoint');
  assert.equal(s.timestepOf(1e6), 999);
  assert.equal(s.timestepOf(1e-9), 0);
});

test('Karras σ: the ends are σ_max and σ_min, and σ^{1/ρ} is evenly spaced', () => {
  const sig = karrasSigmas(0.002, 80, 6);
  close(sig[0], 80, 1e-12, 'σ_max');
  close(sig[5], 0.002, 1e-9, 'σ_min');
  const r = sig.map((v) => v ** (1 / 7));
  for (let i = 1; i < 5; i++) close(r[i] - r[i + 1], r[0] - r[1], 1e-9, `spacing ${i}`);
  const s = karrasSchedule(0.002, 80, 6);
  assert.equal(s.points[2].timestep, s.points[2].sigma);
  const k = eulerSchedule(sd15(), 8, { karras: true });
  close(k.points[0].sigma, eulerSchedule(sd15(), 8).points[0].sigma, 1e-12, 'karras keeps σ_max');
});

test('squaredcos_cap_v2 follows the cosine ᾱ(t) = cos²((t/N + 0.008)/1.008 · π/2)', () => {
  const ac = alphasCumprod(parseSchedulerConfig({ beta_schedule: 'squaredcos_cap_v2' }));
  const f = (t: number) => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
  for (const t of [0, 100, 500, 900]) close(ac[t], f((t + 1) / 1000) / f(0), 1e-4, `ᾱ[${t}]`);
});

test('zero-terminal-SNR rescaling ends at ᾱ = 0 and keeps ᾱ_0', () => {
  const base = parseSchedulerConfig({ beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012 });
  const zsnr = parseSchedulerConfig({ beta_schedule: 'scaled_linear', beta_start: 0.00085, beta_end: 0.012, rescale_betas_zero_snr: true });
  const a = alphasCumprod(base);
  const z = alphasCumprod(zsnr);
  assert.ok(z[999] < 1e-12);
  close(z[0], a[0], 1e-6, 'ᾱ_0 kept');
  // the first step's σ is finite: clamped like diffusers' Euler (2^-24)
  assert.ok(Number.isFinite(ddimSchedule(zsnr, 10).points[0].sigma));
});

test('trained_betas are used as given', () => {
  const betas = Array.from({ length: 10 }, (_, i) => 0.05 + 0.01 * i);
  const ac = alphasCumprod(parseSchedulerConfig({ num_train_timesteps: 10, trained_betas: betas }));
  close(ac[9], betas.reduce((p, b) => p * (1 - b), 1), 1e-6, 'ᾱ_9');
});

test('bad configs and step counts are refused with the field named', () => {
  assert.throws(() => parseSchedulerConfig([], 'x.json'), /x\.json: expected a JSON object/);
  assert.throws(() => parseSchedulerConfig({ beta_schedule: 'cosine' }), /beta_schedule/);
  assert.throws(() => parseSchedulerConfig({ beta_end: 'a' }), /beta_end/);
  assert.throws(() => parseSchedulerConfig({ num_train_timesteps: 5, trained_betas: [0.1] }), /trained_betas/);
  assert.throws(() => parseSchedulerConfig({ timestep_spacing: 'random' }), /timestep_spacing/);
  assert.throws(() => ddimSchedule(sd15(), 0), /steps/);
  assert.throws(() => ddimSchedule(sd15(), 1.5), /steps/);
  assert.throws(() => ddimSchedule(sd15(), 1001), /num_train_timesteps/);
  assert.throws(() => veSchedule([1, 2]), /descending/);
  assert.throws(() => veSchedule([1, Number.NaN]), /finite/);
});

test('steps that push timesteps past the table are refused, not indexed', () => {
  assert.throws(() => ddimSchedule(sd15(), 1000), /timestep 1000.*use fewer steps/);
  assert.equal(ddimSchedule(sd15(), 999).points[0].timestep, 999);
});
