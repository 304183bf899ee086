import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, total: number, label: string): void;
  stop(): void;
}

/**
 * A progress bar with ETA on stderr, for runs that take a while: shown only when stderr is a terminal (logs
 * and pipes stay clean) and only once the run has lasted a second.
 */
export function progressBar(title: string, enabled = process.stderr.isTTY === true): Progress {
  const t0 = Date.now();
  let bar: cliProgress.SingleBar | undefined;
  return {
    update(done, total, label) {
      if (!enabled) return;
      if (!bar && Date.now() - t0 > 1000) {
        bar = new cliProgress.SingleBar(
          { stream: process.stderr, format: `${title} [{bar}] {percentage}% | ETA {eta_formatted} | {label}`, hideCursor: true, clearOnComplete: true, etaBuffer: 20 },
          cliProgress.Presets.shades_classic,
        );
        bar.start(total, done, { label });
      }
      bar?.setTotal(total);
      bar?.update(done, { label });
    },
    stop: () => bar?.stop(),
  };
}
