// The exact MoE and sequence labs as a library (Node: the writers use node:fs).
export { runExactLab, type ExactLabOptions, type ExactLabResult, type ExactRow } from './lab.js';
export { EXACT_PRESETS, exactProblem, moeExperts, sequenceSpec, type ExactPresetName, type ExactProblem } from './presets.js';
export { temporalMetrics, expectedRoughness, type TemporalMetrics } from './temporal.js';
export { exactJson, exactMarkdown, exactTable, writeExactOutputs } from './report.js';
