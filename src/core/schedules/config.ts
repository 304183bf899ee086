/**
 * The fields of a diffusers `scheduler_config.json` that shape a schedule. Unknown keys are ignored (configs
 * carry `_class_name`, `_diffusers_version`, ...); absent keys take the defaults of the diffusers scheduler
 * class that reads them, which differ between classes (DDIM clips by default, Euler has no clip at all).
 */
export type BetaSchedule = 'linear' | 'scaled_linear' | 'squaredcos_cap_v2';
export type PredictionType = 'epsilon' | 'v_prediction' | 'sample';
export type TimestepSpacing = 'leading' | 'trailing' | 'linspace';

export interface SchedulerConfig {
  readonly numTrainTimesteps: number;
  readonly betaStart: number;
  readonly betaEnd: number;
  readonly betaSchedule: BetaSchedule;
  readonly trainedBetas?: readonly number[];
  readonly rescaleBetasZeroSnr: boolean;
  readonly predictionType: PredictionType;
  readonly timestepSpacing?: TimestepSpacing;
  readonly stepsOffset: number;
  readonly setAlphaToOne?: boolean;
  readonly clipSample?: boolean;
  readonly clipSampleRange: number;
  readonly thresholding: boolean;
  readonly dynamicThresholdingRatio: number;
  readonly sampleMaxValue: number;
  readonly useKarrasSigmas: boolean;
  readonly sigmaMin?: number;
  readonly sigmaMax?: number;
}

function field<T>(obj: Record<string, unknown>, key: string, source: string, check: (v: unknown) => v is T, expected: string): T | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (!check(v)) throw new Error(`${source}: "${key}" must be ${expected}, got ${JSON.stringify(v)}`);
  return v;
}

/** Largest num_train_timesteps accepted: far above any published model (1000), small enough to allocate. */
export const MAX_TRAIN_TIMESTEPS = 100_000;

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isBool = (v: unknown): v is boolean => typeof v === 'boolean';
const oneOf = <T extends string>(...names: T[]) => (v: unknown): v is T => typeof v === 'string' && (names as string[]).includes(v);

/** Fields that decide the noise schedule: a config without them runs on defaults the user should be told about. */
export const SCHEDULE_FIELDS = ['num_train_timesteps', 'beta_schedule', 'beta_start', 'beta_end'] as const;

/** The schedule-deciding fields absent from a config object, with the value the parser uses instead. */
export function defaultedScheduleFields(json: Record<string, unknown>, cfg: SchedulerConfig): { field: string; value: unknown }[] {
  const used: Record<(typeof SCHEDULE_FIELDS)[number], unknown> = {
    num_train_timesteps: cfg.numTrainTimesteps,
    beta_schedule: cfg.betaSchedule,
    beta_start: cfg.betaStart,
    beta_end: cfg.betaEnd,
  };
  return SCHEDULE_FIELDS.filter((f) => json[f] === undefined || json[f] === null).map((field) => ({ field, value: used[field] }));
}

