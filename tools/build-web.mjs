// Bundles the web app (src/web) into dist/web with esbuild: page scripts and workers as ES modules,
// the HTML and CSS beside them, and onnxruntime-web's WebAssembly files copied from node_modules, so the
// server needs nothing from anywhere else (no CDN).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src', 'web');
const out = join(root, 'dist', 'web');

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'ort'), { recursive: true });

const entries = readdirSync(src).filter((f) => /^(page|worker)-[a-z0-9-]+\.ts$/.test(f)).map((f) => join(src, f));
await build({
  entryPoints: entries,
  outdir: out,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  // each onnxruntime-web build (src/web/ort-web.ts) becomes a chunk loaded only by the provider that needs it
  splitting: true,
  // onnxruntime-web then loads its .wasm and .mjs from env.wasm.wasmPaths (our /ort/) instead of inlining them
  conditions: ['onnxruntime-web-use-extern-wasm'],
  logLevel: 'warning',
});

for (const f of readdirSync(src)) if (/\.(html|css|svg)$/.test(f)) copyFileSync(join(src, f), join(out, f));

// The plain build runs the WebAssembly execution provider, the JSEP build WebGPU (src/web/ort-web.ts says why).
const ort = join(root, 'node_modules', 'onnxruntime-web', 'dist');
for (const build of ['ort-wasm-simd-threaded', 'ort-wasm-simd-threaded.jsep']) {
  for (const ext of ['mjs', 'wasm']) copyFileSync(join(ort, `${build}.${ext}`), join(out, 'ort', `${build}.${ext}`));
}
