import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { registerGenerate } from '../src/cli/generate.js';
import { releaseAllSessions } from '../src/models/onnx/session.js';
import { writeTinySdFolder } from './helpers/onnx-graphs.js';

const tmp = mkdtempSync(join(tmpdir(), 'w2sd-cli-'));
const model = writeTinySdFolder(join(tmp, 'model'), { family: 'sd1' }).dir;
const weak = writeTinySdFolder(join(tmp, 'weak'), { family: 'sd1', unet: { seed: 9 } }).dir;
after(async () => {
  await releaseAllSessions();
  rmSync(tmp, { recursive: true, force: true });
});

async function run(args: string[]): Promise<string> {
  const program = new Command('w2sd').exitOverride();
  let out = '';
  registerGenerate(program, { out: (t) => (out += t), err: () => {} });
  await program.parseAsync(['node', 'w2sd', 'generate', ...args]);
  return out;
}

test('cli: w2sd generate --json runs a cumulative pair and summarises it', async () => {
  const out = join(tmp, 'a.png');
  const text = await run(['--model', model, '--prompt', 'a cat', '--width', '16', '--height', '16', '--steps', '4', '--pair', 'cumulative', '--weak-model', weak, '--out', out, '--json', '--threads', '1']);
  const s = JSON.parse(text) as Record<string, unknown>;
  assert.deepEqual(s.files, [out]);
  assert.equal(s.method, 'w2sd');
  assert.equal(s.pair, 'cumulative');
  assert.equal(s.steps, 4);
  assert.equal(s.lambda, 3);
  assert.equal(s.evaluations, 4 + 2 * 3);
  assert.deepEqual(s.evaluationsByLeg, { main: 4, strong: 3, weak: 3 });
  assert.equal((s.legs as Record<string, { guidance: number }>).weak.guidance, 0);
  assert.ok(existsSync(out));
});

test('cli: bad values are refused with the option named', async () => {
  const base = ['--model', model, '--prompt', 'x', '--out', join(tmp, 'b.png')];
  await assert.rejects(run([...base, '--steps', 'ten']), /--steps: expected an integer from 1 to 1000, got "ten"/);
  await assert.rejects(run([...base, '--pair', 'moe']), /--pair: expected one of weights, guidance, prompt, cumulative, lora/);
  await assert.rejects(run([...base, '--provider', 'tpu']), /execution provider 'tpu'/);
  if (process.platform === 'linux') await assert.rejects(run([...base, '--provider', 'coreml', '--steps', '1', '--width', '16', '--height', '16']), /'coreml' is not available/);
  await assert.rejects(run([...base, '--model', join(tmp, 'nowhere')]), /model folder not found/);
  assert.ok(!existsSync(join(tmp, 'b.png')));
});

test('cli: Ctrl-C during sampling leaves no PNG and no temporary file', async () => {
  const outDir = join(tmp, 'interrupted');
  const entry = fileURLToPath(new URL('../src/pipelines/txt2img.js', import.meta.url));
  const code = `
    import { generate } from ${JSON.stringify(entry)};
    await generate({ model: ${JSON.stringify(model)}, prompt: 'a cat', width: 16, height: 16, steps: 500, output: ${JSON.stringify(join(outDir, 'x.png'))},
      onProgress: (p) => { if (p.step === 3) process.stdout.write('sampling\\n'); } });`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('sampling')) resolve();
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (c) => reject(new Error(`child exited early with ${c}: ${err}`)));
  });
  child.kill('SIGINT');
  const status = await new Promise<string | null>((resolve) => child.on('exit', (_c, sig) => resolve(sig)));
  assert.equal(status, 'SIGINT');
  assert.ok(!existsSync(outDir) || readdirSync(outDir).length === 0, 'nothing written');
});
