import { existsSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ModelFiles, ModelHost } from './host.js';
import { readInitializer } from './onnx/initializers.js';
import { openSession } from './onnx/session.js';

export const nodeFiles: ModelFiles = {
  join,
  resolve,
  realpath: realpathSync,
  exists: existsSync,
  isFile: (p) => existsSync(p) && statSync(p).isFile(),
  isDirectory: (p) => existsSync(p) && statSync(p).isDirectory(),
  readText: (p) => readFileSync(p, 'utf8'),
};

/** The file system and onnxruntime-node. */
export const nodeHost: ModelHost = { files: nodeFiles, openSession, readInitializer };
