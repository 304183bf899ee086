import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { batchGaussian, cfg, ddim, ddimSchedule, parseSchedulerConfig, plain, tensor, zSampling, type GuidedDenoiser, type Schedule, type StepPoint } from '../src/core/index.js';
import { matchedGuidance } from '../src/experiments/matching.js';
import { FIXTURES } from './helpers/onnx-graphs.js';
import { gaussianDenoiser } from './helpers/gaussian.js';

/*
 * The first-order matched scale checked on exact denoisers: conditional data N(μ_c, 0.5²), unconditional
 * N(0, 1) (with std 0.5 the guidance direction D_c − D_u changes with x and σ; with std 1 it does not). Z-Sampling's
 * guidance pair (5.5 / 0, λ = T − 1) should land near CFG at the matched scale 5.5 + 5.5ρ, and far from CFG at
 * the main scale 5.5 — the point of "Guidance Matters".
 */
const config = parseSchedulerConfig(JSON.parse(readFileSync(`${FIXTURES}/configs/sd15/scheduler/scheduler_config.json`, 'utf8')));

/** SD 1.5's DDIM σ levels, with the timestep read as σ (what the closed-form denoisers condition on). */
function schedule(t: number): Schedule {
  const b = ddimSchedule(config, t);
  const pt = (p: StepPoint): StepPoint => ({ sigma: p.sigma, timestep: p.sigma });
  return { points: b.points.map(pt), final: pt(b.final), initSigma: b.initSigma, timestepOf: (s) => s };
}

for (const condStd of [1, 0.5]) {
  test(`guidance pair ≈ CFG at the first-order matched scale on exact Gaussian denoisers, far from the main scale (conditional std ${condStd})`, async () => {
    const T = 50;
    const cond = gaussianDenoiser([1.5, -0.5], condStd);
    const uncond = gaussianDenoiser([0, 0], 1);
    const model: GuidedDenoiser = { both: async (x, at) => [await cond(x, at), await uncond(x, at)], cond, uncond };
    const shape = [64, 2];
    const ctx = { sampler: ddim(), schedule, steps: T, noise: tensor(batchGaussian(5, shape), shape) };
    const z = await zSampling('z', model, { strong: 5.5, weak: 0 }, { lambda: T - 1, inversion: 'ddim' }).run(ctx);
    const { guidance, rho } = matchedGuidance({ mainGuidance: 5.5, strongGuidance: 5.5, weakGuidance: 0, steps: T, lambda: T - 1 }, schedule(T));
    assert.ok(guidance > 10.9 && guidance < 11, `matched ${guidance} (ρ ${rho})`);
    const at = async (w: number) => plain('cfg', cfg(model, w)).run(ctx);
    const dist = (a: Float32Array, b: Float32Array) => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0) / a.length);
    const dMatched = dist(z, await at(guidance));
    const dMain = dist(z, await at(5.5));
    const dOther = dist(z, await at(8));
    assert.ok(dMatched < 0.2 * dMain, `W2SD−CFG(matched) ${dMatched} vs W2SD−CFG(5.5) ${dMain}`);
    const dHigh = dist(z, await at(14));
    assert.ok(dMatched < dOther && dMatched < dHigh, `matched ${dMatched} vs CFG 8 ${dOther}, CFG 14 ${dHigh}`);
  });
}
