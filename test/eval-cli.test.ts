import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { registerScore } from '../src/cli/score.js';
import { promptFromParameters } from '../src/eval/scorers/image.js';
import { encodePng } from '../src/pipelines/png.js';
import { releaseAllSessions } from '../src/models/onnx/session.js';
import { SCORER_FIXTURES, scorerReferences, writeTestScorerFolder } from './helpers/scorers.js';

const tmp = mkdtempSync(join(tmpdir(), 'w2sd-score-'));
const clip = writeTestScorerFolder(join(tmp, 'clip'));
const refs = scorerReferences();
after(async () => {
  await releaseAllSessions();
  rmSync(tmp, { recursive: true, force: true });
});

async function score(args: string[]): Promise<{ out: string }> {
  const program = new Command('w2sd').exitOverride();
  let out = '';
  registerScore(program, { out: (t) => (out += t), err: () => {} });
  await program.parseAsync(['node', 'w2sd', 'score', ...args]);
  return { out };
}

function csvQuote(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

test('w2sd score --json: every image of a folder with prompts.csv (real CSV) equals the PyTorch + PIL reference', async () => {
  const dir = join(tmp, 'csv');
  mkdirSync(dir);
  const lines = ['file,prompt'];
  for (const [file, r] of Object.entries(refs)) {
    if (r.kind === 'jpeg') continue;
    copyFileSync(join(SCORER_FIXTURES, 'images', file), join(dir, file));
    lines.push(`${file},${csvQuote(r.prompt)}`);
  }
  writeFileSync(join(dir, 'prompts.csv'), `${lines.join('\r\n')}\r\n`);
  const { out } = await score([dir, '--scorer', `pickscore=${clip}`, '--scorer', `hpsv2=${clip}`, '--scorer', `clipscore=${clip}`, '--scorer', `aesthetic=${clip}`, '--json', '--batch', '3']);
  const json = JSON.parse(out) as { images: { file: string; prompt: string; scores: Record<string, number> }[] };
  assert.equal(json.images.length, lines.length - 1);
  for (const im of json.images) {
    const r = refs[im.file];
    assert.equal(im.prompt, r.prompt);
    for (const k of ['pickscore', 'hpsv2', 'clipscore', 'aesthetic'] as const) {
      assert.ok(Math.abs(im.scores[k] - r.scores[k]) <= 1e-4 * Math.max(1, Math.abs(r.scores[k])), `${im.file} ${k}: ${im.scores[k]} vs ${r.scores[k]}`);
    }
  }
});

test('prompts from PNG parameters: the text before "Negative prompt:" or "Steps:", quotes, commas and newlines kept', async () => {
  assert.equal(promptFromParameters('a cat, "cute"\non two lines\nNegative prompt: ugly\nSteps: 4, Seed: 1'), 'a cat, "cute"\non two lines');
  assert.equal(promptFromParameters('a dog\nSteps: 4, Sampler: ddim'), 'a dog');
  assert.equal(promptFromParameters('Steps: 4'), undefined);
  const dir = join(tmp, 'params');
  mkdirSync(dir);
  const rgb = new Uint8Array(32 * 32 * 3).map((_, i) => (i * 7) % 256);
  writeFileSync(join(dir, 'a.png'), encodePng(rgb, 32, 32, { parameters: 'a red car, by the sea\nNegative prompt: blur\nSteps: 4, CFG scale: 5.5' }));
  writeFileSync(join(dir, 'b.png'), encodePng(rgb, 32, 32, { parameters: 'ein Bild mit Ümlaut\nSteps: 4' }));
  const { out } = await score([dir, '--scorer', `pickscore=${clip}`, '--json']);
  const json = JSON.parse(out) as { images: { file: string; prompt: string }[] };
  assert.deepEqual(json.images.map((i) => [i.file, i.prompt]), [['a.png', 'a red car, by the sea'], ['b.png', 'ein Bild mit Ümlaut']]);
});

test('bad inputs: missing or incomplete model folder, truncated image, image without prompt; the path is named and nothing is printed', async () => {
  const dir = join(tmp, 'bad');
  mkdirSync(dir);
  copyFileSync(join(SCORER_FIXTURES, 'images', 'crop-rgb.png'), join(dir, 'a.png'));
  writeFileSync(join(dir, 'prompts.csv'), 'file,prompt\na.png,a cat\n');
  const incomplete = writeTestScorerFolder(join(tmp, 'incomplete'));
  rmSync(join(incomplete, 'model.onnx'));
  const cases: [string[], RegExp][] = [
    [[dir, '--scorer', `pickscore=${join(tmp, 'nowhere')}`], /nowhere: folder not found/],
    [[dir, '--scorer', `pickscore=${incomplete}`], /incomplete: missing model\.onnx/],
    [[dir, '--scorer', `mps=${clip}`], /--scorer mps=.*NAME must be one of clipscore, pickscore, hpsv2, aesthetic/],
    [[dir, '--scorer', 'pickscore'], /expected NAME=PATH/],
    [[dir], /--scorer NAME=PATH: at least one/],
    [[dir, '--scorer', `pickscore=${clip}`, '--batch', '0'], /--batch: expected a positive integer, got "0"/],
    [[join(tmp, 'none'), '--scorer', `pickscore=${clip}`], /none: not found or not a folder/],
  ];
  for (const [args, re] of cases) await assert.rejects(score(args), re);
  // a truncated image is found before any score is computed
  const png = readFileSync(join(SCORER_FIXTURES, 'images', 'down-rgb.png'));
  writeFileSync(join(dir, 'b.png'), png.subarray(0, png.length - 30));
  writeFileSync(join(dir, 'prompts.csv'), 'file,prompt\na.png,a cat\nb.png,a dog\n');
  await assert.rejects(score([dir, '--scorer', `pickscore=${clip}`]), /bad\/b\.png: truncated PNG/);
  // an image the CSV does not list
  writeFileSync(join(dir, 'b.png'), png);
  writeFileSync(join(dir, 'prompts.csv'), 'file,prompt\na.png,a cat\n');
  await assert.rejects(score([dir, '--scorer', `pickscore=${clip}`]), /bad\/b\.png: no prompt \(not listed in .*prompts\.csv\)/);
  // without prompts.csv, a PNG without parameters
  rmSync(join(dir, 'prompts.csv'));
  await assert.rejects(score([dir, '--scorer', `pickscore=${clip}`]), /bad\/a\.png: no prompt \(no prompts\.csv in the folder and no "parameters" text/);
});

test('w2sd score with clip-i and dino against --references: the reference values; --references is required and checked', async () => {
  const dir = join(tmp, 'personal');
  mkdirSync(dir);
  const personal = JSON.parse(readFileSync(join(SCORER_FIXTURES, 'references.json'), 'utf8')).personalization as Record<string, { 'clip-i': number; dino: number }>;
  for (const f of Object.keys(personal)) copyFileSync(join(SCORER_FIXTURES, 'images', f), join(dir, f));
  writeFileSync(join(dir, 'prompts.csv'), `file,prompt\n${Object.keys(personal).map((f) => `${f},a dog`).join('\n')}\n`);
  const dino = join(SCORER_FIXTURES, 'tiny-dino');
  const { out } = await score([dir, '--scorer', `clip-i=${clip}`, '--scorer', `dino=${dino}`, '--references', join(SCORER_FIXTURES, 'references'), '--json']);
  for (const im of (JSON.parse(out) as { images: { file: string; scores: Record<string, number> }[] }).images) {
    assert.ok(Math.abs(im.scores['clip-i'] - personal[im.file]['clip-i']) < 1e-4, im.file);
    assert.ok(Math.abs(im.scores.dino - personal[im.file].dino) < 1e-4, im.file);
  }
  await assert.rejects(score([dir, '--scorer', `dino=${dino}`]), /--references DIR: required by dino/);
  await assert.rejects(score([dir, '--scorer', `pickscore=${clip}`, '--references', dir]), /--references applies to clip-i, dino only/);
});
