import { writeFileSync, mkdirSync } from 'node:fs';
import { benchCore, printCore } from './core.js';

/*
 * `npm run bench`: measured numbers, printed as Markdown and saved as JSON under out/bench/. Each section
 * is optional at run time so a failure in one (e.g. a missing model folder) does not hide the others.
 */
type Section = { name: string; run: () => Promise<unknown> };

const sections: Section[] = [
  {
    name: 'core',
    run: async () => {
      const rows = await benchCore();
      printCore(rows);
      return rows;
    },
  },
];

async function optional(name: string, file: string, fn: string): Promise<void> {
  try {
    const mod = (await import(file)) as Record<string, (args?: string[]) => Promise<unknown>>;
    if (typeof mod[fn] === 'function') sections.push({ name, run: () => mod[fn](process.argv.slice(2)) });
  } catch (err) {
    console.error(`bench ${name}: not available (${(err as Error).message})`);
  }
}

await optional('toy', './toy.js', 'benchToy');
await optional('sd', './sd.js', 'benchSd');
await optional('mnist', './mnist.js', 'benchMnist');
await optional('eval', './eval.js', 'benchEval');
await optional('lora', './lora.js', 'benchLora');
await optional('scale', './scale.js', 'benchScale');
await optional('web', './web.js', 'benchWeb');

const results: Record<string, unknown> = { node: process.version, date: new Date().toISOString() };
for (const s of sections) {
  const t0 = performance.now();
  results[s.name] = await s.run();
  console.error(`bench ${s.name}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
mkdirSync('out/bench', { recursive: true });
writeFileSync('out/bench/results.json', JSON.stringify(results, null, 2));
console.log('\nJSON: out/bench/results.json');
