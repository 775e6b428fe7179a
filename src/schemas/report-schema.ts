/**
 * JSON Schema (draft 2020-12) of the runner's --json report, typed against Report
 * (src/report-types.ts). schema/report.schema.json is emitted from this object;
 * test/conformance/report-schema.test.ts keeps the committed file equal to it.
 */
import type { JSONSchemaType, ValidateFunction } from 'ajv/dist/2020.js';
import {
  REPORT_FORMAT,
  REPORT_VERSION,
  type Report,
  type ReportDeterminism,
  type ReportFuzz,
  type ReportFuzzFailure,
  type ReportGradcheck,
  type ReportLikelyCause,
  type ReportNumber,
  type ReportOutcome,
  type ReportOutputMetrics,
  type ReportWorstElement,
} from '../report-types.js';
import { FPMATH_MODES, PRECISION_ALGORITHMS, type PrecisionClass } from '../precision-class.js';
import { ACTIVATION_LAYOUTS, DATA_FAMILIES, DTYPES, FILTER_LAYOUTS, OUTPUT_NAMES, type AdapterCapabilities, type FailingName, type GradcheckCheck, type OutcomeStatus, type PassGrade, type ScoredName } from '../types.js';
import { SHA256_PATTERN } from './fixture-schema.js';
import { ajv, validateWith } from './validate.js';

const STATUSES: OutcomeStatus[] = ['pass', 'fail', 'error', 'timeout', 'missing', 'skipped'];
const GRADES: PassGrade[] = ['exact', 'tight', 'within-bound'];

const reportNumber: JSONSchemaType<ReportNumber> = {
  anyOf: [
    { type: 'number' },
    { type: 'string', enum: ['Infinity', '-Infinity', 'NaN'] },
  ],
};
const numberRef = { $ref: '#/$defs/reportNumber' };

/**
 * `T | null` for a required property: anyOf [schema, null]. JSONSchemaType types null
 * only through `nullable`, which it reserves for optional properties, so the result is
 * typed `never` (assignable where the property's schema goes); the schema of T itself
 * is still checked against T.
 */
function orNull<T>(schema: JSONSchemaType<T>): never {
  return { anyOf: [schema, { type: 'null' }] } as never;
}
const nonNegativeInteger = { type: 'integer', minimum: 0 } as const;

const worstSchema: JSONSchemaType<ReportWorstElement> = {
  type: 'object',
  description: 'The element with the largest error in bound units (failing elements first); index in NCHW / OIHW / [Cout].',
  properties: {
    index: { type: 'array', items: { type: 'integer', minimum: 0 }, minItems: 1, maxItems: 4 },
    flatIndex: nonNegativeInteger,
    expected: numberRef,
    got: numberRef,
    bound: numberRef,
  },
  required: ['index', 'flatIndex', 'expected', 'got', 'bound'],
  additionalProperties: false,
};

/** What is scored: the gradients, and y when the adapter has a forward. */
const SCORED_NAMES: ScoredName[] = [...OUTPUT_NAMES, 'y'];
/** What can fail a fixture: a scored output, or --gradcheck. */
const FAILING_NAMES: FailingName[] = [...SCORED_NAMES, 'gradcheck'];

const gradcheckCheckSchema = {
  oneOf: [
    {
      type: 'object',
      properties: {
        name: { type: 'string', minLength: 1 },
        status: { type: 'string', enum: ['pass', 'fail'] },
        left: { type: 'number' },
        right: { type: 'number' },
        difference: { type: 'number', minimum: 0 },
        bound: { type: 'number', minimum: 0 },
      },
      required: ['name', 'status', 'left', 'right', 'difference', 'bound'],
      additionalProperties: false,
    },
    {
      type: 'object',
      properties: { name: { type: 'string', minLength: 1 }, status: { type: 'string', const: 'skipped' }, reason: { type: 'string', minLength: 1 } },
      required: ['name', 'status', 'reason'],
      additionalProperties: false,
    },
  ],
} as unknown as JSONSchemaType<GradcheckCheck>;

const gradcheckSchema: JSONSchemaType<ReportGradcheck> = {
  type: 'object',
  description: '--gradcheck: the adapter\'s backward checked against its own forward (adjoint identities and central differences, each with its proven bound).',
  properties: {
    status: { type: 'string', enum: ['pass', 'fail', 'skipped'] },
    dtype: { type: 'string', enum: [...DTYPES] },
    method: { type: 'string', minLength: 1 },
    forwardCalls: { type: 'integer', minimum: 0 },
    checks: { type: 'array', items: gradcheckCheckSchema },
    reason: { type: 'string', nullable: true },
  },
  required: ['status', 'dtype', 'method', 'forwardCalls', 'checks'],
  additionalProperties: false,
};

