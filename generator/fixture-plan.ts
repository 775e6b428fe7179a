/**
 * Expand the case catalog into the list of fixtures to generate: one per
 * (case, family, variant, dtype[, extra seed]), each with a stable id and seed.
 */
import { conv2dGeometry, resolvePadding, type Conv2dGeometry } from '../src/geometry.js';
import { ConformanceError } from '../src/errors.js';
import type { Conv2dParams, DataFamily, Dtype, PaddingMode } from '../src/types.js';
import { CASE_CATALOG, DEFAULT_FAMILIES, PRECISION_DTYPES, PRECISION_FAMILIES, type CaseSpec } from './case-catalog.js';
import { geometryTags } from './case-tags.js';
import { DATA_FAMILY_DEFINITIONS } from '../src/data-families.js';

export interface FixturePlan {
  id: string;
  spec: CaseSpec;
  family: DataFamily;
  variant: string;
  dtype: Dtype;
  seed: number;
  params: Conv2dParams;
  paddingMode: PaddingMode;
  geometry: Conv2dGeometry;
  tags: string[];
}

export interface PlanOptions {
  /** Only these cases, by name (default: all). */
  cases?: readonly string[];
  /** Only these families (default: all). */
  families?: readonly DataFamily[];
  /** Mixed into every fixture's seed; 0 gives the committed corpus. */
  baseSeed?: number;
  /** Generate each fixture this many times with different seeds (ids get -s1, -s2, ...). Default 1. */
  seedCount?: number;
  catalog?: readonly CaseSpec[];
}

const DTYPE_SUFFIX: Record<Dtype, string> = { float16: 'f16', float32: 'f32', float64: 'f64', bfloat16: 'bf16' };
const KEBAB = /^[a-z0-9]+(-[a-z0-9]+)*$/;

/** FNV-1a 32-bit hash of a string: a stable per-fixture seed that does not move when cases are added. */
export function stableHash(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

/** Resolve a case's padding and derive its parameters and geometry (validated by src/geometry.ts). */
export function caseGeometry(spec: CaseSpec): { params: Conv2dParams; paddingMode: PaddingMode; geometry: Conv2dGeometry } {
  const [batch, inChannels, inHeight, inWidth] = spec.x;
  const [outChannels, kernelHeight, kernelWidth] = spec.filter;
  const groups = spec.groups ?? 1;
  const stride = spec.stride ?? [1, 1];
  const dilation = spec.dilation ?? [1, 1];
  const padding = spec.padding ?? { top: 0, bottom: 0, left: 0, right: 0 };
  const paddingMode: PaddingMode = typeof padding === 'string' ? padding : 'EXPLICIT';
  const pads = typeof padding === 'string' ? resolvePadding(padding, [inHeight, inWidth], [kernelHeight, kernelWidth], stride, dilation) : padding;
  const params: Conv2dParams = { stride: [stride[0], stride[1]], dilation: [dilation[0], dilation[1]], pads: { ...pads }, groups };
  try {
    const geometry = conv2dGeometry([batch, inChannels, inHeight, inWidth], [outChannels, inChannels / groups, kernelHeight, kernelWidth], params);
    return { params, paddingMode, geometry };
  } catch (error) {
    throw new ConformanceError('E_GENERATOR', `case catalog: case '${spec.name}' has an invalid geometry: ${(error as Error).message}`, { case: spec.name }, { cause: error });
  }
}

export function planCorpus(options: PlanOptions = {}): FixturePlan[] {
  const catalog = options.catalog ?? CASE_CATALOG;
  const baseSeed = options.baseSeed ?? 0;
  const seedCount = options.seedCount ?? 1;
  const known = new Set(catalog.map((spec) => spec.name));
  const unknown = (options.cases ?? []).filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new ConformanceError('E_USAGE', `unknown case name(s): ${unknown.join(', ')}; the catalog (generator/case-catalog.ts) has e.g. ${[...known].slice(0, 3).join(', ')}`, {
      unknown,
    });
  }
  const plans: FixturePlan[] = [];
  const names = new Set<string>();
  for (const spec of catalog) {
    if (!KEBAB.test(spec.name)) throw new ConformanceError('E_GENERATOR', `case catalog: name '${spec.name}' is not kebab-case`, { case: spec.name });
    if (names.has(spec.name)) throw new ConformanceError('E_GENERATOR', `case catalog: name '${spec.name}' appears twice`, { case: spec.name });
    names.add(spec.name);
    if (options.cases && !options.cases.includes(spec.name)) continue;
    const { params, paddingMode, geometry } = caseGeometry(spec);
    const tags = [...new Set([...geometryTags(geometry, params, paddingMode), ...(spec.tags ?? [])])].sort();

    const runs: Array<{ family: DataFamily; dtype: Dtype }> = [];
    for (const family of spec.families ?? [...DEFAULT_FAMILIES, ...(spec.extraFamilies ?? [])]) runs.push({ family, dtype: 'float32' });
    if (spec.allPrecisions) for (const dtype of PRECISION_DTYPES) for (const family of PRECISION_FAMILIES) runs.push({ family, dtype });

    for (const { family, dtype } of runs) {
      if (options.families && !options.families.includes(family)) continue;
      const variants = DATA_FAMILY_DEFINITIONS[family].variants(params);
      if (variants.length === 0) {
        throw new ConformanceError('E_GENERATOR', `case catalog: case '${spec.name}' lists family '${family}', which its geometry does not allow`, {
          case: spec.name,
          family,
        });
      }
      for (const variant of variants) {
        for (let seedIndex = 0; seedIndex < seedCount; seedIndex++) {
          const id = [spec.name, family, variant, DTYPE_SUFFIX[dtype], seedIndex > 0 ? `s${seedIndex}` : ''].filter(Boolean).join('-');
          const variantTags = variant ? [variant] : [];
          plans.push({
            id,
            spec,
            family,
            variant,
            dtype,
            seed: (stableHash(id) ^ baseSeed) >>> 0,
            params,
            paddingMode,
            geometry,
            tags: [...new Set([...tags, ...variantTags])].sort(),
          });
        }
      }
    }
  }
  const ids = new Set<string>();
  for (const plan of plans) {
    if (ids.has(plan.id)) throw new ConformanceError('E_GENERATOR', `case catalog: fixture id '${plan.id}' is produced twice`, { id: plan.id });
    ids.add(plan.id);
  }
  return plans.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
