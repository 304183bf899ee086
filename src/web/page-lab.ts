import { INVERSIONS, SAMPLERS } from '../core/index.js';
import { GaussianMixture } from '../models/gmm.js';
import { parseMixtureFile, type MixtureTriple } from '../models/gmm-spec.js';
import { toyMixtures } from '../models/gmm-toys.js';
import { densityColour } from '../lab/plot/canvas.js';
import { windowFor, type Window } from '../lab/plot/toy-figures.js';
import type { LabRequest, LabResult } from './lab-protocol.js';
import { moveMean, setSpread, setWeight, spreadOf, withModel, type Which } from './mixture-edit.js';
import { showEnv } from './env.js';
import { $, JobRunner, wireRun, el, fillSelect, input, numberField, rgbaCanvas, select } from './ui.js';

const METHODS = ['plain strong', 'plain weak', 'plain ideal model', 'W2SD (ddim)', 'W2SD (fixed-point)', 'self-reflection', 'S2WD', 'W2SD equal-compute', 'autoguidance'];
const DEFAULT_SHOWN = new Set(['plain strong', 'plain weak', 'W2SD (ddim)', 'W2SD (fixed-point)', 'S2WD', 'W2SD equal-compute', 'autoguidance']);
const COLOURS: Record<Which, string> = { ideal: '#111827', strong: '#1f77b4', weak: '#d62728' };

interface State {
  triple: MixtureTriple;
  /** The paper toy in use, unchanged; undefined once edited (then the run passes the mixtures). */
  builtIn?: 1 | 2;
  which: Which;
  comp: number;
  view: Window;
}

const state: State = { triple: toyMixtures(2), builtIn: 2, which: 'ideal', comp: 0, view: { lo: -10, hi: 10 } };
const editor = $('editor') as HTMLCanvasElement;

function setTriple(t: MixtureTriple, builtIn?: 1 | 2): void {
  state.triple = t;
  state.builtIn = builtIn;
  state.comp = Math.min(state.comp, t[state.which].components.length - 1);
  const w = windowFor([t.ideal, t.strong, t.weak].map((m) => new GaussianMixture(m)));
  state.view = { lo: Math.min(w.lo, -6), hi: Math.max(w.hi, 6) };
  editor.height = t.ideal.dim === 1 ? 260 : 480;
  refreshEditor();
}

/** Data ↔ canvas pixels; 1-D puts x across and density up, 2-D puts (x, y) with y up. */
function toPx(v: number): number {
  return ((v - state.view.lo) / (state.view.hi - state.view.lo)) * editor.width;
}
function fromPx(p: number): number {
  return state.view.lo + (p / editor.width) * (state.view.hi - state.view.lo);
}

function handles(): { x: number; y: number }[] {
  const m = state.triple[state.which];
  if (m.dim === 2) return m.components.map((c) => ({ x: toPx(c.mean[0]), y: editor.height - (((c.mean[1] - state.view.lo) / (state.view.hi - state.view.lo)) * editor.height) }));
  return m.components.map((c) => ({ x: toPx(c.mean[0]), y: editor.height - 24 }));
}

function drawDensity2d(ctx: CanvasRenderingContext2D, m: GaussianMixture): void {
  const n = 120;
  const pts = new Float64Array(n * n * 2);
  for (let py = 0; py < n; py++) {
    for (let px = 0; px < n; px++) {
      pts[2 * (py * n + px)] = fromPx(((px + 0.5) / n) * editor.width);
      pts[2 * (py * n + px) + 1] = state.view.hi - ((py + 0.5) / n) * (state.view.hi - state.view.lo);
    }
  }
  const lp = m.logDensity(pts, 0);
  const max = Math.max(...lp);
  const img = ctx.createImageData(n, n);
  for (let i = 0; i < n * n; i++) {
    const [r, g, b] = densityColour(Math.max(0, 1 + (lp[i] - max) / 9));
    img.data.set([r, g, b, 255], 4 * i);
  }
  const off = el('canvas', { width: n, height: n });
  off.getContext('2d')!.putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(off, 0, 0, editor.width, editor.height);
}

