import { GaussianMixture } from '../../models/gmm.js';
import { figure1d, figure2d, windowFor, type Panel } from '../plot/toy-figures.js';
import type { Canvas } from '../plot/canvas.js';
import type { ToyLabResult } from './lab.js';

/** Rows drawn in the method figure, in order (when present). */
const SHOWN = ['ideal (exact samples)', 'plain strong', 'plain weak', 'W2SD (ddim)', 'W2SD (fixed-point)', 'S2WD', 'W2SD equal-compute', 'autoguidance'];

function shortTitle(name: string, mass: number): string {
  const s = name
    .replace('ideal (exact samples)', 'ideal exact')
    .replace(/equal-compute \(([^,]+),.*\)/, 'eq-compute ($1)')
    .replace(' (best)', '')
    .replace('λ', 'L');
  return `${s.slice(0, 28)} ${(100 * mass).toFixed(1)}%`;
}

export interface Figure {
  readonly file: string;
  readonly caption: string;
  readonly canvas: Canvas;
}

/** The method figure (densities + samples + trajectories per method) and the model figure (ideal/strong/weak). */
export function toyFigures(res: ToyLabResult, prefix: string): Figure[] {
  // Figures are drawn in data space: only 1-D and 2-D mixtures have one (tables cover any dimension).
  if (res.config.dim > 2) return [];
  const ideal = new GaussianMixture(res.mixtures.ideal);
  const strong = new GaussianMixture(res.mixtures.strong);
  const weak = new GaussianMixture(res.mixtures.weak);
  const w = windowFor([ideal, strong, weak]);
  const k = res.target.mode;
  const rows = SHOWN.map((p) => res.rows.find((r) => r.name.startsWith(p))).filter((r) => r !== undefined);
  const panels: Panel[] = rows.map((r) => ({ title: shortTitle(r.name, r.metrics.modeMass[k]), samples: r.samples, trajectories: r.trajectories }));
  const models: Panel[] = [
    { title: 'ideal', samples: rows[0].samples, density: ideal },
    { title: 'strong (plain sampling)', samples: res.rows.find((r) => r.name === 'plain strong')!.samples, density: strong },
    { title: 'weak (plain sampling)', samples: res.rows.find((r) => r.name === 'plain weak')!.samples, density: weak },
  ];
  const trajNote = 'coloured lines: a few samples from start to end, drawn as x/sqrt(1+σ²)';
  const pctNote = `the number in each title is the share of samples on ${res.target.name}`;
  if (res.config.dim === 1) {
    const curves = [
      { mixture: ideal, colour: [0, 0, 0] as const },
      { mixture: strong, colour: [31, 119, 180] as const },
      { mixture: weak, colour: [214, 39, 40] as const },
    ];
    return [
      {
        file: `${prefix}-methods.png`,
        caption: `1-D toy, per method: histogram of samples (grey) against the ideal (black), strong (blue) and weak (red) densities; below it the trajectories over the steps (${trajNote}); ${pctNote}.`,
        canvas: figure1d(curves, panels, w),
      },
    ];
  }
  return [
    {
      file: `${prefix}-methods.png`,
      caption: `2-D toy, per method: ideal density contours, samples (dark dots, first 3,000) and trajectories (${trajNote}); ${pctNote}.`,
      canvas: figure2d(ideal, panels, w),
    },
    {
      file: `${prefix}-models.png`,
      caption: 'The three 2-D models, each with its own density contours: exact ideal samples, and plain sampling of the strong and weak models.',
      canvas: figure2d(ideal, models, w),
    },
  ];
}
