import { INVERSIONS, SAMPLERS, type InversionKind } from '../../core/index.js';
import { JOB_ID_PATTERN } from '../../jobs/job-id.js';
import { PAIR_PRESETS } from '../../pipelines/presets.js';
import { METHODS } from '../../pipelines/txt2img.js';

/** A model is named by its folder under the server's --models folder: no separators, no leading dot. */
export const MODEL_NAME = '^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$';
const text = (max: number) => ({ type: 'string', maxLength: max });
const int = (minimum: number, maximum: number) => ({ type: 'integer', minimum, maximum });
const num = (minimum: number, maximum: number) => ({ type: 'number', minimum, maximum });

/**
 * POST /v1/generate: the options of `w2sd generate` with the CLI's allowed values, every size bounded.
 * No paths: models are names resolved inside the server's models folder, outputs are named by the server.
 */
export const GENERATE_BODY = {
  type: 'object',
  additionalProperties: false,
  required: ['model', 'prompt'],
  properties: {
    model: { type: 'string', pattern: MODEL_NAME },
    prompt: text(2000),
    negative: text(2000),
    width: int(8, 2048),
    height: int(8, 2048),
    steps: int(1, 1000),
    seed: int(0, Number.MAX_SAFE_INTEGER),
    batch: int(1, 8),
    guidance: num(-100, 100),
    sampler: { enum: [...SAMPLERS] },
    eta: num(0, 1),
    method: { enum: [...METHODS] },
    pair: { enum: [...PAIR_PRESETS] },
    strongModel: { type: 'string', pattern: MODEL_NAME },
    weakModel: { type: 'string', pattern: MODEL_NAME },
    weakPrompt: text(2000),
    strongGuidance: num(-100, 100),
    weakGuidance: num(-100, 100),
    lambda: int(0, 999),
    inversion: { enum: [...INVERSIONS] },
    equalCompute: { type: 'boolean' },
    agWeight: num(-100, 100),
  },
} as const;

export interface GenerateBody {
  model: string;
  prompt: string;
  negative?: string;
  width?: number;
  height?: number;
  steps?: number;
  seed?: number;
  batch?: number;
  guidance?: number;
  sampler?: (typeof SAMPLERS)[number];
  eta?: number;
  method?: (typeof METHODS)[number];
  pair?: (typeof PAIR_PRESETS)[number];
  strongModel?: string;
  weakModel?: string;
  weakPrompt?: string;
  strongGuidance?: number;
  weakGuidance?: number;
  lambda?: number;
  inversion?: InversionKind;
  equalCompute?: boolean;
  agWeight?: number;
}

export const JOB_PARAMS = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: { type: 'string', pattern: JOB_ID_PATTERN } },
} as const;

/** `<job id>-<n>` with an optional `.png`: nothing else can name a file. */
export const IMAGE_PARAMS = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: { type: 'string', pattern: '^[a-z]{1,8}-[0-9a-f]{32}-[0-9]{1,4}(\\.png)?$' } },
} as const;
