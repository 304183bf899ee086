import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The layers depend one way (cli → pipelines / lab → models → core), so no module may reach itself through
 * its imports. Walks the relative `import … from './x.js'` edges of the TypeScript sources, type-only imports
 * included (a type cycle is still a layering knot, and madge-style checkers report it), and reports every cycle.
 */
const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** Relative static imports and re-exports of one module, as the .ts files they name. */
export function importsOf(file: string, text = readFileSync(file, 'utf8')): string[] {
  const out: string[] = [];
  const re = /^\s*(?:import|export)\s[^;]*?from\s+['"](\.{1,2}\/[^'"]+)['"]|^\s*import\s+['"](\.{1,2}\/[^'"]+)['"]/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) out.push(resolve(dirname(file), (m[1] ?? m[2]).replace(/\.js$/, '.ts')));
  return out;
}

/** Every elementary cycle reachable by depth-first search, each as a list of files (first = last). */
export function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): void => {
    state.set(n, 'open');
    stack.push(n);
    for (const m of graph.get(n) ?? []) {
      if (state.get(m) === 'open') cycles.push([...stack.slice(stack.indexOf(m)), m]);
      else if (!state.has(m)) visit(m);
    }
    stack.pop();
    state.set(n, 'done');
  };
  for (const n of graph.keys()) if (!state.has(n)) visit(n);
  return cycles;
}

test('the cycle finder sees a three-module cycle and ignores a diamond', () => {
  const g = new Map([
    ['a', ['b', 'c']],
    ['b', ['d']],
    ['c', ['d']],
    ['d', []],
    ['x', ['y']],
    ['y', ['z']],
    ['z', ['x']],
  ]);
  assert.deepEqual(findCycles(g), [['x', 'y', 'z', 'x']]);
  assert.deepEqual(importsOf('/r/a/b.ts', "import type { q } from '../c/d.js';\nexport * from './e.js';\nimport './side.js';\nimport x from 'pkg';"), ['/r/c/d.ts', '/r/a/e.ts', '/r/a/side.ts']);
});

test('src/ has no import cycles', () => {
  const files = tsFiles(SRC);
  const graph = new Map(files.map((f) => [f, importsOf(f)]));
  const cycles = findCycles(graph).map((c) => c.map((f) => relative(SRC, f)).join(' → '));
  assert.deepEqual(cycles, []);
});
