import { createHash } from 'node:crypto';

/*
 * The experiment data model: a config expands to items, one item (experiment, method, prompt id, seed) makes
 * one image and one result row. Workers elsewhere (a queue, another machine) build on exactly these types, so
 * they change only additively; /work/notes/eval-interface.md and docs/EVAL.md describe them.
 */

/** Generation settings of one method row: a subset of `generate`'s options (model folders as given in the config). */
export interface MethodSettings {
  /** `generate`'s method: cfg, plain, w2sd, s2wd, self-reflection, autoguidance. */
  readonly method: string;
  /** Main model folder (filled in by the config). */
  readonly model?: string;
  readonly negativePrompt?: string;
  readonly pair?: string;
  /** Main leg's CFG scale; "matched" = the first-order matched scale of `matchedTo` (see matching.ts). */
  readonly guidance?: number;
  readonly strongGuidance?: number;
  readonly weakGuidance?: number;
  readonly strongModel?: string;
  readonly weakModel?: string;
  readonly lambda?: number;
  readonly inversion?: string;
  readonly repeats?: number;
  readonly equalCompute?: boolean;
  readonly autoguidanceWeight?: number;
  /** Overrides of the experiment-wide values. */
  readonly steps?: number;
  readonly sampler?: string;
}

/** A method as written in the config: a unique label and its settings (guidance may be "matched"). */
export interface MethodSpec extends Omit<MethodSettings, 'guidance'> {
  /** Row label, unique in the experiment: [A-Za-z0-9._-]{1,64}. */
  readonly name: string;
  readonly guidance?: number | 'matched';
  /** With guidance "matched": the label of the reflection method whose effective scale this CFG row matches. */
  readonly matchedTo?: string;
  /** For reports: this row is a baseline (W2SD rows are compared against every baseline). */
  readonly baseline?: boolean;
}

export const PROMPT_SETS = ['pick-a-pic', 'drawbench', 'file', 'list'] as const;
export type PromptSetName = (typeof PROMPT_SETS)[number];

export interface PromptSetSpec {
  readonly set: PromptSetName;
  /** set "file": a CSV with header `id,prompt` (id optional: row index). Relative to the config file. */
  readonly file?: string;
  /** set "list": the prompts themselves (ids are their indices). */
  readonly list?: readonly string[];
  /** Take the first `limit` prompts (Pick-a-Pic: 100 in the paper). */
  readonly limit?: number;
}

export const SCORER_KINDS = ['clipscore', 'pickscore', 'hpsv2', 'aesthetic', 'clip-i', 'dino'] as const;
export type ScorerKind = (typeof SCORER_KINDS)[number];

export interface ScorerSpec {
  /** Column name in the row's scores: [A-Za-z0-9._-]{1,64}. */
  readonly name: string;
  readonly kind: ScorerKind;
  /** Model folder (optimum CLIP layout); relative to the config file. */
  readonly path: string;
  /** aesthetic: the MLP head ONNX file (default PATH/aesthetic.onnx). */
  readonly head?: string;
  /** clip-i, dino: folder of the subject's reference images; relative to the config file. */
  readonly references?: string;
}

/** `w2sd experiment CONFIG`: a JSON file. Paths are relative to the config file's folder. */
export interface ExperimentConfig {
  /** Experiment id: [A-Za-z0-9._-]{1,64}. */
  readonly experiment: string;
  /** Main (and strong unless a method says otherwise) model folder. */
  readonly model: string;
  /** Default weak model folder of the methods (weights / cumulative pairs, autoguidance). */
  readonly weakModel?: string;
  readonly prompts: PromptSetSpec;
  /** Seeds per prompt, or "index": seed = prompt index (Pick-a-Pic convention). */
  readonly seeds: readonly number[] | 'index';
  readonly steps: number;
  readonly width?: number;
  readonly height?: number;
  readonly sampler?: string;
  readonly negativePrompt?: string;
  readonly methods: readonly MethodSpec[];
  readonly scorers: readonly ScorerSpec[];
  /** Output folder: images/ and results.sqlite. Default: runs/<experiment> beside the config. */
  readonly out?: string;
  /** ONNX Runtime threads (default: all cores). */
  readonly threads?: number;
}

/** One unit of work: what a queue job carries. */
export interface ExperimentItem {
  /** itemId(experiment, method, promptId, seed). */
  readonly id: string;
  readonly experiment: string;
  readonly method: string;
  readonly promptId: string;
  readonly prompt: string;
  readonly seed: number;
}

/** One row per image: the item and what came of it. */
export interface ResultRow extends ExperimentItem {
  /** Resolved settings the image was made with (matched guidance already a number, steps and size filled in). */
  readonly settings: MethodSettings & { readonly steps: number; readonly width: number; readonly height: number };
  /** Model evaluations counted at the denoiser (a CFG batch is one). */
  readonly nfe: number;
  /** Wall time of generation + scoring, milliseconds. */
  readonly wallMs: number;
  /** The PNG (with its generation parameters), relative to the experiment's output folder. */
  readonly image: string;
  readonly scores: Readonly<Record<string, number>>;
  /** ISO 8601 time the row was written. */
  readonly createdAt: string;
}

export interface RowFilter {
  readonly experiment?: string;
  readonly method?: string;
  readonly promptId?: string;
}

/**
 * Where rows go. `put` is idempotent by id: the first row of an id wins and a second put of the same id
 * returns false without changing it, so a retried job never duplicates a row. Each put is one transaction:
 * a process killed at any moment leaves the row either complete or absent.
 */
export interface ResultStore {
  put(row: ResultRow): Promise<boolean>;
  has(id: string): Promise<boolean>;
  get(id: string): Promise<ResultRow | undefined>;
  /** Rows matching every given field, ordered by experiment, method, prompt id (numeric when numeric), seed. */
  query(filter?: RowFilter): Promise<ResultRow[]>;
  close(): Promise<void>;
}

/** Stable id of an item: sha256 over the canonical key, 32 hex digits. */
export function itemId(experiment: string, method: string, promptId: string, seed: number): string {
  return createHash('sha256').update(JSON.stringify([experiment, method, promptId, seed])).digest('hex').slice(0, 32);
}

export const LABEL = /^[A-Za-z0-9._-]{1,64}$/;
