#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerToy } from './toy.js';
import { registerLab } from './lab.js';
import { registerGenerate } from './generate.js';
import { registerStart } from './start.js';
import { installSignalHandlers } from './cancel.js';
import { registerExperiment } from './experiment.js';
import { registerReport } from './report.js';
import { registerScore } from './score.js';
import { registerLora } from './lora.js';
import { registerServe } from './serve.js';
import { registerWorker } from './worker.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command('w2sd')
  .description('Weak-to-Strong Diffusion with Reflection: sampling, controls and experiments')
  .version(pkg.version)
  .showHelpAfterError()
  .exitOverride();

registerToy(program);
registerLab(program);
registerGenerate(program);
registerStart(program);
registerExperiment(program);
registerReport(program);
registerScore(program);
registerLora(program);
registerServe(program);
registerWorker(program);

// Ctrl-C / SIGTERM: abort the run, remove what its output sets staged, leave with 130 / 143 (cancel.ts)
installSignalHandlers();

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // commander already printed its message (unknown option, missing argument, --help)
    process.exitCode = err.exitCode;
  } else {
    const message = err instanceof Error ? err.message : String(err);
    console.error(`w2sd: ${message}`);
    // machines reading --json get the failure as JSON too
    if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify({ error: message })}\n`);
    if (process.env.W2SD_DEBUG && err instanceof Error) console.error(err.stack);
    process.exitCode = 1;
  }
}
