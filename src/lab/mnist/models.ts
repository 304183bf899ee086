import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadClassCondModel, type ClassCondModel } from '../../models/classcond.js';
import { loadClassifier, type Classifier } from '../../eval/classifier.js';
import type { RuntimeOptions } from '../../models/onnx/providers.js';

import { MODEL_NAMES } from './model-names.js';

export { MODEL_NAMES };

/** The project folder (the one whose package.json is w2sd's), found from this file so it works from dist/. */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'w2sd') return dir;
      } catch {
        // an unreadable package.json higher up is not ours; keep walking
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the w2sd project folder (package.json) above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

export function defaultModelsDir(): string {
  return join(projectRoot(), 'models');
}

/** Loads models by name from one folder, sharing sessions; a missing folder names the file that says how to make it. */
export class ModelShelf {
  private readonly models = new Map<string, Promise<ClassCondModel>>();
  private classifierPromise?: Promise<Classifier>;
  readonly dir: string;

  constructor(dir: string = defaultModelsDir(), private readonly runtime: RuntimeOptions = {}) {
    this.dir = resolve(dir);
  }

  model(name: string): Promise<ClassCondModel> {
    let p = this.models.get(name);
    if (!p) {
      const folder = join(this.dir, name);
      if (!existsSync(folder)) {
        return Promise.reject(
          new Error(`model ${name}: ${folder} not found; the shipped models live in models/ (see models/README.md; pass --models DIR for another folder)`),
        );
      }
      p = loadClassCondModel(folder, { ...this.runtime, name });
      this.models.set(name, p);
    }
    return p;
  }

  classifier(name: string = MODEL_NAMES.classifier): Promise<Classifier> {
    if (!this.classifierPromise) {
      const folder = join(this.dir, name);
      if (!existsSync(folder)) return Promise.reject(new Error(`classifier ${name}: ${folder} not found (see models/README.md)`));
      this.classifierPromise = loadClassifier(folder, this.runtime);
    }
    return this.classifierPromise;
  }
}
