/**
 * JSON Schema (draft 2020-12) of fixtures/manifest.json, typed against Manifest.
 * schema/manifest.schema.json is emitted from this object (generator/emit-schemas.ts).
 */
import type { JSONSchemaType } from 'ajv/dist/2020.js';
import { DATA_FAMILIES, DTYPES, type Manifest, type ManifestEntry } from '../types.js';
import { FIXTURE_FILE_NAMES, FORMAT_VERSION, KEBAB_CASE_PATTERN, SHA256_PATTERN } from './fixture-schema.js';
import { FORWARD_FILE_NAMES } from './forward-schema.js';

/** Semantic Versioning 2.0.0 (the pattern semver.org suggests). */
export const SEMVER_PATTERN =
  '^(0|[1-9]\\d*)\\.(0|[1-9]\\d*)\\.(0|[1-9]\\d*)(?:-((?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\\.(?:0|[1-9]\\d*|\\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?(?:\\+([0-9a-zA-Z-]+(?:\\.[0-9a-zA-Z-]+)*))?$';

const entrySchema: JSONSchemaType<ManifestEntry> = {
  type: 'object',
  properties: {
    id: { type: 'string', pattern: KEBAB_CASE_PATTERN },
    path: { type: 'string', pattern: KEBAB_CASE_PATTERN, description: 'The fixture folder, relative to the corpus folder; equals id.' },
    family: { type: 'string', enum: [...DATA_FAMILIES] },
    dtype: { type: 'string', enum: [...DTYPES] },
    tags: { type: 'array', items: { type: 'string', minLength: 1 }, uniqueItems: true },
    files: {
      type: 'object',
      description: 'File name inside the folder -> sha256 of its bytes, fixture.json included; forward.json, y.npy and y-magnitude.npy (corpus 1.2.0 and later) come together.',
      properties: Object.fromEntries([...FIXTURE_FILE_NAMES, ...FORWARD_FILE_NAMES].map((name) => [name, { type: 'string', pattern: SHA256_PATTERN }])),
      required: [...FIXTURE_FILE_NAMES],
      dependentRequired: Object.fromEntries(FORWARD_FILE_NAMES.map((name) => [name, FORWARD_FILE_NAMES.filter((other) => other !== name)])),
      additionalProperties: false,
    },
  },
  required: ['id', 'path', 'family', 'dtype', 'tags', 'files'],
  additionalProperties: false,
};

export const manifestSchema: JSONSchemaType<Manifest> = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'Conv2d backward conformance corpus manifest (manifest.json)',
  type: 'object',
  properties: {
    corpusVersion: { type: 'string', pattern: SEMVER_PATTERN },
    formatVersion: { type: 'integer', const: FORMAT_VERSION },
    generator: {
      type: 'object',
      properties: {
        name: { type: 'string', minLength: 1 },
        version: { type: 'string', pattern: SEMVER_PATTERN },
      },
      required: ['name', 'version'],
      additionalProperties: false,
    },
    fixtureCount: { type: 'integer', minimum: 0 },
    digest: {
      type: 'string',
      pattern: SHA256_PATTERN,
      description: 'sha256 of the lines `<path>/<file> <sha256>\\n` of every fixture file, sorted by `<path>/<file>`.',
    },
    fixtures: { type: 'array', items: entrySchema },
  },
  required: ['corpusVersion', 'formatVersion', 'generator', 'fixtureCount', 'digest', 'fixtures'],
  additionalProperties: false,
};
