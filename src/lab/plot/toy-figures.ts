import type { GaussianMixture } from '../../models/gmm.js';
import { Canvas, PALETTE, densityColour, type Rgb } from './canvas.js';

/** Snapshots of a few samples' latents: one [m, dim] array per level, at the given σ. */
export interface Trajectories {
  readonly sigmas: readonly number[];
  readonly snapshots: readonly Float32Array[];
}

export interface Panel {
  readonly title: string;
  readonly samples: Float32Array;
  readonly trajectories?: Trajectories;
  /** Density drawn behind this panel (2-D), when it differs from the figure's. */
  readonly density?: GaussianMixture;
}

/** Plot window (data units) of the paper's toys; user mixtures get a window around their modes. */
export interface Window {
  readonly lo: number;
  readonly hi: number;
}

export function windowFor(mixtures: readonly GaussianMixture[]): Window {
  let lo = Infinity;
  let hi = -Infinity;
  for (const m of mixtures) {
    for (let k = 0; k < m.size; k++) {
      const sd = Math.sqrt(Math.max(...Array.from({ length: m.dim }, (_, i) => m.covs[k * m.dim * m.dim + i * m.dim + i])));
      for (const v of m.componentMean(k)) {
        lo = Math.min(lo, v - 5 * sd);
        hi = Math.max(hi, v + 5 * sd);
      }
    }
  }
  return { lo, hi };
}

const PANEL = 240;
const TITLE = 14;
const GAP = 8;
const INK: Rgb = [30, 30, 30];
const SAMPLE_DOTS = 3000;

/**
 * Trajectories are drawn as x/√(1+σ²) (the VP latent x_t), so the start at σ_max ≈ 80 lands near the
 * origin instead of far outside the window, as in the paper's figures.
 */
function vp(v: number, sigma: number): number {
  return v / Math.sqrt(1 + sigma * sigma);
}

function grid(count: number): { cols: number; rows: number } {
  const cols = Math.min(count, 4);
  return { cols, rows: Math.ceil(count / cols) };
}

/** Shaded density with iso-lines: levels of p/p_max on the panel's pixel grid. */
function drawDensity2d(c: Canvas, ox: number, oy: number, m: GaussianMixture, w: Window): void {
  const pts = new Float64Array(PANEL * PANEL * 2);
  for (let py = 0; py < PANEL; py++) {
    for (let px = 0; px < PANEL; px++) {
      const i = py * PANEL + px;
      pts[2 * i] = w.lo + ((px + 0.5) / PANEL) * (w.hi - w.lo);
      pts[2 * i + 1] = w.hi - ((py + 0.5) / PANEL) * (w.hi - w.lo);
    }
  }
  const lp = m.logDensity(pts, 0);
  const max = Math.max(...lp);
  // Iso-lines of log-density below the peak: evenly spaced in log p, so tails and modes both show.
  const drops = [9, 7, 5, 3.5, 2.5, 1.5, 0.75];
  const levels = drops.length;
  const level = new Int8Array(PANEL * PANEL);
  for (let i = 0; i < lp.length; i++) {
    let l = 0;
    while (l < levels && lp[i] - max > -drops[l]) l++;
    level[i] = l;
  }
  for (let py = 0; py < PANEL; py++) {
    for (let px = 0; px < PANEL; px++) {
      const l = level[py * PANEL + px];
      const edge = (px + 1 < PANEL && level[py * PANEL + px + 1] !== l) || (py + 1 < PANEL && level[(py + 1) * PANEL + px] !== l);
      c.blend(ox + px, oy + py, edge ? [150, 165, 190] : densityColour((0.55 * l) / levels));
    }
  }
}

