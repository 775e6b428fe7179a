/**
 * JSON Schema (draft 2020-12) of forward.json, typed against ForwardMeta.
 * schema/forward.schema.json is emitted from this object (generator/emit-schemas.ts).
 */
import type { JSONSchemaType } from 'ajv/dist/2020.js';
import type { FixtureFile, ForwardMeta } from '../types.js';
import { FORMAT_VERSION, KEBAB_CASE_PATTERN, SHA256_PATTERN } from './fixture-schema.js';

/** The file holding a fixture's expected forward output, in each fixture folder of corpus 1.2.0 and later. */
export const FORWARD_META_FILE = 'forward.json';

/** The logical names of the forward tensors (keys of forward.json `files`), in the order they are written. */
export const FORWARD_TENSOR_NAMES = ['y', 'y-magnitude'] as const;
export type ForwardTensorName = (typeof FORWARD_TENSOR_NAMES)[number];

/** The file of a forward tensor in its fixture folder: `<logical name>.npy`. */
export function forwardTensorFileName(name: ForwardTensorName): string {
  return `${name}.npy`;
}

/** The files a fixture folder holds for y, forward.json first. */
export const FORWARD_FILE_NAMES: readonly string[] = [FORWARD_META_FILE, ...FORWARD_TENSOR_NAMES.map(forwardTensorFileName)];

function fileSchema(name: ForwardTensorName): JSONSchemaType<FixtureFile> {
  return {
    type: 'object',
    description: `${name}, float64, NCHW [N, Cout, OH, OW]`,
    properties: {
      path: { type: 'string', const: forwardTensorFileName(name) },
      dtype: { type: 'string', const: 'float64' },
      sha256: { type: 'string', pattern: SHA256_PATTERN },
    },
    required: ['path', 'dtype', 'sha256'],
    additionalProperties: false,
  };
}

export const forwardSchema: JSONSchemaType<ForwardMeta> = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'Conv2d conformance fixture: expected forward output (forward.json)',
  description:
    "y = conv(x, w) without bias, of the fixture's x and w (fixture.json params), in float64; y-magnitude = conv(|x|, |w|). Judged like fixture.json's outputs (docs/tolerance.md).",
  type: 'object',
  properties: {
    id: { type: 'string', pattern: KEBAB_CASE_PATTERN, description: "Equals the fixture folder name and fixture.json's id." },
    formatVersion: { type: 'integer', const: FORMAT_VERSION },
    op: { type: 'string', const: 'conv2d_forward' },
    description: { type: 'string', minLength: 1 },
    shape: { type: 'array', items: { type: 'integer', minimum: 0 }, minItems: 4, maxItems: 4, description: '[N, Cout, OH, OW], equal to fixture.json shapes.dy.' },
    files: {
      type: 'object',
      properties: { y: fileSchema('y'), 'y-magnitude': fileSchema('y-magnitude') },
      required: ['y', 'y-magnitude'],
      additionalProperties: false,
    },
    tolerance: {
      type: 'object',
      properties: {
        rule: { type: 'string', enum: ['exact', 'bound'], description: "y's own rule (not fixture.json's): exact only when every partial sum of y is representable in the dtype." },
        unitRoundoff: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 },
        underflowSpacing: { type: 'number', exclusiveMinimum: 0, exclusiveMaximum: 1 },
        outputs: {
          type: 'object',
          properties: {
            y: {
              type: 'object',
              properties: {
                accumulationLength: { type: 'integer', minimum: 0, description: '(C/groups) * KH * KW' },
                magnitude: { type: 'string', const: 'y-magnitude' },
              },
              required: ['accumulationLength', 'magnitude'],
              additionalProperties: false,
            },
          },
          required: ['y'],
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
  required: ['id', 'formatVersion', 'op', 'description', 'shape', 'files', 'tolerance', 'witnesses'],
  additionalProperties: false,
};