/** Parse and validate a diffusers scheduler config (the JSON object, already parsed). */
export function parseSchedulerConfig(json: unknown, source = 'scheduler_config.json', classDefaults: Record<string, unknown> = {}): SchedulerConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new Error(`${source}: expected a JSON object`);
  }
  // a diffusers class's own defaults sit under the file's keys (Heun's betas differ from DDIM's, say)
  const o = { ...classDefaults, ...Object.fromEntries(Object.entries(json).filter(([, v]) => v !== null)) } as Record<string, unknown>;
  const num = (k: string) => field(o, k, source, isFiniteNumber, 'a finite number');
  const bool = (k: string) => field(o, k, source, isBool, 'true or false');
  const numTrainTimesteps = num('num_train_timesteps') ?? 1000;
  if (!Number.isInteger(numTrainTimesteps) || numTrainTimesteps < 2 || numTrainTimesteps > MAX_TRAIN_TIMESTEPS) {
    throw new Error(`${source}: "num_train_timesteps" must be an integer from 2 to ${MAX_TRAIN_TIMESTEPS}, got ${numTrainTimesteps}`);
  }
  const trainedBetas = field(o, 'trained_betas', source, (v): v is number[] => Array.isArray(v) && v.every((b) => isFiniteNumber(b) && b > 0 && b < 1), 'an array of numbers in (0, 1)');
  if (trainedBetas && trainedBetas.length !== numTrainTimesteps) {
    throw new Error(`${source}: "trained_betas" has ${trainedBetas.length} values, expected num_train_timesteps = ${numTrainTimesteps}`);
  }
  const stepsOffset = num('steps_offset') ?? 0;
  if (!Number.isInteger(stepsOffset) || stepsOffset < 0 || stepsOffset >= numTrainTimesteps) {
    throw new Error(`${source}: "steps_offset" must be an integer from 0 to num_train_timesteps − 1 = ${numTrainTimesteps - 1}, got ${stepsOffset}`);
  }
  const cfg: SchedulerConfig = {
    numTrainTimesteps,
    betaStart: num('beta_start') ?? 0.0001,
    betaEnd: num('beta_end') ?? 0.02,
    betaSchedule: field(o, 'beta_schedule', source, oneOf('linear', 'scaled_linear', 'squaredcos_cap_v2'), '"linear", "scaled_linear" or "squaredcos_cap_v2"') ?? 'linear',
    trainedBetas,
    rescaleBetasZeroSnr: bool('rescale_betas_zero_snr') ?? false,
    predictionType: field(o, 'prediction_type', source, oneOf('epsilon', 'v_prediction', 'sample'), '"epsilon", "v_prediction" or "sample"') ?? 'epsilon',
    timestepSpacing: field(o, 'timestep_spacing', source, oneOf('leading', 'trailing', 'linspace'), '"leading", "trailing" or "linspace"'),
    stepsOffset,
    setAlphaToOne: bool('set_alpha_to_one'),
    clipSample: bool('clip_sample'),
    clipSampleRange: num('clip_sample_range') ?? 1.0,
    thresholding: bool('thresholding') ?? false,
    dynamicThresholdingRatio: num('dynamic_thresholding_ratio') ?? 0.995,
    sampleMaxValue: num('sample_max_value') ?? 1.0,
    useKarrasSigmas: bool('use_karras_sigmas') ?? false,
    sigmaMin: num('sigma_min'),
    sigmaMax: num('sigma_max'),
  };
  if (cfg.betaStart <= 0 || cfg.betaEnd <= 0 || cfg.betaStart >= 1 || cfg.betaEnd >= 1) {
    throw new Error(`${source}: beta_start and beta_end must lie in (0, 1), got ${cfg.betaStart} and ${cfg.betaEnd}`);
  }
  // linear and scaled_linear interpolate from beta_start up to beta_end (squaredcos_cap_v2 and trained betas use neither)
  if (!trainedBetas && cfg.betaSchedule !== 'squaredcos_cap_v2' && !(cfg.betaStart < cfg.betaEnd)) {
    throw new Error(`${source}: beta_start (${cfg.betaStart}) must be less than beta_end (${cfg.betaEnd}) for the ${cfg.betaSchedule} schedule`);
  }
  if (!(cfg.clipSampleRange > 0)) throw new Error(`${source}: "clip_sample_range" must be > 0, got ${cfg.clipSampleRange}`);
  if (!(cfg.sampleMaxValue > 0)) throw new Error(`${source}: "sample_max_value" must be > 0, got ${cfg.sampleMaxValue}`);
  if (cfg.dynamicThresholdingRatio <= 0 || cfg.dynamicThresholdingRatio > 1) {
    throw new Error(`${source}: "dynamic_thresholding_ratio" must lie in (0, 1]`);
  }
  return cfg;
}