const metricsSchema: JSONSchemaType<ReportOutputMetrics> = {
  type: 'object',
  properties: {
    output: { type: 'string', enum: SCORED_NAMES },
    elements: nonNegativeInteger,
    failingElements: nonNegativeInteger,
    maxErrorInBounds: numberRef,
    maxErrorInTypical: numberRef,
    maxUlp: numberRef,
    maxAbsError: numberRef,
    maxRelError: numberRef,
    worst: orNull(worstSchema),
    grade: orNull<PassGrade>({ type: 'string', enum: GRADES }),
  },
  required: ['output', 'elements', 'failingElements', 'maxErrorInBounds', 'maxErrorInTypical', 'maxUlp', 'maxAbsError', 'maxRelError', 'worst', 'grade'],
  additionalProperties: false,
};

/** The fields a status requires (the others stay absent). */
const FIELDS_BY_STATUS: Record<OutcomeStatus, (keyof ReportOutcome)[]> = {
  pass: ['grade', 'outputs', 'seconds'],
  fail: ['failing', 'outputs', 'seconds'],
  error: ['message'],
  timeout: ['timeoutMs'],
  missing: ['message'],
  skipped: ['reason'],
};

/** A precision class (src/precision-class.ts). */
const precisionSchema: JSONSchemaType<PrecisionClass> = {
  type: 'object',
  properties: {
    algorithm: { type: 'string', enum: [...PRECISION_ALGORITHMS] },
    tile: {
      type: 'object',
      properties: { output: { type: 'integer', minimum: 1 }, kernel: { type: 'integer', minimum: 1 } },
      required: ['output', 'kernel'],
      additionalProperties: false,
      nullable: true,
    },
    fpmath: { type: 'string', enum: [...FPMATH_MODES] },
  },
  required: ['algorithm', 'fpmath'],
  additionalProperties: false,
};

const outcomeSchema: JSONSchemaType<ReportOutcome> = {
  type: 'object',
  properties: {
    id: { type: 'string', minLength: 1 },
    family: { type: 'string', enum: [...DATA_FAMILIES] },
    dtype: { type: 'string', enum: [...DTYPES] },
    tags: { type: 'array', items: { type: 'string' } },
    status: { type: 'string', enum: STATUSES },
    notes: { type: 'array', items: { type: 'string' } },
    grade: { type: 'string', enum: GRADES, nullable: true },
    failing: { type: 'array', items: { type: 'string', enum: FAILING_NAMES }, minItems: 1, nullable: true },
    outputs: { type: 'array', items: metricsSchema, nullable: true },
    seconds: { type: 'number', minimum: 0, nullable: true },
    message: { type: 'string', nullable: true },
    detail: { type: 'string', nullable: true },
    timeoutMs: { type: 'integer', minimum: 1, nullable: true },
    reason: { type: 'string', nullable: true },
    precision: { ...precisionSchema, nullable: true },
    gradcheck: { ...gradcheckSchema, nullable: true },
  },
  required: ['id', 'family', 'dtype', 'tags', 'status', 'notes'],
  additionalProperties: false,
  allOf: STATUSES.map((status) => ({
    if: { properties: { status: { const: status } }, required: ['status'] },
    // The properties are repeated (as {}) because Ajv's strict mode wants every required name defined beside `required`.
    then: { properties: Object.fromEntries(FIELDS_BY_STATUS[status].map((field) => [field, {}])), required: FIELDS_BY_STATUS[status] },
  })),
} as JSONSchemaType<ReportOutcome>;

const capabilitiesSchema: JSONSchemaType<AdapterCapabilities> = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1 },
    layout: { type: 'string', enum: [...ACTIVATION_LAYOUTS] },
    filterLayout: { type: 'string', enum: [...FILTER_LAYOUTS] },
    dtypes: { type: 'array', items: { type: 'string', enum: [...DTYPES] }, minItems: 1, uniqueItems: true },
    supports: {
      anyOf: [
        {
          type: 'object',
          properties: { groups: { type: 'boolean' }, dilation: { type: 'boolean' }, asymmetricPads: { type: 'boolean' } },
          required: ['groups', 'dilation', 'asymmetricPads'],
          additionalProperties: false,
        },
        { type: 'string', const: 'function' },
      ],
    },
    outputs: { type: 'array', items: { type: 'string', enum: [...OUTPUT_NAMES] }, minItems: 1, uniqueItems: true },
    precision: { ...precisionSchema, nullable: true },
    forward: { type: 'boolean', nullable: true, description: 'true when the adapter has a forward (conv2dForward; a cmd: handshake\'s "forward": true).' },
  },
  required: ['name', 'layout', 'filterLayout', 'dtypes', 'supports', 'outputs'],
  additionalProperties: false,
};