function drawCurves1d(ctx: CanvasRenderingContext2D): void {
  const xs = Float64Array.from({ length: editor.width }, (_, px) => fromPx(px + 0.5));
  const models = (['ideal', 'strong', 'weak'] as Which[]).map((w) => ({ w, d: Array.from(new GaussianMixture(state.triple[w]).logDensity(xs, 0), Math.exp) }));
  const top = 1.25 * Math.max(...models.flatMap((m) => m.d));
  const base = editor.height - 24;
  for (const { w, d } of models) {
    ctx.beginPath();
    d.forEach((v, px) => (px === 0 ? ctx.moveTo(px, base - (v / top) * (base - 10)) : ctx.lineTo(px, base - (v / top) * (base - 10))));
    ctx.strokeStyle = COLOURS[w];
    ctx.lineWidth = w === state.which ? 2.5 : 1.2;
    ctx.stroke();
  }
  ctx.fillStyle = '#5b6475';
  ctx.font = '11px system-ui';
  for (let v = Math.ceil(state.view.lo / 2) * 2; v <= state.view.hi; v += 2) ctx.fillText(String(v), toPx(v) - 4, editor.height - 6);
}

function refreshEditor(): void {
  const ctx = editor.getContext('2d')!;
  ctx.clearRect(0, 0, editor.width, editor.height);
  const m = state.triple[state.which];
  if (m.dim === 2) drawDensity2d(ctx, new GaussianMixture(m));
  else drawCurves1d(ctx);
  handles().forEach((h, k) => {
    const c = m.components[k];
    ctx.beginPath();
    ctx.arc(h.x, h.y, 5 + 14 * Math.sqrt(c.weight), 0, 2 * Math.PI);
    ctx.fillStyle = k === state.comp ? 'rgba(37,99,235,.85)' : 'rgba(17,24,39,.55)';
    ctx.fill();
    if (m.dim === 2) {
      ctx.beginPath();
      ctx.arc(h.x, h.y, (spreadOf(c) / (state.view.hi - state.view.lo)) * editor.width, 0, 2 * Math.PI);
      ctx.strokeStyle = 'rgba(17,24,39,.6)';
      ctx.stroke();
    }
    ctx.fillStyle = '#111827';
    ctx.font = '12px system-ui';
    ctx.fillText(`${c.name ?? `mode ${k}`} ${(100 * c.weight).toFixed(0)}%`, h.x + 12, h.y - 10);
  });
  const c = m.components[state.comp];
  $('comp-name').textContent = c.name ?? `mode ${state.comp}`;
  input('weight').value = String(c.weight);
  $('weight-v').textContent = `${(100 * c.weight).toFixed(1)} %`;
  input('spread').value = String(spreadOf(c));
  $('spread-v').textContent = spreadOf(c).toFixed(2);
  $('editor-legend').textContent =
    (m.dim === 2 ? `${state.which} density; disc size = weight, ring = 1 std. ` : 'ideal (black), strong (blue), weak (red) densities. ') +
    `Drag a disc to move its mode. ${state.builtIn ? `Paper toy ${state.builtIn}-D, unedited.` : 'Edited mixture.'}`;
  ($('mixture-json') as HTMLTextAreaElement).value = JSON.stringify(state.triple, null, 1);
}

function edit(f: (t: MixtureTriple) => MixtureTriple): void {
  try {
    const t = f(state.triple);
    parseMixtureFile(JSON.stringify(t), 'edited mixture'); // same checks the CLI applies to a file
    state.triple = t;
    state.builtIn = undefined;
    $('mixture-error').textContent = '';
  } catch (e) {
    $('mixture-error').textContent = (e as Error).message;
  }
  refreshEditor();
}

