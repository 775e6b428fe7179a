/**
 * `replay:DIR` adapters: outputs computed elsewhere (another machine, a GPU
 * job) and saved as .npy files, scored without running anything.
 *
 *   DIR/adapter.json         {"name": "...", "layout"?, "filterLayout"?, "dtypes"?, "supports"?, "outputs"?}
 *   DIR/<fixture id>/dx.npy  dw.npy  db.npy    (declared outputs, in the declared layouts and the fixture's dtype)
 *
 * A fixture with no folder or without one of its declared outputs is `missing`, never passed.
 */
import { readFile } from 'node:fs/promises';
import { statIfExists } from '../../src/atomic-write.js';
import { join } from 'node:path';
import { ConformanceError } from '../../src/errors.js';
import { readNpyFile } from '../../src/npy.js';
import { OUTPUT_NAMES, type AdapterCapabilities, type OutputName, type Tensor } from '../../src/types.js';
import type { AdapterHost, HostRequest, HostResponse, SupportResponse } from './adapter-host.js';
import { validateCapabilities } from './capabilities.js';
import { checkOutputTensor } from './result-check.js';

export const REPLAY_CAPABILITIES_FILE = 'adapter.json';

export class ReplayHost implements AdapterHost {
  constructor(private readonly dir: string) {}

  async start(): Promise<AdapterCapabilities> {
    const path = join(this.dir, REPLAY_CAPABILITIES_FILE);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'file not found' : (error as Error).message;
      throw new ConformanceError('E_ADAPTER_LOAD', `replay adapter: cannot read ${path} (${why}); expected a JSON object {"name", "layout"?, "filterLayout"?, "dtypes"?, "supports"?, "outputs"?}`, {
        path,
      });
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new ConformanceError('E_ADAPTER_LOAD', `replay adapter: ${path} is not valid JSON: ${(error as Error).message}`, { path });
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new ConformanceError('E_ADAPTER_LOAD', `replay adapter: ${path}: expected a JSON object, found ${Array.isArray(value) ? 'an array' : typeof value}`, { path });
    }
    return validateCapabilities(value as Record<string, unknown>, path, { allowFunction: false });
  }

  async checkSupport(): Promise<SupportResponse> {
    return { kind: 'supported' };
  }

  async run(request: HostRequest): Promise<HostResponse> {
    const folder = join(this.dir, request.meta.id);
    const wanted = OUTPUT_NAMES.filter((name) => request.expected[name] !== undefined);
    const absent: string[] = [];
    for (const name of wanted) {
      if ((await statIfExists(join(folder, `${name}.npy`))) === undefined) absent.push(`${name}.npy`);
    }
    if (absent.length > 0) {
      return { kind: 'missing', message: `no replayed output ${absent.join(', ')} in ${folder}` };
    }
    const outputs: Partial<Record<OutputName, Tensor>> = {};
    for (const name of wanted) {
      const path = join(folder, `${name}.npy`);
      try {
        const expected = request.expected[name]!;
        // Converting mode: a replayed output may be big-endian or in Fortran order (np.save of a transposed array).
        const tensor = await readNpyFile(path, { convert: true, expected: { ...expected, what: `the expected ${name}` } });
        outputs[name] = checkOutputTensor(name, tensor, expected);
      } catch (error) {
        return { kind: 'error', message: `${(error as Error).message}${(error as ConformanceError).code === 'E_ADAPTER_RESULT' ? ` (in ${path})` : ''}` };
      }
    }
    return { kind: 'ok', outputs, adapterSeconds: 0, notes: [] };
  }

  async close(): Promise<void> {}
}
