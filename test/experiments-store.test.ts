import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SqliteStore } from '../src/experiments/store.js';
import { itemId, type ResultRow } from '../src/experiments/types.js';

function row(method: string, promptId: string, seed: number, score: number): ResultRow {
  return {
    id: itemId('e1', method, promptId, seed),
    experiment: 'e1',
    method,
    promptId,
    prompt: `prompt "${promptId}", with, commas\nand a newline`,
    seed,
    settings: { method: 'cfg', guidance: 5.5, steps: 4, width: 16, height: 16 },
    nfe: 4,
    wallMs: 12.5,
    image: `images/${method}/${promptId}-${seed}.png`,
    scores: { clipscore: score, pickscore: score / 5 },
    createdAt: '2026-12-07T00:00:00.000Z',
  };
}

test('item ids: content-derived, stable across runs, distinct per key field', () => {
  // sha256 of the canonical key, recorded with `printf '["e1","cfg","0",0]' | sha256sum`
  assert.equal(itemId('e1', 'cfg', '0', 0), '24583cf85b1be4f64be1f546ad2db3a1');
  const ids = new Set([itemId('e1', 'cfg', '0', 0), itemId('e2', 'cfg', '0', 0), itemId('e1', 'w2sd', '0', 0), itemId('e1', 'cfg', '1', 0), itemId('e1', 'cfg', '0', 1)]);
  assert.equal(ids.size, 5);
  assert.match(itemId('e1', 'cfg', '0', 0), /^[0-9a-f]{32}$/);
});

test('store: put is idempotent by id, rows round-trip, query filters and sorts prompt ids numerically', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'w2sd-store-'));
  try {
    const store = SqliteStore.open(join(dir, 'r.sqlite'));
    assert.equal(await store.put(row('cfg', '10', 0, 30)), true);
    assert.equal(await store.put(row('cfg', '2', 1, 31)), true);
    assert.equal(await store.put(row('w2sd', '2', 1, 32)), true);
    // a second put of the same id changes nothing, even with other values
    assert.equal(await store.put(row('cfg', '10', 0, 99)), false);
    assert.equal(await store.has(itemId('e1', 'cfg', '10', 0)), true);
    assert.equal(await store.has(itemId('e1', 'cfg', '11', 0)), false);
    const got = await store.get(itemId('e1', 'cfg', '10', 0));
    assert.deepEqual(got, row('cfg', '10', 0, 30));
    const cfg = await store.query({ method: 'cfg' });
    assert.deepEqual(cfg.map((r) => r.promptId), ['2', '10']);
    assert.equal((await store.query()).length, 3);
    assert.equal((await store.query({ experiment: 'other' })).length, 0);
    await assert.rejects(store.put({ ...row('cfg', '3', 0, 1), scores: { clipscore: NaN } }), /score clipscore is NaN/);
    assert.equal(store.integrity(), 'ok');
    await store.close();
    // reopened from disk
    const again = SqliteStore.open(join(dir, 'r.sqlite'), { readOnly: true });
    assert.equal((await again.query()).length, 3);
    await again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('store: kill -9 at random moments of a writing process leaves only complete rows, and the store reopens', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'w2sd-store-kill-'));
  const path = join(dir, 'r.sqlite');
  const storeJs = fileURLToPath(new URL('../src/experiments/store.js', import.meta.url));
  const typesJs = fileURLToPath(new URL('../src/experiments/types.js', import.meta.url));
  // a writer that puts rows as fast as it can, each with 40 scores whose sum is known (a torn row would break it)
  const code = `
    import { SqliteStore } from ${JSON.stringify(storeJs)};
    import { itemId } from ${JSON.stringify(typesJs)};
    const store = SqliteStore.open(${JSON.stringify(path)});
    process.stdout.write('open\\n');
    for (let i = 0; ; i++) {
      const scores = Object.fromEntries(Array.from({ length: 40 }, (_, k) => ['s' + k, k === 0 ? -780 : k]));
      const id = itemId('kill', 'm', String(process.pid) + '-' + i, i);
      await store.put({ id, experiment: 'kill', method: 'm', promptId: String(process.pid) + '-' + i, prompt: 'p'.repeat(2000), seed: i,
        settings: { method: 'cfg', steps: 1, width: 8, height: 8 }, nfe: 1, wallMs: 1, image: 'x.png', scores, createdAt: 'now' });
      if (i === 0) process.stdout.write('put\\n');
    }`;
  try {
    for (let round = 0; round < 6; round++) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
      // after the first committed row, kill at a different moment of the write loop each round
      let seen = '';
      await new Promise<void>((res) => child.stdout.on('data', (d: Buffer) => ((seen += d.toString()).includes('put') ? res() : undefined)));
      await new Promise((r) => setTimeout(r, 7 + 23 * round));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    assert.ok(existsSync(path));
    const store = SqliteStore.open(path);
    assert.equal(store.integrity(), 'ok');
    const rows = await store.query({ experiment: 'kill' });
    assert.ok(rows.length > 0, 'the writer wrote something before being killed');
    for (const r of rows) {
      assert.equal(Object.keys(r.scores).length, 40, r.id);
      assert.equal(Object.values(r.scores).reduce((a, b) => a + b, 0), 0, r.id);
      assert.equal(r.prompt.length, 2000);
    }
    assert.equal(new Set(rows.map((r) => r.id)).size, rows.length);
    // the store still takes writes after the kills (no stale lock left)
    assert.equal(await store.put(row('after', '0', 0, 1)), true);
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('store: a lock left by a killed process is cleared; a lock of a live process is waited for, not broken', async () => {
  const { mkdirSync, writeFileSync } = await import('node:fs');
  const dir = mkdtempSync(join(tmpdir(), 'w2sd-store-lock-'));
  try {
    const path = join(dir, 'r.sqlite');
    const first = SqliteStore.open(path);
    await first.put(row('cfg', '0', 0, 1));
    await first.close();
    // what SIGKILL inside a transaction leaves: the VFS's lock directory and the dead writer's registration
    mkdirSync(`${path}.lock`);
    writeFileSync(join(`${path}.users`, String(2 ** 22 + 11)), '');
    const s = SqliteStore.open(path);
    assert.equal(await s.put(row('cfg', '1', 0, 2)), true);
    assert.equal((await s.query()).length, 2);
    // a live holder: another process that takes the lock the way the VFS does, then lets it go
    const holder = spawn(
      process.execPath,
      ['-e', `const fs = require('fs'); fs.writeFileSync(${JSON.stringify(`${path}.users/`)} + process.pid, ''); fs.mkdirSync(${JSON.stringify(`${path}.lock`)}); console.log('held'); setTimeout(() => fs.rmdirSync(${JSON.stringify(`${path}.lock`)}), 400);`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((res) => holder.stdout.once('data', () => res()));
    const t0 = Date.now();
    assert.equal(await s.put(row('cfg', '2', 0, 3)), true);
    assert.ok(Date.now() - t0 >= 200, `the put waited for the live lock (${Date.now() - t0} ms)`);
    await new Promise((r) => holder.once('exit', r));
    await s.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
