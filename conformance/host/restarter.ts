/**
 * Restarting an adapter process, shared by the hosts that keep one process and start a
 * fresh one when it ends (module-host.ts, command-host.ts).
 */

/** The outcome of starting a fresh process for queued work: a failed start is an error answer, never a throw. */
export type RestartOutcome = { ok: true } | { ok: false; message: string; detail?: string };

export interface RestarterHooks {
  /** Resolves once the previous process's end has been handled (its job failed, its queue freed). */
  ended: () => Promise<void>;
  /** The host is closing: no process is started any more. */
  closing: () => boolean;
  /** Start a process and wait until it takes requests; rejects with a message (first line: the reason, the rest: detail). */
  spawn: () => Promise<unknown>;
  /** Prefix of a failed start's message, e.g. "the adapter program could not be restarted after it ended". */
  failure: string;
}

/**
 * Starts at most one process at a time (concurrent callers share that start), only once
 * the previous process's end has been handled, never while the host closes; a failed
 * start becomes `{ok: false}` with "FAILURE: first line" and the other lines as detail.
 */
export class Restarter {
  private starting: Promise<RestartOutcome> | null = null;

  constructor(private readonly hooks: RestarterHooks) {}

  /** The start in progress, if any (close() may wait for it). */
  get pending(): Promise<RestartOutcome> | null {
    return this.starting;
  }

  restart(): Promise<RestartOutcome> {
    if (this.starting !== null) return this.starting;
    const starting = this.hooks
      .ended()
      .then(() => {
        if (this.hooks.closing()) throw new Error('the runner is shutting down');
        return this.hooks.spawn();
      })
      .then(
        (): RestartOutcome => ({ ok: true }),
        (error: unknown): RestartOutcome => {
          const [first, ...rest] = (error instanceof Error ? error.message : String(error)).split('\n');
          return { ok: false, message: `${this.hooks.failure}: ${first}`, detail: rest.join('\n') || undefined };
        },
      )
      .finally(() => {
        if (this.starting === starting) this.starting = null;
      });
    this.starting = starting;
    return starting;
  }
}