const likelyCauseSchema: JSONSchemaType<ReportLikelyCause> = {
  type: 'object',
  description: 'A likely cause of the failures: a signature of conformance/diagnosis/signatures.ts and how well it fits.',
  properties: {
    cause: { type: 'string', minLength: 1 },
    title: { type: 'string', minLength: 1 },
    hint: { type: 'string' },
    score: { type: 'number', minimum: 0, maximum: 1 },
    recall: { type: 'number', minimum: 0, maximum: 1 },
    precision: { type: 'number', minimum: 0, maximum: 1 },
    consistency: { type: 'number', minimum: 0, maximum: 1 },
    evidence: { type: 'string' },
  },
  required: ['cause', 'title', 'hint', 'score', 'recall', 'precision', 'consistency', 'evidence'],
  additionalProperties: false,
};

const determinismSchema: JSONSchemaType<ReportDeterminism> = {
  type: 'object',
  description: '--repeat N: the fixtures whose outputs were not bitwise identical over N calls.',
  properties: {
    repeat: { type: 'integer', minimum: 2 },
    nondeterministic: {
      type: 'array',
      items: {
        type: 'object',
        properties: { id: { type: 'string', minLength: 1 }, outputs: { type: 'array', items: { type: 'string', enum: [...OUTPUT_NAMES] }, minItems: 1 } },
        required: ['id', 'outputs'],
        additionalProperties: false,
      },
    },
  },
  required: ['repeat', 'nondeterministic'],
  additionalProperties: false,
};

const fuzzFailureSchema: JSONSchemaType<ReportFuzzFailure> = {
  type: 'object',
  properties: {
    id: { type: 'string', minLength: 1 },
    case: { type: 'string', minLength: 1, description: 'The failing case as drawn, in its one-line form (docs/fuzzing.md).' },
    status: { type: 'string', enum: STATUSES },
    macs: { type: 'integer', minimum: 1 },
    shrunk: orNull<NonNullable<ReportFuzzFailure['shrunk']>>({
      type: 'object',
      description: 'The minimal failing case the shrinker found, and what finding it took.',
      properties: {
        id: { type: 'string', minLength: 1 },
        case: { type: 'string', minLength: 1 },
        macs: { type: 'integer', minimum: 1 },
        steps: { type: 'integer', minimum: 0 },
        runs: { type: 'integer', minimum: 0 },
        exhausted: { type: 'boolean' },
        status: { type: 'string', enum: STATUSES },
      },
      required: ['id', 'case', 'macs', 'steps', 'runs', 'exhausted', 'status'],
      additionalProperties: false,
    }),
    saved: orNull<string>({ type: 'string', minLength: 1 }),
  },
  required: ['id', 'case', 'status', 'macs', 'shrunk', 'saved'],
  additionalProperties: false,
};

const fuzzSchema: JSONSchemaType<ReportFuzz> = {
  type: 'object',
  description: 'A fuzz run (--fuzz N, --fuzz-replay CASE): the seed that draws the same cases again, the cases run, and every failure with its shrunk case.',
  properties: {
    seed: { type: 'integer', minimum: 0, maximum: 0xffffffff },
    requested: { type: 'integer', minimum: 1 },
    cases: nonNegativeInteger,
    timeSeconds: orNull<number>({ type: 'number', exclusiveMinimum: 0 }),
    stoppedByTime: { type: 'boolean' },
    replay: orNull<string>({ type: 'string', minLength: 1 }),
    casesDigest: { type: 'string', pattern: SHA256_PATTERN },
    meanMacs: { type: 'number', minimum: 0 },
    maxMacs: nonNegativeInteger,
    oracleSeconds: { type: 'number', minimum: 0 },
    shrinkSeconds: { type: 'number', minimum: 0 },
    failures: { type: 'array', items: fuzzFailureSchema },
  },
  required: ['seed', 'requested', 'cases', 'timeSeconds', 'stoppedByTime', 'replay', 'casesDigest', 'meanMacs', 'maxMacs', 'oracleSeconds', 'shrinkSeconds', 'failures'],
  additionalProperties: false,
};

