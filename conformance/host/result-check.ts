/**
 * Checks of what an adapter returns for one fixture, shared by the adapter's
 * child process (which checks first, for precise messages) and the runner
 * (which checks again what it received: it trusts nothing from the child).
 */
import { expectedArrayType } from '../../src/dtype.js';
import { ConformanceError, describeValue } from '../../src/errors.js';
import { shapeSize } from '../../src/geometry.js';
import { OUTPUT_NAMES, type Dtype, type OutputName, type ScoredName, type Tensor } from '../../src/types.js';

/** What one output must look like, in the adapter's layout. */
export interface ExpectedOutput {
  dtype: Dtype;
  shape: number[];
  /** 'NHWC', 'OIHW', '[Cout]'... for messages. */
  layout: string;
}

export type ExpectedOutputs = Partial<Record<OutputName, ExpectedOutput>>;

/** Name the kind of a value for a message: 'Float64Array', 'Array', 'undefined', 'object of class Foo'. */
export function describeKind(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (ArrayBuffer.isView(value)) return value.constructor.name;
  if (Array.isArray(value)) return `an Array of ${value.length} elements`;
  if (typeof value === 'object') {
    const constructorName = (value as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof constructorName === 'string' && constructorName !== 'Object' ? `an object of class ${constructorName}` : 'a plain object';
  }
  return `${typeof value} ${describeValue(value)}`;
}

function isTypedArrayOf(data: unknown, dtype: Dtype): boolean {
  if (dtype === 'float64') return data instanceof Float64Array;
  if (dtype === 'float32') return data instanceof Float32Array;
  return data instanceof Uint16Array;
}

function resultError(message: string, context: Record<string, unknown>): ConformanceError {
  return new ConformanceError('E_ADAPTER_RESULT', message, context);
}

/** Check one returned output; returns it as a Tensor or throws E_ADAPTER_RESULT. */
export function checkOutputTensor(name: ScoredName, value: unknown, expected: ExpectedOutput): Tensor {
  const wanted = `a tensor {dtype: '${expected.dtype}', shape: [${expected.shape.join(', ')}] (${expected.layout}), data: ${expectedArrayType(expected.dtype)}}`;
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value) || Array.isArray(value)) {
    throw resultError(`${name}: expected ${wanted}, found ${describeKind(value)}`, { output: name });
  }
  const candidate = value as Record<string, unknown>;
  if (candidate.dtype !== expected.dtype) {
    throw resultError(`${name}.dtype: expected '${expected.dtype}' (the fixture's dtype), found ${describeValue(candidate.dtype)}`, { output: name });
  }
  const shape = candidate.shape;
  const sameShape =
    Array.isArray(shape) && shape.length === expected.shape.length && shape.every((size, axis) => size === expected.shape[axis]);
  if (!sameShape) {
    const found = Array.isArray(shape) ? `[${shape.map((size) => describeValue(size)).join(', ')}]` : describeKind(shape);
    throw resultError(`${name}.shape: expected [${expected.shape.join(', ')}] (${expected.layout}), found ${found}`, { output: name });
  }
  const data = candidate.data;
  if (!isTypedArrayOf(data, expected.dtype)) {
    const storage = expected.dtype === 'float16' ? ' (float16 travels as raw binary16 bits)' : '';
    throw resultError(`${name}.data: expected a ${expectedArrayType(expected.dtype)}${storage}, found ${describeKind(data)}`, { output: name });
  }
  const length = (data as ArrayLike<number>).length;
  const size = shapeSize(expected.shape);
  if (length !== size) {
    throw resultError(`${name}.data: expected ${size} elements for shape [${expected.shape.join(', ')}], found ${length}`, { output: name });
  }
  return { dtype: expected.dtype, shape: [...expected.shape], data: data as Tensor['data'] };
}

export interface CheckedResult {
  outputs: Partial<Record<OutputName, Tensor>>;
  notes: string[];
}

/**
 * Check the whole result object: every expected output present and well-formed.
 * Outputs returned but not declared are ignored with a note.
 */
export function checkBackwardResult(result: unknown, expected: ExpectedOutputs): CheckedResult {
  const declared = OUTPUT_NAMES.filter((name) => expected[name] !== undefined);
  if (typeof result !== 'object' || result === null || Array.isArray(result) || ArrayBuffer.isView(result)) {
    throw resultError(`conv2dBackward returned ${describeKind(result)}; expected an object {${declared.join(', ')}} of tensors`, {});
  }
  const record = result as Record<string, unknown>;
  const outputs: Partial<Record<OutputName, Tensor>> = {};
  const notes: string[] = [];
  for (const name of OUTPUT_NAMES) {
    const want = expected[name];
    if (want === undefined) {
      if (record[name] !== undefined) notes.push(`${name} returned but not declared in outputs: not scored`);
      continue;
    }
    if (record[name] === undefined) {
      throw resultError(`${name}: missing from the result (the adapter declares outputs ${declared.join(', ')}); found keys ${describeValue(Object.keys(record))}`, {
        output: name,
      });
    }
    outputs[name] = checkOutputTensor(name, record[name], want);
  }
  return { outputs, notes };
}

/**
 * Check what conv2dForward returned: an object { y } with y a tensor of the fixture's dtype
 * and the output shape in the adapter's activation layout. Returns y or throws E_ADAPTER_RESULT.
 */
export function checkForwardResult(result: unknown, expected: ExpectedOutput): Tensor {
  if (typeof result !== 'object' || result === null || Array.isArray(result) || ArrayBuffer.isView(result)) {
    throw resultError(`conv2dForward returned ${describeKind(result)}; expected an object { y } with y a tensor`, { output: 'y' });
  }
  const record = result as Record<string, unknown>;
  if (record.y === undefined) {
    throw resultError(`y: missing from conv2dForward's result; expected { y }, found keys ${describeValue(Object.keys(record))}`, { output: 'y' });
  }
  return checkOutputTensor('y', record.y, expected);
}
