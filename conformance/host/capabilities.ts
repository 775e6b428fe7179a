/**
 * Validation of what an adapter declares (module export, `cmd:` handshake or
 * `replay:` adapter.json) into AdapterCapabilities with the defaults filled in:
 * layout NCHW, filterLayout OIHW, dtypes ['float32'], outputs dx, dw, db,
 * supports everything.
 */
import { ConformanceError, describeValue } from '../../src/errors.js';
import { validatePrecision, type PrecisionClass } from '../../src/precision-class.js';
import {
  ACTIVATION_LAYOUTS,
  DTYPES,
  FILTER_LAYOUTS,
  OUTPUT_NAMES,
  type ActivationLayout,
  type Adapter,
  type AdapterCapabilities,
  type Dtype,
  type FilterLayout,
  type FixtureMeta,
  type OutputName,
  type SupportFlags,
} from '../../src/types.js';

/** Marker that stands for a `supports` function on the wire. */
export const SUPPORTS_FUNCTION = 'function';

const SUPPORT_FLAG_NAMES: readonly (keyof SupportFlags)[] = ['groups', 'dilation', 'asymmetricPads'];

/** What an adapter declares, before validation (a `supports` function replaced by 'function'). */
export interface DeclaredCapabilities {
  name?: unknown;
  layout?: unknown;
  filterLayout?: unknown;
  dtypes?: unknown;
  supports?: unknown;
  outputs?: unknown;
  /** { algorithm, tile?, fpmath } (src/precision-class.ts); absent: direct, strict. */
  precision?: unknown;
  /** true when the adapter has a forward (a module's conv2dForward, a cmd: handshake's "forward"); absent: false. */
  forward?: unknown;
}

function checkList<T extends string>(value: unknown, field: string, allowed: readonly T[], problems: string[]): T[] | null {
  if (!Array.isArray(value) || value.length === 0) {
    problems.push(`${field}: expected a non-empty array of names from ${allowed.join(', ')}, found ${describeValue(value)}`);
    return null;
  }
  const seen = new Set<string>();
  let ok = true;
  for (const [position, item] of value.entries()) {
    if (typeof item !== 'string' || !(allowed as readonly string[]).includes(item)) {
      problems.push(`${field}[${position}]: unknown name ${describeValue(item)}; expected one of ${allowed.join(', ')}`);
      ok = false;
    } else if (seen.has(item)) {
      problems.push(`${field}[${position}]: '${item}' is listed twice`);
      ok = false;
    }
    if (typeof item === 'string') seen.add(item);
  }
  return ok ? (value as T[]) : null;
}

/**
 * Validate declared capabilities. `source` names the adapter in messages;
 * `allowFunction` admits the 'function' marker for `supports` (module adapters only).
 */
export function validateCapabilities(declared: DeclaredCapabilities, source: string, options: { allowFunction: boolean }): AdapterCapabilities {
  const problems: string[] = [];
  const { name } = declared;
  if (typeof name !== 'string' || name.trim() === '') {
    problems.push(`name: expected a non-empty string, found ${describeValue(name)}`);
  }
  let layout: ActivationLayout = 'NCHW';
  if (declared.layout !== undefined) {
    if (typeof declared.layout === 'string' && (ACTIVATION_LAYOUTS as readonly string[]).includes(declared.layout)) {
      layout = declared.layout as ActivationLayout;
    } else {
      problems.push(`layout: unknown activation layout ${describeValue(declared.layout)}; expected one of ${ACTIVATION_LAYOUTS.join(', ')}`);
    }
  }
  let filterLayout: FilterLayout = 'OIHW';
  if (declared.filterLayout !== undefined) {
    if (typeof declared.filterLayout === 'string' && (FILTER_LAYOUTS as readonly string[]).includes(declared.filterLayout)) {
      filterLayout = declared.filterLayout as FilterLayout;
    } else {
      problems.push(`filterLayout: unknown filter layout ${describeValue(declared.filterLayout)}; expected one of ${FILTER_LAYOUTS.join(', ')}`);
    }
  }
  const dtypes: Dtype[] | null = declared.dtypes === undefined ? ['float32'] : checkList(declared.dtypes, 'dtypes', DTYPES, problems);
  const outputs: OutputName[] | null = declared.outputs === undefined ? [...OUTPUT_NAMES] : checkList(declared.outputs, 'outputs', OUTPUT_NAMES, problems);

  let supports: AdapterCapabilities['supports'] = { groups: true, dilation: true, asymmetricPads: true };
  const declaredSupports = declared.supports;
  if (declaredSupports === SUPPORTS_FUNCTION && options.allowFunction) {
    supports = 'function';
  } else if (declaredSupports !== undefined) {
    if (typeof declaredSupports !== 'object' || declaredSupports === null || Array.isArray(declaredSupports)) {
      const what = options.allowFunction ? 'an object {groups?, dilation?, asymmetricPads?} of booleans or a function (fixture) => true | reason' : 'an object {groups?, dilation?, asymmetricPads?} of booleans';
      problems.push(`supports: expected ${what}, found ${describeValue(declaredSupports)}`);
    } else {
      const flags = declaredSupports as Record<string, unknown>;
      for (const key of Object.keys(flags)) {
        if (!(SUPPORT_FLAG_NAMES as readonly string[]).includes(key)) {
          problems.push(`supports.${key}: unknown flag; expected one of ${SUPPORT_FLAG_NAMES.join(', ')}`);
        } else if (typeof flags[key] !== 'boolean') {
          problems.push(`supports.${key}: expected true or false, found ${describeValue(flags[key])}`);
        }
      }
      supports = {
        groups: flags.groups !== false,
        dilation: flags.dilation !== false,
        asymmetricPads: flags.asymmetricPads !== false,
      };
    }
  }
  const precision: PrecisionClass | null | undefined = declared.precision === undefined ? undefined : validatePrecision(declared.precision, problems);
  if (declared.forward !== undefined && typeof declared.forward !== 'boolean') {
    problems.push(`forward: expected true (the adapter answers forward requests) or false, found ${describeValue(declared.forward)}`);
  }
  if (problems.length > 0 || dtypes === null || outputs === null) {
    throw new ConformanceError('E_ADAPTER_LOAD', `adapter ${source} is malformed:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`, {
      source,
      problems,
    });
  }
  return { name: (name as string).trim(), layout, filterLayout, dtypes, supports, outputs, ...(precision ? { precision } : {}), ...(declared.forward === true ? { forward: true } : {}) };
}

