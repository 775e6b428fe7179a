/**
 * Schema validation of the JSON files of the corpus. One Ajv2020 instance; each
 * schema is compiled once, on first use (compiling at load cost every command's
 * start-up, `--version` included, about half a second of CPU).
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { ConformanceError, describeValue } from '../errors.js';
import type { FixtureMeta, ForwardMeta, Manifest } from '../types.js';
import { fixtureSchema } from './fixture-schema.js';
import { forwardSchema } from './forward-schema.js';
import { KEBAB_CASE_PATTERN, SHA256_PATTERN } from './fixture-schema.js';
import { SEMVER_PATTERN, manifestSchema } from './manifest-schema.js';

/** Words for the patterns of our schemas, so messages need not quote long regular expressions. */
const PATTERN_NAMES: Record<string, string> = {
  [KEBAB_CASE_PATTERN]: 'kebab-case (lowercase letters and digits in words joined by single hyphens)',
  [SHA256_PATTERN]: 'a sha256: 64 lowercase hex digits',
  [SEMVER_PATTERN]: 'a semantic version like 1.2.3',
};

/** verbose: errors carry their schema and data, for messages that say what was expected and found. */
export const ajv = new Ajv2020({ allErrors: true, strict: true, verbose: true });

let fixtureValidator: ValidateFunction<FixtureMeta> | undefined;
let manifestValidator: ValidateFunction<Manifest> | undefined;
let forwardValidator: ValidateFunction<ForwardMeta> | undefined;

/** One schema violation: the JSON pointer of the offending value and what is wrong with it. */
export interface SchemaProblem {
  /** JSON pointer into the document ('' is the document itself). */
  path: string;
  message: string;
}

/** Turn Ajv's errors into readable problems, each naming what was expected and what was found. */
export function schemaProblems(errors: readonly ErrorObject[] | null | undefined, document: unknown): SchemaProblem[] {
  return (errors ?? []).map((error) => {
    const found = valueAt(document, error.instancePath);
    const params = error.params as Record<string, unknown>;
    let message: string;
    switch (error.keyword) {
      case 'additionalProperties':
        message = `unexpected property ${describeValue(params.additionalProperty)} (allowed: ${allowedProperties(error)})`;
        break;
      case 'required':
        message = `missing property ${describeValue(params.missingProperty)}`;
        break;
      case 'enum':
        message = `expected one of ${(params.allowedValues as unknown[]).map((value) => describeValue(value)).join(', ')}, found ${describeValue(found)}`;
        break;
      case 'const':
        message = `expected ${describeValue(params.allowedValue)}, found ${describeValue(found)}`;
        break;
      case 'pattern': {
        const pattern = String(params.pattern);
        message = `expected ${PATTERN_NAMES[pattern] ?? `a string matching ${pattern}`}, found ${describeValue(found)}`;
        break;
      }
      default:
        message = `${error.message ?? `fails ${error.keyword}`}, found ${describeValue(found)}`;
    }
    return { path: error.instancePath, message };
  });
}

function allowedProperties(error: ErrorObject): string {
  const properties = (error.parentSchema as { properties?: Record<string, unknown> } | undefined)?.properties;
  return properties ? Object.keys(properties).join(', ') : 'none';
}

/** The value a JSON pointer designates, or undefined. */
function valueAt(document: unknown, pointer: string): unknown {
  if (pointer === '') return document;
  let value: unknown = document;
  for (const token of pointer.slice(1).split('/')) {
    const key = token.replace(/~1/g, '/').replace(/~0/g, '~');
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** Validate `value` with a compiled schema; throw E_SCHEMA listing every problem (with its JSON path and `source`). */
export function validateWith<T>(validator: ValidateFunction<T>, value: unknown, source: string, what: string): T {
  if (validator(value)) return value;
  const problems = schemaProblems(validator.errors, value);
  const lines = problems.map((problem) => `  ${problem.path || '/'}: ${problem.message}`);
  throw new ConformanceError(
    'E_SCHEMA',
    `${source}: ${what} does not match its schema (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`,
    { source, problems },
  );
}

/** Check a parsed fixture.json against the fixture schema. */
export function validateFixtureMeta(value: unknown, source: string): FixtureMeta {
  return validateWith((fixtureValidator ??= ajv.compile(fixtureSchema)), value, source, 'fixture.json');
}

/** Check a parsed manifest.json against the manifest schema. */
export function validateManifest(value: unknown, source: string): Manifest {
  return validateWith((manifestValidator ??= ajv.compile(manifestSchema)), value, source, 'manifest.json');
}

/** Check a parsed forward.json against the forward schema. */
export function validateForwardMeta(value: unknown, source: string): ForwardMeta {
  return validateWith((forwardValidator ??= ajv.compile(forwardSchema)), value, source, 'forward.json');
}
