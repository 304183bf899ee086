export * from './dataset.js';
export * from './idx.js';
export * from './mnist.js';
export * from './fashion.js';
