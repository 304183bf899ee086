import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFilesAtomically } from '../../pipelines/atomic.js';
import { clipGridGif } from './gif.js';
import type { VideoLabResult, VideoRow } from './lab.js';

const pct = (v: number) => `${(100 * v).toFixed(1)} %`;

function cells(r: VideoRow, strong: VideoRow | undefined): string[] {
  const m = r.metrics;
  const d = strong && r !== strong && r.group !== 'data' ? ` (${m.frameFd - strong.metrics.frameFd >= 0 ? '+' : '−'}${Math.abs(m.frameFd - strong.metrics.frameFd).toFixed(2)})` : '';
  return [
    r.name,
    r.group === 'data' ? '–' : String(r.nfe),
    m.frameFd.toFixed(2) + d,
    pct(m.frameAccuracy),
    pct(m.identityKept),
    pct(m.allFramesCorrect),
    m.speed.toFixed(2),
    m.jerk.toFixed(2),
    r.seconds ? r.seconds.toFixed(0) : '–',
  ];
}

export function videoTable(res: VideoLabResult): string {
  const head = ['row', 'NFE', 'frame FD (Δ vs strong)', 'frame accuracy', 'identity kept (all frames one class)', 'all frames the asked class', 'speed (px/frame)', 'jerk (px)', 's'];
  const strong = res.rows.find((r) => r.id === 'strong');
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...res.rows.map((r) => `| ${cells(r, strong).join(' | ')} |`)].join('\n');
}

export function videoMarkdown(res: VideoLabResult, linkPrefix = '', level = 3): string {
  const s = res.settings;
  const h = '#'.repeat(level);
  const strong = res.rows.find((r) => r.id === 'strong')!;
  const lines = [
    `${h} Video pair: ${s.models[0]} (strong) vs ${s.models[1]} (weak), moving MNIST [B, ${res.clipShape.join(', ')}]`,
    '',
    `${s.samples} clips per row (labels 0…9 in turn, class-conditional), ${s.sampler}, T = ${s.steps}, seed ${s.seed} (same initial noise for clip i in every row), batch ${s.batch}; ` +
      `frames scored by ${s.models[2]} after cropping 28×28 around each frame's centre of mass; frame FD against ${s.referenceClips} real test clips' frames. ` +
      `Autoguidance's best w = ${res.bestW} (lowest frame FD over ${s.autoguidanceWeights.join(', ')}). Wall time ${res.wallSeconds.toFixed(0)} s.`,
    '',
    videoTable(res),
    '',
    'Speed is the mean per-frame displacement of the frame\'s centre of mass (real clips move 1–2 px per axis per frame); jerk is its mean second difference (0 for constant velocity, larger at bounces and for jittering digits).',
    '',
    `${h}# Measured`,
    '',
  ];
  for (const r of res.rows) {
    if (r === strong || r.group === 'data' || r.id === 'weak') continue;
    const m = r.metrics;
    const sm = strong.metrics;
    lines.push(
      `- ${r.name} (NFE ${r.nfe}): frame FD ${sm.frameFd.toFixed(2)} → ${m.frameFd.toFixed(2)}, frame accuracy ${pct(sm.frameAccuracy)} → ${pct(m.frameAccuracy)}, ` +
        `identity kept ${pct(sm.identityKept)} → ${pct(m.identityKept)}, speed ${sm.speed.toFixed(2)} → ${m.speed.toFixed(2)} px/frame, jerk ${sm.jerk.toFixed(2)} → ${m.jerk.toFixed(2)}.`,
    );
  }
  lines.push('', `Clips (animated GIF, first ${res.previewCount} of each row): ` + res.rows.map((r) => `[${r.id}](${linkPrefix}${r.id}.gif)`).join(' · '), '');
  return lines.join('\n');
}

export function videoJson(res: VideoLabResult): unknown {
  return { ...res, rows: res.rows.map(({ preview: _p, ...r }) => r) };
}

/**
 * The one place the video lab writes: results.md, results.json and one GIF per row appear together or not
 * at all (src/pipelines/atomic.ts; to be switched to the CLI's shared output transaction).
 */
export function writeVideoOutputs(res: VideoLabResult, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const enc = new TextEncoder();
  const [, frames, side] = res.clipShape;
  const files = [
    { path: join(dir, 'results.md'), data: enc.encode(videoMarkdown(res)) },
    { path: join(dir, 'results.json'), data: enc.encode(JSON.stringify(videoJson(res), null, 2) + '\n') },
    ...res.rows.map((r) => ({ path: join(dir, `${r.id}.gif`), data: clipGridGif(r.preview, res.previewCount, frames, side, 10) })),
  ];
  writeFilesAtomically(files);
  return files.map((f) => f.path);
}