function wireEditor(): void {
  let dragging = false;
  const pos = (e: PointerEvent) => {
    const r = editor.getBoundingClientRect();
    return { x: ((e.clientX - r.left) / r.width) * editor.width, y: ((e.clientY - r.top) / r.height) * editor.height };
  };
  editor.addEventListener('pointerdown', (e) => {
    const p = pos(e);
    let best = -1;
    let dist = 30;
    handles().forEach((h, k) => {
      const d = Math.hypot(h.x - p.x, h.y - p.y);
      if (d < dist) [best, dist] = [k, d];
    });
    if (best < 0) return;
    state.comp = best;
    dragging = true;
    editor.setPointerCapture(e.pointerId);
    refreshEditor();
  });
  editor.addEventListener('pointermove', (e) => {
    if (!dragging) return;
    const p = pos(e);
    const round = (v: number) => Math.round(v * 20) / 20;
    const x = round(fromPx(p.x));
    const y = round(state.view.lo + (1 - p.y / editor.height) * (state.view.hi - state.view.lo));
    const m = state.triple[state.which];
    edit((t) => withModel(t, state.which, moveMean(m, state.comp, m.dim === 2 ? [x, y] : [x])));
  });
  editor.addEventListener('pointerup', () => (dragging = false));
  input('weight').addEventListener('input', () => edit((t) => withModel(t, state.which, setWeight(t[state.which], state.comp, Number(input('weight').value)))));
  input('spread').addEventListener('input', () => edit((t) => withModel(t, state.which, setSpread(t[state.which], state.comp, Number(input('spread').value)))));
  for (const r of Array.from(document.querySelectorAll<HTMLInputElement>('input[name=which]'))) {
    r.addEventListener('change', () => {
      state.which = r.value as Which;
      state.comp = 0;
      refreshEditor();
    });
  }
  $('toy1').addEventListener('click', () => setTriple(toyMixtures(1), 1));
  $('toy2').addEventListener('click', () => setTriple(toyMixtures(2), 2));
  $('apply-json').addEventListener('click', () => {
    try {
      setTriple(parseMixtureFile(($('mixture-json') as HTMLTextAreaElement).value, 'pasted JSON'));
      $('mixture-error').textContent = '';
    } catch (e) {
      $('mixture-error').textContent = (e as Error).message;
    }
  });
}

function request(): LabRequest {
  const steps = numberField('steps', 'T (steps)', { integer: true, min: 1, max: 1000 })!;
  const show = Array.from(document.querySelectorAll<HTMLInputElement>('#methods input:checked')).map((i) => i.value);
  return {
    dim: state.triple.ideal.dim as 1 | 2,
    ...(state.builtIn ? {} : { mixtures: state.triple }),
    samples: numberField('samples', 'samples per method', { integer: true, min: 1, max: 200000 })!,
    steps,
    lambda: numberField('lambda', 'λ', { integer: true, min: 0, max: steps - 1, optional: true }),
    sampler: select('sampler').value,
    inversion: select('inversion').value,
    seed: numberField('seed', 'seed', { integer: true, min: 0 })!,
    trajectories: 24,
    show,
  };
}

/** The CLI's Markdown table, cell for cell, as an HTML table. */
function markdownTable(md: string): HTMLElement[] {
  const lines = md.split('\n').filter((l) => l.startsWith('|') && !/^\|[-|]+\|$/.test(l));
  const cells = (l: string) => l.slice(1, -1).split('|').map((s) => s.trim());
  const [head, ...body] = lines;
  return [el('thead', {}, [el('tr', {}, cells(head).map((c) => el('th', { textContent: c })))]), el('tbody', {}, body.map((l) => el('tr', {}, cells(l).map((c) => el('td', { textContent: c })))))];
}

function showResult(r: LabResult): void {
  $('settings').textContent = r.settings;
  $('table').replaceChildren(...markdownTable(r.table));
  $('findings').replaceChildren(...r.findings.map((f) => el('li', { textContent: f })));
  $('json').textContent = JSON.stringify(r.json, null, 2);
  $('fig-legend').textContent =
    `Per method: samples (first 3,000) ${r.panels[0]?.height > 300 ? 'histogram against the ideal (black), strong (blue) and weak (red) densities; below, trajectories over the steps' : 'over the ideal density, with a few trajectories'}; the percentage is the share on ${r.target}.`;
  $('cards').replaceChildren(
    ...r.panels.map((p) => el('div', { className: 'card' }, [el('h3', { textContent: `${p.name} · ${(100 * p.targetMass).toFixed(1)} % · NFE ${p.nfe}` }), rgbaCanvas(p.width, p.height, p.rgba)])),
  );
}

async function main(): Promise<void> {
  await showEnv();
  fillSelect(select('sampler'), SAMPLERS, 'ddim');
  fillSelect(select('inversion'), INVERSIONS.filter((i) => i !== 'official-lagged'), 'ddim');
  $('methods').replaceChildren(...METHODS.map((m) => el('label', { className: 'inline' }, [el('input', { type: 'checkbox', value: m, checked: DEFAULT_SHOWN.has(m) }), m])));
  wireEditor();
  setTriple(toyMixtures(2), 2);
  const runner = new JobRunner<LabRequest, LabResult>('./worker-lab.js', {
    bar: $('bar') as HTMLProgressElement,
    status: $('status'),
    run: $('run') as HTMLButtonElement,
    cancel: $('cancel') as HTMLButtonElement,
    error: $('error'),
  });
  wireRun(runner, request, (_q, r) => showResult(r));
}

await main();
