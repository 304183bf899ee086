import type { GenerateResult } from './options.js';

/** The --json summary: everything but pixel and latent data. */
export function resultSummary(r: GenerateResult): Record<string, unknown> {
  return {
    files: r.files,
    family: r.family,
    method: r.method,
    pair: r.pair ?? null,
    legs: r.legs,
    width: r.width,
    height: r.height,
    seed: r.seed,
    batch: r.batch,
    sampler: r.sampler,
    steps: r.steps,
    lambda: r.lambda ?? null,
    inversion: r.inversion ?? null,
    evaluations: r.evaluations,
    evaluationsByLeg: r.evaluationsByLeg,
    expectedEvaluations: r.expectedEvaluations,
    unetRuns: r.unetRuns,
    timingsMs: Object.fromEntries(Object.entries(r.timingsMs).map(([k, v]) => [k, Math.round(v)])),
    warnings: r.warnings,
  };
}
