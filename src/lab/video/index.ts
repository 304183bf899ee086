// The video lab as a library (Node: ONNX Runtime and the MNIST files).
export { runVideoLab, checkVideoOptions, VIDEO_MODELS, type VideoLabOptions, type VideoLabResult, type VideoRow } from './lab.js';
export { movingMnist, bounce, CLIP_FRAMES, CLIP_SIDE, type ClipSet } from './clips.js';
export { clipFeatures, clipMetrics, type ClipMetrics } from './metrics.js';
export { centreOfMass, classifierFrame } from './frames.js';
export { clipGridGif } from './gif.js';
export { videoJson, videoMarkdown, videoTable, writeVideoOutputs } from './report.js';
