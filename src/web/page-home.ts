import { showEnv } from './env.js';

const e = await showEnv();
const caps = document.getElementById('caps')!;
const rows: [string, string][] = [
  ['cross-origin isolated', e.isolated ? 'yes: threaded WebAssembly available' : 'no: single-threaded WebAssembly only'],
  ['CPU cores', String(e.cores)],
  ['WebGPU adapter', e.webgpu ? 'yes' : 'no (the pages use WebAssembly)'],
];
for (const [k, v] of rows) {
  const dt = document.createElement('dt');
  dt.textContent = k;
  const dd = document.createElement('dd');
  dd.textContent = v;
  caps.append(dt, dd);
}