/**
 * The reason a fixture is outside what the flags and dtypes declare, or null when it is inside.
 * (A `supports` function is asked separately, inside the adapter's process.)
 */
export function unsupportedReason(capabilities: AdapterCapabilities, meta: Pick<FixtureMeta, 'dtype' | 'params'>): string | null {
  if (!capabilities.dtypes.includes(meta.dtype)) {
    return `unsupported: dtype ${meta.dtype} (the adapter declares ${capabilities.dtypes.join(', ')})`;
  }
  const { supports } = capabilities;
  if (supports === 'function') return null;
  const { params } = meta;
  if (!supports.groups && params.groups > 1) return 'unsupported: groups';
  if (!supports.dilation && (params.dilation[0] > 1 || params.dilation[1] > 1)) return 'unsupported: dilation';
  if (!supports.asymmetricPads && (params.pads.top !== params.pads.bottom || params.pads.left !== params.pads.right)) {
    return 'unsupported: asymmetric pads';
  }
  return null;
}

/** A loaded module adapter with its validated capabilities. */
export interface InspectedAdapter {
  adapter: Adapter;
  capabilities: AdapterCapabilities;
}

/**
 * Check a module namespace (what `import()` returned) for an adapter: a default
 * export (ESM `export default`, or CommonJS `module.exports`) that is an object
 * with a conv2dBackward function and valid declarations. Every problem found is
 * listed in one E_ADAPTER_LOAD error.
 */
export function inspectAdapterModule(namespace: Record<string, unknown>, source: string): InspectedAdapter {
  const problems: string[] = [];
  if (!('default' in namespace) || namespace.default === undefined) {
    const named = Object.keys(namespace).filter((key) => key !== 'default');
    const found = named.length > 0 ? `found only named exports ${named.join(', ')}` : 'found no exports';
    problems.push(`no default export: expected \`export default { name, conv2dBackward, ... }\` (ESM) or \`module.exports = { ... }\` (CommonJS), ${found}`);
  } else {
    // `export default` compiled to CommonJS (a .ts adapter in a "type": "commonjs" project, run through
    // tsx, or a transpiled build): module.exports is { __esModule: true, default: adapter }.
    const exported = namespace.default as Record<string, unknown> | null;
    const transpiled = typeof exported === 'object' && exported !== null && exported.__esModule === true && 'default' in exported;
    const candidate = transpiled ? exported.default : namespace.default;
    if (typeof candidate !== 'object' || candidate === null || Array.isArray(candidate)) {
      problems.push(`default export: expected an adapter object { name, conv2dBackward, ... }, found ${typeof candidate === 'function' ? 'a function' : describeValue(candidate)}`);
    } else {
      const adapter = candidate as Record<string, unknown>;
      if (typeof adapter.conv2dBackward !== 'function') {
        problems.push(`conv2dBackward: expected a function (request) => ({ dx, dw, db }), found ${describeValue(adapter.conv2dBackward)}`);
      }
      for (const hook of ['init', 'dispose', 'conv2dForward'] as const) {
        if (adapter[hook] !== undefined && typeof adapter[hook] !== 'function') {
          problems.push(`${hook}: expected a function or nothing, found ${describeValue(adapter[hook])}`);
        }
      }
      const declared: DeclaredCapabilities = {
        name: adapter.name,
        layout: adapter.layout,
        filterLayout: adapter.filterLayout,
        dtypes: adapter.dtypes,
        supports: typeof adapter.supports === 'function' ? SUPPORTS_FUNCTION : adapter.supports,
        outputs: adapter.outputs,
        ...(adapter.precision !== undefined ? { precision: adapter.precision } : {}),
        ...(typeof adapter.conv2dForward === 'function' ? { forward: true } : {}),
      };
      if (declared.supports === SUPPORTS_FUNCTION && adapter.supports !== undefined && typeof adapter.supports !== 'function') {
        problems.push(`supports: expected flags or a function, found the string 'function'`);
      }
      try {
        const capabilities = validateCapabilities(declared, source, { allowFunction: true });
        if (problems.length === 0) return { adapter: adapter as unknown as Adapter, capabilities };
      } catch (error) {
        if (!(error instanceof ConformanceError) || error.code !== 'E_ADAPTER_LOAD') throw error;
        problems.push(...(error.context.problems as string[]));
      }
    }
  }
  throw new ConformanceError('E_ADAPTER_LOAD', `adapter ${source} is malformed:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`, {
    source,
    problems,
  });
}
