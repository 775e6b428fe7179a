/**
 * Typed errors. Each carries a stable `code` and the context that produced it;
 * only the CLI entry points map codes to exit statuses.
 */

export type ErrorCode =
  | 'E_GEOMETRY'
  | 'E_NPY'
  | 'E_FIXTURE'
  | 'E_SCHEMA'
  | 'E_CHECKSUM'
  | 'E_MISSING_FILE'
  | 'E_FILE_KIND'
  | 'E_FILE_SIZE'
  | 'E_CORPUS'
  | 'E_MANIFEST'
  | 'E_WITNESS'
  | 'E_WITNESS_DISAGREES'
  | 'E_BACKEND_MISSING'
  | 'E_GENERATOR'
  | 'E_ADAPTER_LOAD'
  | 'E_ADAPTER_SHAPE'
  | 'E_ADAPTER_RESULT'
  | 'E_USAGE'
  | 'E_ARCHIVE'
  | 'E_FETCH';

export class ConformanceError extends Error {
  readonly code: ErrorCode;
  readonly context: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, context: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConformanceError';
    this.code = code;
    this.context = context;
  }
}

export function isConformanceError(error: unknown, code?: ErrorCode): error is ConformanceError {
  return error instanceof ConformanceError && (code === undefined || error.code === code);
}

/** Describe a value for an error message: its JSON form, or its type when that fails. */
export function describeValue(value: unknown): string {
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  if (value === undefined) return 'undefined';
  try {
    const text = JSON.stringify(value);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
  } catch (error) {
    return `<${typeof value}: ${(error as Error).message}>`;
  }
}
