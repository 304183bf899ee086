import { join } from 'node:path';
import { runExperiment, type LabOptions } from '../lab/mnist/lab.js';
import { experimentMarkdown } from '../lab/mnist/report.js';
import { moeExperiment } from '../lab/moe/experiment.js';
import { runVideoLab } from '../lab/video/lab.js';
import { videoJson, videoMarkdown, writeVideoOutputs } from '../lab/video/report.js';

/** `w2sd lab moe` and `w2sd lab video`: the pairs whose models are not plain class-conditional images. */
export const EXTRA_LABS = ['moe', 'video'] as const;

/** Real test clips behind the video lab's frame-feature reference. */
export const VIDEO_REFERENCE_CLIPS = 1000;

/** `opts` are the parsed `w2sd lab` options (their log prints progress); `raw` the flags that shape the output. */
export async function extraLabAction(name: (typeof EXTRA_LABS)[number], opts: LabOptions, raw: { readonly json?: boolean; readonly results?: string }): Promise<void> {
  const say = opts.log;
  if (raw.results) throw new Error(`--results: only for the MNIST experiments; lab ${name} writes its section to ${join(opts.out, name)}/results.md`);
  if (name === 'moe') {
    const r = await runExperiment('moe', { ...opts, build: moeExperiment });
    process.stdout.write(raw.json ? JSON.stringify(r, null, 2) + '\n' : `\n${experimentMarkdown(r, 'moe/')}\nwrote ${join(opts.out, 'moe')}/\n`);
    return;
  }
  const res = await runVideoLab({
    ...(opts.modelsDir ? { modelsDir: opts.modelsDir } : {}),
    samples: opts.samples,
    batch: opts.batch,
    steps: opts.steps,
    seed: opts.seed,
    autoguidanceWeights: opts.settings.autoguidanceWeights,
    fixedPoint: opts.settings.fixedPoint,
    referenceClips: VIDEO_REFERENCE_CLIPS,
    ...(opts.threads ? { runtime: { threads: opts.threads } } : {}),
    ...(say ? { log: say } : {}),
  });
  const dir = join(opts.out, 'video');
  const files = writeVideoOutputs(res, dir);
  process.stdout.write(raw.json ? JSON.stringify(videoJson(res), null, 2) + '\n' : `\n${videoMarkdown(res)}\nwrote ${files.length} files in ${dir}/\n`);
}
