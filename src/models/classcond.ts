import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseSchedulerConfig } from '../core/schedules/config.js';
import { checkSignature, makeClassCondModel, parseShippedConfig, type ClassCondModel, type ShippedConfig } from './classcond-core.js';
import type { SchedulerConfig } from '../core/schedules/config.js';
import { openSession, type OnnxSession } from './onnx/session.js';
import type { RuntimeOptions } from './onnx/providers.js';

export { checkSignature, makeClassCondModel, parseShippedConfig, type ClassCondModel, type ShippedConfig } from './classcond-core.js';

export interface LoadOptions extends RuntimeOptions {
  /** Name used in messages and tables; defaults to the folder name. */
  readonly name?: string;
}

/** Accepts the model folder or the path of its model.onnx. */
export async function loadClassCondModel(path: string, opts: LoadOptions = {}): Promise<ClassCondModel> {
  const f = await openShippedFolder(path, opts);
  return makeClassCondModel(f.name, f.dir, f.scheduler, f.config, f.session);
}

/** A shipped folder opened and its signature checked. */
export interface ShippedFolder {
  readonly name: string;
  readonly dir: string;
  readonly scheduler: SchedulerConfig;
  readonly config: ShippedConfig;
  readonly session: OnnxSession;
}

/** `extraInputs` are float32 [B] inputs beyond the usual three (a routed MoE's `route`). */
export async function openShippedFolder(path: string, opts: LoadOptions = {}, extraInputs: readonly string[] = []): Promise<ShippedFolder> {
  const dir = path.endsWith('.onnx') ? dirname(path) : path;
  const onnxPath = path.endsWith('.onnx') ? path : join(dir, 'model.onnx');
  const name = opts.name ?? basename(dir);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new Error(`shipped model ${name}: folder ${dir} not found`);
  const scheduler = parseSchedulerConfig(readJson(join(dir, 'scheduler_config.json'), name), join(dir, 'scheduler_config.json'));
  const config = parseShippedConfig(readJson(join(dir, 'config.json'), name), join(dir, 'config.json'));
  if (!existsSync(onnxPath)) throw new Error(`shipped model ${name}: ${onnxPath} not found`);
  let session: OnnxSession;
  try {
    session = await openSession(onnxPath, opts);
  } catch (err) {
    throw new Error(`shipped model ${name}: ${onnxPath} is not a loadable ONNX model (corrupt or truncated file?): ${(err as Error).message}`);
  }
  checkSignature(session, config, name, extraInputs);
  return { name, dir, scheduler, config, session };
}

function readJson(path: string, name: string): unknown {
  if (!existsSync(path)) throw new Error(`shipped model ${name}: ${path} not found (every model folder needs it; see models/README.md)`);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`shipped model ${name}: ${path} is not valid JSON: ${(err as Error).message}`);
  }
}