/** Density contours of `background`, sample dots and trajectories per method, one panel each. */
export function figure2d(background: GaussianMixture, panels: readonly Panel[], w: Window): Canvas {
  const { cols, rows } = grid(panels.length);
  const c = new Canvas(cols * (PANEL + GAP) + GAP, rows * (PANEL + TITLE + GAP) + GAP);
  const sx = (v: number): number => ((v - w.lo) / (w.hi - w.lo)) * PANEL;
  const sy = (v: number): number => ((w.hi - v) / (w.hi - w.lo)) * PANEL;
  panels.forEach((p, idx) => {
    const ox = GAP + (idx % cols) * (PANEL + GAP);
    const oy = GAP + Math.floor(idx / cols) * (PANEL + TITLE + GAP);
    c.text(ox, oy + 2, p.title, INK);
    const py0 = oy + TITLE;
    drawDensity2d(c, ox, py0, p.density ?? background, w);
    const n = Math.min(SAMPLE_DOTS, p.samples.length / 2);
    for (let s = 0; s < n; s++) c.blend(ox + sx(p.samples[2 * s]), py0 + sy(p.samples[2 * s + 1]), INK, 0.45);
    const t = p.trajectories;
    if (t && t.snapshots.length > 1) {
      const m = t.snapshots[0].length / 2;
      for (let j = 0; j < m; j++) {
        const col = PALETTE[j % PALETTE.length];
        for (let k = 1; k < t.snapshots.length; k++) {
          const a = t.snapshots[k - 1];
          const b = t.snapshots[k];
          c.line(
            ox + sx(vp(a[2 * j], t.sigmas[k - 1])), py0 + sy(vp(a[2 * j + 1], t.sigmas[k - 1])),
            ox + sx(vp(b[2 * j], t.sigmas[k])), py0 + sy(vp(b[2 * j + 1], t.sigmas[k])), col, 0.85,
          );
        }
        const end = t.snapshots[t.snapshots.length - 1];
        c.disc(ox + sx(end[2 * j]), py0 + sy(end[2 * j + 1]), 2.2, col);
      }
    }
    c.strokeRect(ox, py0, PANEL, PANEL, INK);
  });
  return c;
}

const HIST_H = 130;
const TRAJ_H = 110;
const BINS = 80;

/** Per method: a histogram of the samples against the true densities, and trajectories over the steps. */
export function figure1d(curves: readonly { mixture: GaussianMixture; colour: Rgb }[], panels: readonly Panel[], w: Window): Canvas {
  const { cols, rows } = grid(panels.length);
  const cellH = TITLE + HIST_H + 4 + TRAJ_H;
  const c = new Canvas(cols * (PANEL + GAP) + GAP, rows * (cellH + GAP) + GAP);
  const sx = (v: number): number => ((v - w.lo) / (w.hi - w.lo)) * PANEL;
  const xs = Float64Array.from({ length: PANEL }, (_, px) => w.lo + ((px + 0.5) / PANEL) * (w.hi - w.lo));
  const dens = curves.map((cv) => Array.from(cv.mixture.logDensity(xs, 0), Math.exp));
  const top = 1.35 * Math.max(...dens.flat());
  panels.forEach((p, idx) => {
    const ox = GAP + (idx % cols) * (PANEL + GAP);
    const oy = GAP + Math.floor(idx / cols) * (cellH + GAP);
    c.text(ox, oy + 2, p.title, INK);
    const hy = oy + TITLE;
    const hist = new Float64Array(BINS);
    const bw = (w.hi - w.lo) / BINS;
    for (const v of p.samples) {
      const b = Math.floor((v - w.lo) / bw);
      if (b >= 0 && b < BINS) hist[b]++;
    }
    const n = p.samples.length;
    for (let b = 0; b < BINS; b++) {
      const h = Math.min(HIST_H, (hist[b] / (n * bw) / top) * HIST_H);
      c.fillRect(ox + sx(w.lo + b * bw), hy + HIST_H - h, PANEL / BINS, h, [150, 160, 175]);
    }
    curves.forEach((cv, ci) => {
      for (let px = 1; px < PANEL; px++) {
        c.line(ox + px - 1, hy + HIST_H - (dens[ci][px - 1] / top) * HIST_H, ox + px, hy + HIST_H - (dens[ci][px] / top) * HIST_H, cv.colour);
      }
    });
    c.strokeRect(ox, hy, PANEL, HIST_H, INK);
    const ty = hy + HIST_H + 4;
    const t = p.trajectories;
    if (t && t.snapshots.length > 1) {
      const steps = t.snapshots.length - 1;
      const yOf = (v: number): number => ty + ((w.hi - v) / (w.hi - w.lo)) * TRAJ_H;
      const m = t.snapshots[0].length;
      for (let j = 0; j < m; j++) {
        const col = PALETTE[j % PALETTE.length];
        for (let k = 1; k <= steps; k++) {
          c.line(
            ox + ((k - 1) / steps) * (PANEL - 1), yOf(vp(t.snapshots[k - 1][j], t.sigmas[k - 1])),
            ox + (k / steps) * (PANEL - 1), yOf(vp(t.snapshots[k][j], t.sigmas[k])), col, 0.85,
          );
        }
      }
    }
    c.strokeRect(ox, ty, PANEL, TRAJ_H, INK);
  });
  return c;
}
