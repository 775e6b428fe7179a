/**
 * JSON Schema (draft 2020-12) of fixture.json, typed against FixtureMeta.
 * schema/fixture.schema.json is emitted from this object (generator/emit-schemas.ts).
 */
import type { JSONSchemaType } from 'ajv/dist/2020.js';
import { DATA_FAMILIES, DTYPES, PADDING_MODES, type FixtureFile, type FixtureMeta, type OutputName, type OutputTolerance } from '../types.js';

/** The version of the corpus format this code reads and writes. */
export const FORMAT_VERSION = 1;

/** The file holding a fixture's metadata, in each fixture folder. */
export const FIXTURE_META_FILE = 'fixture.json';

/** The logical names of a fixture's tensors, in the order they are written. */
export const FIXTURE_TENSOR_NAMES = ['x', 'w', 'dy', 'dx', 'dw', 'db', 'dx-magnitude', 'dw-magnitude', 'db-magnitude'] as const;
export type FixtureTensorName = (typeof FIXTURE_TENSOR_NAMES)[number];

/** The one spelling of an output's magnitude tensor: its key in `files`, its file stem, and `tolerance.outputs.<output>.magnitude`. */
export type MagnitudeTensorName = `${OutputName}-magnitude`;

/** The magnitude tensor of an output: 'dx' -> 'dx-magnitude'. */
export function magnitudeTensorName(output: OutputName): MagnitudeTensorName {
  return `${output}-magnitude`;
}

/** The file of a tensor in its fixture folder: `<logical name>.npy`. */
export function tensorFileName(name: FixtureTensorName): string {
  return `${name}.npy`;
}

/** Every file of a fixture folder, fixture.json first. */
export const FIXTURE_FILE_NAMES: readonly string[] = [FIXTURE_META_FILE, ...FIXTURE_TENSOR_NAMES.map(tensorFileName)];

/** Ids and folder names: lowercase words of letters and digits joined by single hyphens. */
export const KEBAB_CASE_PATTERN = '^[a-z0-9]+(-[a-z0-9]+)*$';
export const SHA256_PATTERN = '^[0-9a-f]{64}$';

const INPUT_TENSORS = new Set<FixtureTensorName>(['x', 'w', 'dy']);

function fileSchema(name: FixtureTensorName): JSONSchemaType<FixtureFile> {
  return {
    type: 'object',
    description: INPUT_TENSORS.has(name) ? `${name}, in the fixture's dtype` : `${name}, float64`,
    properties: {
      path: { type: 'string', const: tensorFileName(name) },
      dtype: INPUT_TENSORS.has(name) ? { type: 'string', enum: [...DTYPES] } : { type: 'string', const: 'float64' },
      sha256: { type: 'string', pattern: SHA256_PATTERN },
    },
    required: ['path', 'dtype', 'sha256'],
    additionalProperties: false,
  };
}

function outputToleranceSchema(output: OutputName): JSONSchemaType<OutputTolerance> {
  return {
    type: 'object',
    properties: {
      accumulationLength: { type: 'integer', minimum: 0 },
      magnitude: { type: 'string', const: magnitudeTensorName(output) },
    },
    required: ['accumulationLength', 'magnitude'],
    additionalProperties: false,
  };
}

const shapeRef = (dimensions: 1 | 4) => ({ $ref: dimensions === 4 ? '#/$defs/shape4' : '#/$defs/shape1' });

export const fixtureSchema: JSONSchemaType<FixtureMeta> = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'Conv2d backward conformance fixture (fixture.json)',
  type: 'object',
  $defs: {
    positivePair: { type: 'array', items: { type: 'integer', minimum: 1 }, minItems: 2, maxItems: 2 },
    shape4: { type: 'array', items: { type: 'integer', minimum: 0 }, minItems: 4, maxItems: 4 },
    shape1: { type: 'array', items: { type: 'integer', minimum: 0 }, minItems: 1, maxItems: 1 },
  },
  properties: {
    id: { type: 'string', pattern: KEBAB_CASE_PATTERN, description: 'Equals the fixture folder name.' },
    formatVersion: { type: 'integer', const: FORMAT_VERSION },
    op: { type: 'string', const: 'conv2d_backward' },
    description: { type: 'string', minLength: 1 },
    case: { type: 'string', minLength: 1 },
    dtype: {
      type: 'string',
      enum: [...DTYPES],
      description: "Inputs' element type. float16 is stored as '<f2'; bfloat16 (no numpy dtype) as its 16 bits in '<u2'.",
    },
    family: { type: 'string', enum: [...DATA_FAMILIES] },
    seed: { type: 'integer', minimum: 0, maximum: 0xffffffff },
    tags: { type: 'array', items: { type: 'string', minLength: 1 }, uniqueItems: true },
    params: {
      type: 'object',
      properties: {
        stride: { $ref: '#/$defs/positivePair' },
        dilation: { $ref: '#/$defs/positivePair' },
        pads: {
          type: 'object',
          properties: {
            top: { type: 'integer', minimum: 0 },
            bottom: { type: 'integer', minimum: 0 },
            left: { type: 'integer', minimum: 0 },
            right: { type: 'integer', minimum: 0 },
          },
          required: ['top', 'bottom', 'left', 'right'],
          additionalProperties: false,
        },
        groups: { type: 'integer', minimum: 1 },
      },
      required: ['stride', 'dilation', 'pads', 'groups'],
      additionalProperties: false,
    },
    padding: {
      type: 'object',
      properties: { mode: { type: 'string', enum: [...PADDING_MODES] } },
      required: ['mode'],
      additionalProperties: false,
    },
    shapes: {
      type: 'object',
      description: 'NCHW for x, dy, dx; OIHW for w, dw; [Cout] for db.',
      properties: { x: shapeRef(4), w: shapeRef(4), dy: shapeRef(4), dx: shapeRef(4), dw: shapeRef(4), db: shapeRef(1) },
      required: ['x', 'w', 'dy', 'dx', 'dw', 'db'],
      additionalProperties: false,
    },
    files: {
      type: 'object',
      properties: Object.fromEntries(FIXTURE_TENSOR_NAMES.map((name) => [name, fileSchema(name)])),
      required: [...FIXTURE_TENSOR_NAMES],
      additionalProperties: false,
    },
    tolerance: {
      type: 'object',
      properties: {
        rule: { type: 'string', enum: ['exact', 'bound'] },
        unitRoundoff: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 },
        underflowSpacing: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 },
        outputs: {
          type: 'object',
          properties: { dx: outputToleranceSchema('dx'), dw: outputToleranceSchema('dw'), db: outputToleranceSchema('db') },
          required: ['dx', 'dw', 'db'],
          additionalProperties: false,
        },
      },
      required: ['rule', 'unitRoundoff', 'underflowSpacing', 'outputs'],
      additionalProperties: false,
    },
    witnesses: {
      type: 'object',
      properties: {
        agreed: { type: 'boolean' },
        backends: { type: 'array', items: { type: 'string', minLength: 1 }, uniqueItems: true },
      },
      required: ['agreed', 'backends'],
      additionalProperties: false,
    },
  },
  required: ['id', 'formatVersion', 'op', 'description', 'case', 'dtype', 'family', 'seed', 'tags', 'params', 'padding', 'shapes', 'files', 'tolerance', 'witnesses'],
  additionalProperties: false,
};
