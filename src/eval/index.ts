export { matMul, sqrtPsd, symmetricEigen, trace, type Eigen } from '../core/linalg.js';
export * from './linalg.js';
export * from './frechet.js';
export * from './precision-recall.js';
export * from './classes.js';
export * from './best-w.js';
