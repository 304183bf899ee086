// The library: the pure core (runs in Node and browsers) and the analytic mixtures. Node-only backends
// (ONNX Runtime, model folders, data loaders) are imported from their own modules.
export * from './core/index.js';
export { GaussianMixture, gmmDenoiser } from './models/gmm.js';
export type { MixtureSpec, ComponentSpec, MixtureTriple } from './models/gmm-spec.js';
export { parseMixtureFile, validateMixture } from './models/gmm-spec.js';
export { toyMixtures } from './models/gmm-toys.js';
export { veDenoiser } from './models/gmm.js';
export { MixtureOfExperts, type ExpertSpec, type Routing } from './models/gmm-moe.js';
export { sequenceMixture, frameMarginal, type SequenceSpec, type TrajectorySpec, type ClipShape } from './models/gmm-sequence.js';
