import { parseSchedulerConfig } from '../core/schedules/config.js';
import { checkSignature, makeClassCondModel, parseShippedConfig, type ClassCondModel } from '../models/classcond-core.js';
import { makeClassifier, type Classifier } from '../eval/classifier-core.js';
import { argmaxRows } from '../eval/classes.js';
import { COMPARE_PAIRS, checkCompareOptions, compareRows, compareSettings, medianCallMs } from '../lab/mnist/compare.js';
import { MODEL_NAMES } from '../lab/mnist/model-names.js';
import { runRow } from '../lab/mnist/run.js';
import type { MnistRequest, MnistResult, MnistRow } from './mnist-protocol.js';
import { fetchBytes, fetchJson, WebSession, type WebRuntime } from './ort-web.js';
import { steadyCallMs } from './steady.js';
import { serveJobs } from './ui.js';

const MODELS = '/models';

async function loadModel(name: string, rt: WebRuntime): Promise<{ model: ClassCondModel; session: WebSession }> {
  const dir = `${MODELS}/${name}`;
  const scheduler = parseSchedulerConfig(await fetchJson(`${dir}/scheduler_config.json`), `${dir}/scheduler_config.json`);
  const config = parseShippedConfig(await fetchJson(`${dir}/config.json`), `${dir}/config.json`);
  const session = await WebSession.create(`${dir}/model.onnx`, await fetchBytes(`${dir}/model.onnx`), rt);
  checkSignature(session, config, name);
  return { model: makeClassCondModel(name, dir, scheduler, config, session), session };
}

async function loadClassifier(rt: WebRuntime): Promise<Classifier> {
  const dir = `${MODELS}/${MODEL_NAMES.classifier}`;
  const session = await WebSession.create(`${dir}/model.onnx`, await fetchBytes(`${dir}/model.onnx`), rt);
  return makeClassifier(MODEL_NAMES.classifier, session, (await fetchJson(`${dir}/config.json`)) as Record<string, unknown>);
}

serveJobs<MnistRequest, MnistResult>(async (q, progress) => {
  checkCompareOptions(q.options);
  const pair = COMPARE_PAIRS[q.pair];
  if (!pair) throw new Error(`pair: expected one of ${Object.keys(COMPARE_PAIRS).join(', ')}, got ${JSON.stringify(q.pair)}`);
  const rt: WebRuntime = { provider: q.provider, threads: q.threads };
  if (q.timeOnly) {
    const { model } = await loadModel(pair.strong, rt);
    return { result: { title: pair.title, provider: q.provider, threads: q.threads, rows: [], callMs: await steadyCallMs(model, q.options.batch) } };
  }
  progress(0, 1, `loading ${pair.strong}, ${pair.weak} and the classifier (${q.provider}, ${q.threads} threads)`);
  const [strong, weak, classifier] = await Promise.all([loadModel(pair.strong, rt), loadModel(pair.weak, rt), loadClassifier(rt)]);
  const rows = compareRows(strong.model, weak.model, q.options);
  // live progress in network calls: each row's expected NFE per batch, times its batches
  const batches = Math.ceil(q.options.count / q.options.batch);
  const total = rows.reduce((s, r) => s + r.build({ labels: new Int32Array(1), leg: () => () => Promise.reject(new Error('unused')) }).nfe(r.stepsFor ? r.stepsFor(q.options.steps) : q.options.steps), 0) * batches;
  let calls = 0;
  let label = '';
  const tick = () => progress(++calls, Math.max(total, calls), label);
  strong.session.onRun = tick;
  weak.session.onRun = tick;
  const out: MnistRow[] = [];
  for (const row of rows) {
    label = row.name;
    const s = await runRow(row, compareSettings(strong.model, q.options));
    const { logits } = await classifier.classify(s.images, s.count);
    out.push({ id: row.id, name: row.name, nfe: s.nfe, networkPerImage: s.networkPerImage, seconds: s.seconds, images: s.images, labels: s.labels, predicted: argmaxRows(logits, classifier.classes) });
  }
  strong.session.onRun = undefined;
  weak.session.onRun = undefined;
  const callMs = await medianCallMs(strong.model, q.options.batch);
  return {
    result: { title: pair.title, provider: q.provider, threads: q.threads, rows: out, callMs },
    transfer: out.flatMap((r) => [r.images.buffer as ArrayBuffer]),
  };
});
