import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { openSession, type OnnxSession } from '../models/onnx/session.js';
import type { RuntimeOptions } from '../models/onnx/providers.js';
import { makeClassifier, type Classifier } from './classifier-core.js';

export { makeClassifier, type Classifier } from './classifier-core.js';

/** Loads the classifier folder (model.onnx, optional config.json) with onnxruntime-node. */
export async function loadClassifier(dir: string, opts: RuntimeOptions = {}): Promise<Classifier> {
  const name = basename(dir);
  const path = join(dir, 'model.onnx');
  if (!existsSync(path)) throw new Error(`classifier ${name}: ${path} not found`);
  let session: OnnxSession;
  try {
    session = await openSession(path, opts);
  } catch (err) {
    throw new Error(`classifier ${name}: ${path} is not a loadable ONNX model: ${(err as Error).message}`);
  }
  const configPath = join(dir, 'config.json');
  const config = existsSync(configPath) ? (JSON.parse(readFileSync(configPath, 'utf8')) as Record<string, unknown>) : {};
  return makeClassifier(name, session, config);
}
