// Stable Diffusion (ONNX) text to image with W2SD pairs and baselines. `generate` reads and writes files
// (Node); `render` runs the same stages on any ModelHost (src/web/sd-host.ts is the browser's).
export { generate, METHODS, type GenerateOptions, type GenerateProgress, type GenerateResult, type MethodName } from './txt2img.js';
export { render, type Rendered } from './render.js';
export { nodeHost, nodeFiles } from '../models/node-host.js';
export type { ModelFiles, ModelHost } from '../models/host.js';
export { baselineRows, baselineTable, type BaselineRow } from './baselines.js';
export { REFLECTING } from './request.js';
export { PAIR_PRESETS, PAPER_MAIN_GUIDANCE, equalComputeFor, legHalves, resolvePair, type PairPreset, type PairRequest, type PairLegs } from './presets.js';
export { buildLeg, type LegSpec, type BuiltLeg } from './legs.js';
export { encodePng } from './png.js';
export { readSdFolder, checkSdFiles, type SdFolder, type SdFamily } from '../models/sd/folder.js';
export { openSdModel, SdModel } from '../models/sd/model.js';
export { loadClipTokenizer, loadClipTokenizerFile } from '../models/tokenizer/load.js';
export { ClipTokenizer } from '../models/tokenizer/clip.js';
export { openSession, releaseAllSessions, OnnxSession } from '../models/onnx/session.js';
export { PROVIDERS, parseProvider, checkProvider, type ProviderName, type RuntimeOptions } from '../models/onnx/providers.js';
export { PAPER_LORA_SCALES } from './presets.js';
export { loraModelFolder } from './lora.js';
export { mergeLoraIntoOnnx, writeRuntimeLoraModel, parseLoraSpec, type LoraSpec, type MergeOptions, type MergeResult, type RuntimeModelOptions } from '../models/lora/apply.js';
export { loraFolder, type LoraFolder, type LoraFolderMode } from '../models/lora/folder.js';
export { readLoraFile, COMPONENTS as LORA_COMPONENTS, type LoraFile, type LoraModule, type LoraComponent } from '../models/lora/keys.js';
export { matchLora, formatReport, type LoraMatch, type MatchReport } from '../models/lora/match.js';
export { loraScaleInput } from '../models/lora/runtime.js';
export { SafetensorsFile, SafetensorsError, type TensorInfo } from '../models/lora/safetensors.js';
