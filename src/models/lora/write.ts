import { closeSync, existsSync, openSync, realpathSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import onnxProto from 'onnx-proto';
import type { OnnxWeights, TensorProto } from './onnx-weights.js';

const { onnx } = onnxProto;

function same(a: string, b: string): boolean {
  return existsSync(a) && existsSync(b) && realpathSync(a) === realpathSync(b);
}

/**
 * Writes the model with some initializers replaced, leaving the source untouched. A model with external data
 * gets its own data file beside the output (`<out>_data`, e.g. model.onnx → model.onnx_data, as optimum names
 * it), every external tensor copied one at a time. Both files are written under temporary names and renamed
 * only when complete, so an error leaves neither behind. `rewrite` may change the graph (nodes, inputs, small
 * added initializers) after the weights are in place.
 */
export function writeOnnxWithInitializers(
  weights: OnnxWeights,
  replaced: ReadonlyMap<string, Uint8Array>,
  out: string,
  rewrite?: (graph: onnxProto.onnx.IGraphProto) => onnxProto.onnx.IGraphProto,
): { model: string; data?: string } {
  const outPath = resolve(out);
  const graph = weights.model.graph!;
  const externals = (graph.initializer ?? []).filter((t) => weights.externalOf(t) !== undefined);
  const dataName = `${basename(outPath)}_data`;
  const dataPath = join(dirname(outPath), dataName);
  if (same(outPath, weights.path)) throw new Error(`output ${out} is the input model: the input is never modified, choose another path`);
  for (const t of externals) {
    if (same(dataPath, weights.externalOf(t)!.file)) throw new Error(`output ${out} would overwrite the input's external data ${dataPath}: choose another name or folder`);
  }
  const tag = `${process.pid}.${Date.now().toString(36)}.tmp`;
  const tmpModel = join(dirname(outPath), `.${basename(outPath)}.${tag}`);
  const tmpData = join(dirname(outPath), `.${dataName}.${tag}`);
  try {
    const initializer: TensorProto[] = [];
    let fd: number | undefined;
    let offset = 0;
    try {
      if (externals.length > 0) fd = openSync(tmpData, 'wx');
      for (const t of graph.initializer ?? []) {
        const patched = replaced.get(t.name!);
        if (weights.externalOf(t)) {
          const bytes = patched ?? weights.rawBytes(t.name!);
          writeSync(fd!, bytes, 0, bytes.length, offset);
          initializer.push({
            ...t,
            externalData: [
              { key: 'location', value: dataName },
              { key: 'offset', value: String(offset) },
              { key: 'length', value: String(bytes.length) },
            ],
          });
          offset += bytes.length;
        } else if (patched) {
          initializer.push({ ...t, rawData: patched, floatData: [], int32Data: [] });
        } else {
          initializer.push(t);
        }
      }
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    const g = { ...graph, initializer };
    const model = { ...weights.model, graph: rewrite ? rewrite(g) : g };
    const bytes = onnx.ModelProto.encode(model).finish();
    const mfd = openSync(tmpModel, 'wx');
    try {
      writeSync(mfd, bytes);
    } finally {
      closeSync(mfd);
    }
    if (externals.length > 0) renameSync(tmpData, dataPath);
    renameSync(tmpModel, outPath);
    return { model: outPath, data: externals.length > 0 ? dataPath : undefined };
  } catch (err) {
    rmSync(tmpModel, { force: true });
    rmSync(tmpData, { force: true });
    throw err;
  }
}
