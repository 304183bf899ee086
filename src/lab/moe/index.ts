// The DiT-MoE pair as a library: the experiment runs through src/lab/mnist's runner (runExperiment with build).
export { moeExperiment, MOE_MODEL } from './experiment.js';
export { loadRoutedPair, ROUTE_TOP, ROUTE_BOTTOM, type RoutedPair } from '../../models/routed.js';
export { loadClipModel, type ClipModel } from '../../models/clip-model.js';
