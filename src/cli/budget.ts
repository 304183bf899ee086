import { totalmem } from 'node:os';
import { OptionError, parseNumber } from './validate.js';

/**
 * Runs whose estimated need exceeds the machine are refused before they start, naming what drives the need
 * and the option that raises the limit. The estimates are deliberately simple formulas (documented in
 * docs/RELIABILITY.md); they are meant to catch a mistyped 1e9, not to predict a run to the byte.
 */
export interface Need {
  /** Estimated peak memory in bytes. */
  readonly memoryBytes: number;
  /** Estimated work in the command's own unit (absent: the command has no work limit). */
  readonly work?: number;
  /** The options the estimate grows with, e.g. `--samples 1000000000 × 3 models of 4 components`. */
  readonly drivers: string;
}

export interface Limits {
  readonly maxMemoryBytes: number;
  readonly maxWork?: number;
  readonly workUnit?: string;
}

const MiB = 1024 * 1024;

/** --max-memory: MiB, default three quarters of this machine's memory. */
export function maxMemoryOption(value: string | undefined): number {
  if (value === undefined) return Math.floor((totalmem() * 3) / 4);
  return parseNumber(value, '--max-memory', { min: 1 }) * MiB;
}

export function defaultMaxMemoryMiB(): number {
  return Math.floor((totalmem() * 3) / 4 / MiB);
}

const human = (bytes: number): string => {
  const [v, unit] = bytes >= 1024 * MiB ? [bytes / 1024 / MiB, 'GiB'] : [bytes / MiB, 'MiB'];
  return `${v >= 100 ? Math.round(v) : v.toPrecision(3)} ${unit}`;
};

export function checkBudget(need: Need, limits: Limits): void {
  if (!(need.memoryBytes <= limits.maxMemoryBytes)) {
    throw new OptionError(
      `this run needs about ${human(need.memoryBytes)} of memory (${need.drivers}), more than the limit of ${human(limits.maxMemoryBytes)}: ` +
        'lower the options named, or raise --max-memory <MiB> if the machine has it',
    );
  }
  if (limits.maxWork !== undefined && need.work !== undefined && !(need.work <= limits.maxWork)) {
    throw new OptionError(
      `this run's estimated work is ${need.work.toExponential(2)} ${limits.workUnit ?? 'units'} (${need.drivers}), more than the limit of ${limits.maxWork.toExponential(2)}: ` +
        'lower the options named, or raise --max-work if you mean to wait',
    );
  }
}
