// Stable Diffusion (ONNX) text to image with W2SD pairs and baselines: Node only (ONNX Runtime, files).
export { generate, METHODS, type GenerateOptions, type GenerateProgress, type GenerateResult, type MethodName } from './txt2img.js';
export { baselineRows, baselineTable, type BaselineRow } from './baselines.js';
export { PAIR_PRESETS, PAPER_MAIN_GUIDANCE, equalComputeFor, legHalves, resolvePair, type PairPreset, type PairRequest, type PairLegs } from './presets.js';
export { buildLeg, type LegSpec, type BuiltLeg } from './legs.js';
export { encodePng } from './png.js';
export { readSdFolder, checkSdFiles, type SdFolder, type SdFamily } from '../models/sd/folder.js';
export { openSdModel, SdModel } from '../models/sd/model.js';
export { loadClipTokenizer, loadClipTokenizerFile } from '../models/tokenizer/load.js';
export { ClipTokenizer } from '../models/tokenizer/clip.js';
export { openSession, releaseAllSessions, OnnxSession } from '../models/onnx/session.js';
export { PROVIDERS, parseProvider, checkProvider, type ProviderName, type RuntimeOptions } from '../models/onnx/providers.js';
