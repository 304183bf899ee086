import { runToyLab, type ToyLabResult } from '../lab/toy/lab.js';
import { methodTable, settingsLine, toJson } from '../lab/toy/tables.js';
import { findings } from '../lab/toy/summary.js';
import { figure1d, figure2d, windowFor, type Panel } from '../lab/plot/toy-figures.js';
import { GaussianMixture } from '../models/gmm.js';
import type { LabPanel, LabRequest, LabResult } from './lab-protocol.js';
import { serveJobs } from './ui.js';

/** One figure per shown method, drawn by the same code as the CLI's PNG figures. */
function panels(res: ToyLabResult, show: readonly string[]): LabPanel[] {
  const ideal = new GaussianMixture(res.mixtures.ideal);
  const strong = new GaussianMixture(res.mixtures.strong);
  const weak = new GaussianMixture(res.mixtures.weak);
  const w = windowFor([ideal, strong, weak]);
  const k = res.target.mode;
  const curves = [
    { mixture: ideal, colour: [0, 0, 0] as const },
    { mixture: strong, colour: [31, 119, 180] as const },
    { mixture: weak, colour: [214, 39, 40] as const },
  ];
  return res.rows
    .filter((r) => show.some((p) => r.name.startsWith(p)))
    .map((r) => {
      const p: Panel = { title: '', samples: r.samples, trajectories: r.trajectories };
      const c = res.config.dim === 1 ? figure1d(curves, [p], w) : figure2d(ideal, [p], w);
      return { name: r.name, nfe: r.nfe, targetMass: r.metrics.modeMass[k], width: c.width, height: c.height, rgba: c.data };
    });
}

serveJobs<LabRequest, LabResult>(async (q, progress) => {
  const res = await runToyLab({
    dim: q.dim,
    mixtures: q.mixtures,
    samples: q.samples,
    steps: q.steps,
    lambda: q.lambda,
    sampler: q.sampler,
    inversion: q.inversion,
    seed: q.seed,
    trajectories: q.trajectories,
    onProgress: progress,
  });
  const figures = panels(res, q.show);
  return {
    result: { json: toJson(res), table: methodTable(res), settings: settingsLine(res), findings: findings(res), target: res.target.name, panels: figures },
    transfer: figures.map((f) => f.rgba.buffer as ArrayBuffer),
  };
});
