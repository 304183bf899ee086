import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { buildApp, defaultWebRoot, type AppPlugin } from '../server/app.js';
import { defaultModelsDir } from '../lab/mnist/models.js';
import { parseNumber } from './validate.js';
import { addApiOptions, apiPlugin, parseApiOptions, type RawApiOptions } from './serve-api.js';

interface RawOptions {
  port: string;
  host: string;
  models?: string;
}

export interface ServeOptions {
  readonly port: number;
  readonly host: string;
  readonly sdModelsDir?: string;
  readonly plugins?: readonly AppPlugin[];
}

/** Checks every option before anything starts; the message names the option and what it accepts. */
export function parseServeOptions(raw: RawOptions): ServeOptions {
  const port = parseNumber(raw.port, '--port');
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port: expected an integer 0..65535 (0 = any free port), got ${raw.port}`);
  const host = raw.host.trim();
  if (host === '' || /[\s/]/.test(host)) throw new Error(`--host: expected a host name or IP address, got ${JSON.stringify(raw.host)}`);
  let sdModelsDir: string | undefined;
  if (raw.models !== undefined) {
    sdModelsDir = resolve(raw.models);
    if (!existsSync(sdModelsDir) || !statSync(sdModelsDir).isDirectory()) throw new Error(`--models: ${raw.models} is not a folder`);
  }
  return { port, host, sdModelsDir };
}

/** Starts the server; resolves with its URL once it listens. */
export async function serve(o: ServeOptions): Promise<{ url: string; close(): Promise<void> }> {
  const app = await buildApp({ webRoot: defaultWebRoot(), modelsDir: defaultModelsDir(), sdModelsDir: o.sdModelsDir, plugins: o.plugins });
  await app.listen({ port: o.port, host: o.host });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return { url: `http://${host}:${port}/`, close: () => app.close() };
}

export function registerServe(program: Command): Command {
  const command = program
    .command('serve')
    .description('Serve the web app (exact lab, small models, Stable Diffusion) with cross-origin isolation; run npm run build first')
    .option('--port <n>', 'port (0 = any free port)', '8080')
    .option('--host <h>', 'interface to bind; 127.0.0.1 keeps it on this machine', '127.0.0.1')
    .option('--models <dir>', 'folder of Stable Diffusion (optimum ONNX) model folders, listed on the SD page and exposed read-only at /sd-models/')
    .action(async (raw: RawOptions & RawApiOptions) => {
      const o = parseServeOptions(raw);
      const server = await serve({ ...o, plugins: [apiPlugin(parseApiOptions(raw, o.sdModelsDir))] });
      process.stdout.write(`w2sd web app at ${server.url} (Ctrl-C stops it)\n`);
      if (o.sdModelsDir) process.stdout.write(`Stable Diffusion page: ${server.url}sd.html (folders of ${o.sdModelsDir})\n`);
    });
  return addApiOptions(command);
}
