// The library: the pure core (runs in Node and browsers) and the analytic mixtures. Node-only backends
// (ONNX Runtime, model folders, data loaders) are imported from their own modules.
export * from './core/index.js';
export { GaussianMixture, gmmDenoiser } from './models/gmm.js';
export type { MixtureSpec, ComponentSpec, MixtureTriple } from './models/gmm-spec.js';
export { parseMixtureFile, validateMixture } from './models/gmm-spec.js';
export { toyMixtures } from './models/gmm-toys.js';
