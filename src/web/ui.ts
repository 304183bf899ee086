/** Small DOM helpers shared by the pages. */
export function $(id: string): HTMLElement {
  const e = document.getElementById(id);
  if (!e) throw new Error(`page is missing #${id}`);
  return e;
}

export function input(id: string): HTMLInputElement {
  return $(id) as HTMLInputElement;
}

export function select(id: string): HTMLSelectElement {
  return $(id) as HTMLSelectElement;
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, children: (Node | string)[] = []): HTMLElementTagNameMap[K] {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
}

export function fillSelect(s: HTMLSelectElement, values: readonly string[], chosen?: string): void {
  s.replaceChildren(...values.map((v) => el('option', { value: v, textContent: v, selected: v === chosen })));
}

/** An RGBA buffer as a canvas element (device pixels = data pixels; CSS scales it). */
export function rgbaCanvas(width: number, height: number, rgba: Uint8Array | Uint8ClampedArray): HTMLCanvasElement {
  const c = el('canvas', { width, height });
  const ctx = c.getContext('2d')!;
  const img = ctx.createImageData(width, height);
  img.data.set(rgba);
  ctx.putImageData(img, 0, 0);
  return c;
}

/** Strict number from a form field: the whole text must be a finite number, else the message names the field. */
export function numberField(id: string, label: string, opts: { integer?: boolean; min?: number; max?: number; optional?: boolean } = {}): number | undefined {
  const raw = input(id).value.trim();
  if (raw === '' && opts.optional) return undefined;
  const v = raw === '' ? NaN : Number(raw);
  if (!Number.isFinite(v)) throw new Error(`${label}: expected a finite number, got ${JSON.stringify(raw)}`);
  if (opts.integer && !Number.isInteger(v)) throw new Error(`${label}: expected an integer, got ${raw}`);
  if (opts.min !== undefined && v < opts.min) throw new Error(`${label}: must be ≥ ${opts.min}, got ${raw}`);
  if (opts.max !== undefined && v > opts.max) throw new Error(`${label}: must be ≤ ${opts.max}, got ${raw}`);
  return v;
}

/** Worker messages every page's job uses. */
export type JobMessage<R> =
  | { readonly type: 'progress'; readonly done: number; readonly total: number; readonly label: string }
  | { readonly type: 'done'; readonly result: R }
  | { readonly type: 'error'; readonly message: string };

/**
 * Runs one job in a fresh module worker with a progress bar and a cancel button; cancelling terminates the
 * worker (the samplers are synchronous inside, so there is nothing to interrupt more gently).
 */
export class JobRunner<Q, R> {
  private worker?: Worker;

  constructor(
    private readonly script: string,
    private readonly ui: { bar: HTMLProgressElement; status: HTMLElement; run: HTMLButtonElement; cancel: HTMLButtonElement; error: HTMLElement },
  ) {
    ui.cancel.disabled = true;
    ui.cancel.addEventListener('click', () => this.cancel());
  }

  get busy(): boolean {
    return this.worker !== undefined;
  }

  run(request: Q, transfer: Transferable[] = []): Promise<R | undefined> {
    this.cancel();
    const { bar, status, run, cancel, error } = this.ui;
    error.textContent = '';
    bar.value = 0;
    status.textContent = 'starting…';
    run.disabled = true;
    cancel.disabled = false;
    const worker = new Worker(new URL(this.script, import.meta.url), { type: 'module' });
    this.worker = worker;
    return new Promise((resolve) => {
      this.settle = resolve as (r: unknown) => void;
      worker.onmessage = (e: MessageEvent<JobMessage<R>>) => {
        const m = e.data;
        if (m.type === 'progress') {
          bar.max = m.total;
          bar.value = m.done;
          status.textContent = `${m.done} / ${m.total} · ${m.label}`;
        } else {
          this.finish();
          if (m.type === 'error') {
            error.textContent = m.message;
            status.textContent = 'failed';
            resolve(undefined);
          } else {
            bar.value = bar.max;
            resolve(m.result);
          }
        }
      };
      worker.onerror = (e) => {
        this.finish();
        error.textContent = `worker failed: ${e.message}`;
        resolve(undefined);
      };
      worker.postMessage(request, transfer);
    });
  }

  private settle?: (r: unknown) => void;

  cancel(): void {
    if (!this.worker) return;
    this.finish();
    this.ui.status.textContent = 'cancelled';
    this.settle?.(undefined);
  }

  private finish(): void {
    this.worker?.terminate();
    this.worker = undefined;
    this.ui.run.disabled = false;
    this.ui.cancel.disabled = true;
  }
}

/** The worker side: posts progress, the result (transferring buffers) or the error message. */
export function serveJobs<Q, R>(handle: (request: Q, progress: (done: number, total: number, label: string) => void) => Promise<{ result: R; transfer?: Transferable[] }>): void {
  const scope = self as unknown as { onmessage: ((e: MessageEvent<Q>) => void) | null; postMessage(m: unknown, t?: Transferable[]): void };
  scope.onmessage = async (e) => {
    try {
      const { result, transfer } = await handle(e.data, (done, total, label) => scope.postMessage({ type: 'progress', done, total, label }));
      scope.postMessage({ type: 'done', result }, transfer ?? []);
    } catch (err) {
      scope.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) });
    }
  };
}

/**
 * The Run button: reads the form (a bad field shows its message and nothing starts), runs the job, shows the
 * result; #results carries data-state running / done / failed for scripts and tests.
 */
export function wireRun<Q, R>(runner: JobRunner<Q, R>, request: () => Q, show: (q: Q, r: R) => void): void {
  $('run').addEventListener('click', async () => {
    let q: Q;
    try {
      q = request();
    } catch (e) {
      $('error').textContent = (e as Error).message;
      return;
    }
    $('results').dataset.state = 'running';
    const t0 = performance.now();
    const r = await runner.run(q);
    if (r === undefined) {
      $('results').dataset.state = 'failed';
      return;
    }
    show(q, r);
    $('results').dataset.state = 'done';
    $('status').textContent = `done in ${((performance.now() - t0) / 1000).toFixed(1)} s`;
  });
}
