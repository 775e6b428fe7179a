/**
 * An adapter host that calls a module adapter in the test's own process (no child
 * process, no IPC): fuzz tests that run dozens of adapters over hundreds of cases
 * stay within tap's time limit on a loaded machine. The checks of the answer are
 * the module host's (checkBackwardResult); isolation is what it leaves out.
 */
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import type { AdapterHost, HostRequest, HostResponse, SupportResponse } from '../../conformance/host/adapter-host.js';
import { inspectAdapterModule } from '../../conformance/host/capabilities.js';
import { checkBackwardResult } from '../../conformance/host/result-check.js';
import type { Adapter, AdapterCapabilities, FixtureMeta } from '../../src/types.js';

export class InProcessHost implements AdapterHost {
  private adapter: Adapter | undefined;

  constructor(private readonly path: string) {}

  async start(): Promise<AdapterCapabilities> {
    const namespace = (await import(pathToFileURL(this.path).href)) as Record<string, unknown>;
    const { adapter, capabilities } = inspectAdapterModule(namespace, this.path);
    await adapter.init?.();
    this.adapter = adapter;
    return capabilities;
  }

  async checkSupport(meta: FixtureMeta): Promise<SupportResponse> {
    const supports = this.adapter?.supports;
    if (typeof supports !== 'function') return { kind: 'supported' };
    const answer = supports(meta);
    return answer === true ? { kind: 'supported' } : { kind: 'unsupported', reason: typeof answer === 'string' ? answer : 'declined' };
  }

  async run(request: HostRequest): Promise<HostResponse> {
    const started = performance.now();
    try {
      const result = await this.adapter!.conv2dBackward({ x: request.x, w: request.w, dy: request.dy, params: request.meta.params, id: request.meta.id });
      const adapterSeconds = (performance.now() - started) / 1000;
      const checked = checkBackwardResult(result, request.expected);
      return { kind: 'ok', outputs: checked.outputs, adapterSeconds, notes: checked.notes };
    } catch (error) {
      return { kind: 'error', message: (error as Error).message, adapterSeconds: (performance.now() - started) / 1000 };
    }
  }

  async close(): Promise<void> {
    await this.adapter?.dispose?.();
  }
}
