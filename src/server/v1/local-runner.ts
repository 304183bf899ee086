import type { JobHandler } from '../../jobs/handlers.js';
import type { JobData } from '../../jobs/payload.js';
import type { JobStore } from '../../jobs/store.js';

export type LocalState = 'waiting' | 'active' | 'failed';

/**
 * Runs jobs in the server process when no queue is configured: at most `concurrency` at once and at most
 * `maxPending` waiting (beyond that the API answers 503), results into the same store the workers use.
 * Finished jobs are read from the store, failed ones keep their error here (until the server restarts).
 */
export class LocalRunner {
  private readonly states = new Map<string, { state: LocalState; error?: string }>();
  private readonly waiting: { id: string; data: JobData }[] = [];
  private active = 0;
  private readonly abort = new AbortController();

  constructor(
    private readonly store: JobStore,
    private readonly handler: JobHandler,
    readonly concurrency: number,
    readonly maxPending: number,
  ) {}

  state(id: string): { state: LocalState; error?: string } | undefined {
    return this.states.get(id);
  }

  /** false: too many jobs waiting. A job already known (waiting, running) is not added twice. */
  add(id: string, data: JobData): boolean {
    const known = this.states.get(id);
    if (known && known.state !== 'failed') return true;
    if (this.waiting.length >= this.maxPending) return false;
    this.states.set(id, { state: 'waiting' });
    this.waiting.push({ id, data });
    this.pump();
    return true;
  }

  private pump(): void {
    while (this.active < this.concurrency && this.waiting.length > 0) {
      const { id, data } = this.waiting.shift()!;
      this.active++;
      this.states.set(id, { state: 'active' });
      void this.run(id, data).finally(() => {
        this.active--;
        this.pump();
      });
    }
  }

  private async run(id: string, data: JobData): Promise<void> {
    try {
      const out = await this.handler(data, { id, signal: this.abort.signal, runtime: {} });
      this.store.commit({ id, kind: data.kind, result: out.result, attempt: 1 }, out.images);
      this.states.delete(id);
    } catch (err) {
      this.states.set(id, { state: 'failed', error: err instanceof Error ? err.message : String(err) });
    }
  }

  /** Aborts running jobs (their outputs are all-or-nothing) and drops the waiting ones. */
  close(): void {
    this.waiting.length = 0;
    this.abort.abort(new Error('server closing'));
  }
}