export const reportSchema: JSONSchemaType<Report> = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'Conv2d backward conformance runner report (--json)',
  description:
    'Numbers that can be non-finite (metrics, worst element values) are JSON numbers when finite and the strings "Infinity", "-Infinity" or "NaN" otherwise.',
  type: 'object',
  $defs: {
    reportNumber: reportNumber as never,
  },
  properties: {
    format: { type: 'string', const: REPORT_FORMAT },
    reportVersion: { type: 'integer', const: REPORT_VERSION },
    tool: {
      type: 'object',
      properties: { name: { type: 'string', minLength: 1 }, version: { type: 'string', minLength: 1 } },
      required: ['name', 'version'],
      additionalProperties: false,
    },
    createdAt: { type: 'string', minLength: 1, description: 'ISO 8601 time the report was made.' },
    impl: { type: 'string', minLength: 1, description: '--impl as given: a module path, cmd:COMMAND or replay:DIR.' },
    adapter: capabilitiesSchema,
    corpus: {
      type: 'object',
      properties: {
        dir: { type: 'string' },
        corpusVersion: { type: 'string' },
        digest: { type: 'string', pattern: SHA256_PATTERN },
        fixtureCount: nonNegativeInteger,
        pin: {
          type: 'object',
          nullable: true,
          description: "The corpus's digest against the digest recorded in the package: match, mismatch (changed after release), unknown-version (never released).",
          properties: {
            status: { type: 'string', enum: ['match', 'mismatch', 'unknown-version'] },
            pinnedDigest: orNull<string>({ type: 'string', pattern: SHA256_PATTERN }),
            message: { type: 'string' },
          },
          required: ['status', 'pinnedDigest', 'message'],
          additionalProperties: false,
        },
      },
      required: ['dir', 'corpusVersion', 'digest', 'fixtureCount'],
      additionalProperties: false,
    },
    selection: {
      type: 'object',
      properties: {
        filter: orNull<string>({ type: 'string' }),
        only: orNull<string[]>({ type: 'array', items: { type: 'string' } }),
        shard: orNull<{ index: number; count: number }>({
          type: 'object',
          properties: { index: { type: 'integer', minimum: 1 }, count: { type: 'integer', minimum: 1 } },
          required: ['index', 'count'],
          additionalProperties: false,
        }),
        selected: nonNegativeInteger,
        notSelected: nonNegativeInteger,
        timeoutMs: { type: 'integer', minimum: 1 },
        jobs: { type: 'integer', minimum: 1 },
      },
      required: ['filter', 'only', 'shard', 'selected', 'notSelected', 'timeoutMs', 'jobs'],
      additionalProperties: false,
    },
    counts: {
      type: 'object',
      properties: {
        pass: nonNegativeInteger,
        fail: nonNegativeInteger,
        error: nonNegativeInteger,
        timeout: nonNegativeInteger,
        missing: nonNegativeInteger,
        skipped: nonNegativeInteger,
      },
      required: STATUSES,
      additionalProperties: false,
    },
    exitCode: { type: 'integer', enum: [0, 1] },
    seconds: { type: 'number', minimum: 0 },
    adapterSeconds: { type: 'number', minimum: 0 },
    outcomes: { type: 'array', items: outcomeSchema },
    likelyCauses: { type: 'array', items: likelyCauseSchema },
    determinism: orNull(determinismSchema),
    stopped: orNull<{ maxFailures: number; notRun: number }>({
      type: 'object',
      description: '--bail / --max-failures stopped the run: the limit, and how many selected fixtures were not run.',
      properties: { maxFailures: { type: 'integer', minimum: 1 }, notRun: nonNegativeInteger },
      required: ['maxFailures', 'notRun'],
      additionalProperties: false,
    }),
    fuzz: { ...fuzzSchema, nullable: true } as never,
  },
  required: [
    'format',
    'reportVersion',
    'tool',
    'createdAt',
    'impl',
    'adapter',
    'corpus',
    'selection',
    'counts',
    'exitCode',
    'seconds',
    'adapterSeconds',
    'outcomes',
    'likelyCauses',
    'determinism',
    'stopped',
  ],
  additionalProperties: false,
};

let reportValidator: ValidateFunction<Report> | undefined;

/** Check a report against the schema; throws E_SCHEMA listing every problem. */
export function validateReport(value: unknown, source: string): Report {
  reportValidator ??= ajv.compile(reportSchema);
  return validateWith(reportValidator, value, source, 'report');
}
