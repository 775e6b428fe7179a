/**
 * A small protobuf encoder for ONNX models: just the wire format (varints and
 * length-delimited fields) and the few messages of onnx.proto the onnxruntime backend needs
 * to describe a graph of standard operators. Nothing is decoded.
 *
 * Wire format (https://protobuf.dev/programming-guides/encoding/):
 *   tag     = varint(fieldNumber << 3 | wireType); wire type 0 = varint, 2 = length-delimited
 *   varint  = 7 bits per byte, least significant group first, high bit set on all bytes but the last
 *   int64   = a negative value is sent as its 64-bit two's complement: always 10 bytes
 *
 * Field numbers are those of onnx.proto (onnx/onnx, proto2 syntax). Repeated
 * integers are written unpacked (one tag per element), proto2's default, which
 * every parser accepts.
 */
import { ConformanceError, describeValue } from '../src/errors.js';

const WIRE_VARINT = 0;
const WIRE_LENGTH_DELIMITED = 2;
const UINT64_LIMIT = 1n << 64n;
const INT64_MIN = -(1n << 63n);

/**
 * The varint bytes of an integer. Negative values are int64 (two's complement on
 * 64 bits, 10 bytes); values must lie in [-2^63, 2^64).
 */
export function encodeVarint(value: number | bigint): Uint8Array {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) {
    throw new ConformanceError('E_WITNESS', `protobuf varint: expected a safe integer (or a bigint), found ${describeValue(value)}`, { value });
  }
  let rest = BigInt(value);
  if (rest < INT64_MIN || rest >= UINT64_LIMIT) {
    throw new ConformanceError('E_WITNESS', `protobuf varint: ${rest} is outside [-2^63, 2^64)`, { value: String(rest) });
  }
  if (rest < 0n) rest += UINT64_LIMIT;
  const bytes: number[] = [];
  while (rest >= 0x80n) {
    bytes.push(Number(rest & 0x7fn) | 0x80);
    rest >>= 7n;
  }
  bytes.push(Number(rest));
  return Uint8Array.from(bytes);
}

/** Appends fields of one message; `finish()` returns its bytes. */
export class ProtobufWriter {
  private readonly chunks: Uint8Array[] = [];
  private length = 0;

  private push(bytes: Uint8Array): this {
    this.chunks.push(bytes);
    this.length += bytes.length;
    return this;
  }

  private tag(fieldNumber: number, wireType: number): this {
    if (!Number.isInteger(fieldNumber) || fieldNumber < 1 || fieldNumber > 0x1fffffff) {
      throw new ConformanceError('E_WITNESS', `protobuf field number: expected an integer in [1, 2^29), found ${describeValue(fieldNumber)}`, { fieldNumber });
    }
    return this.push(encodeVarint(fieldNumber * 8 + wireType));
  }

  /** An integer field (int32, int64, enum, bool as 0/1): wire type 0. */
  varint(fieldNumber: number, value: number | bigint): this {
    return this.tag(fieldNumber, WIRE_VARINT).push(encodeVarint(value));
  }

  /** One tag per element (unpacked repeated integers). */
  repeatedVarint(fieldNumber: number, values: readonly number[]): this {
    for (const value of values) this.varint(fieldNumber, value);
    return this;
  }

  /** A bytes field or an embedded message: wire type 2, length then bytes. */
  bytes(fieldNumber: number, bytes: Uint8Array): this {
    return this.tag(fieldNumber, WIRE_LENGTH_DELIMITED).push(encodeVarint(bytes.length)).push(bytes);
  }

  /** A UTF-8 string field. */
  string(fieldNumber: number, text: string): this {
    return this.bytes(fieldNumber, new TextEncoder().encode(text));
  }

  finish(): Uint8Array {
    const result = new Uint8Array(this.length);
    let offset = 0;
    for (const chunk of this.chunks) {
      result.set(chunk, offset);
      offset += chunk.length;
    }
    return result;
  }
}

// ---------------------------------------------------------------------------
// onnx.proto, the part the onnxruntime backend uses.

/** TensorProto.DataType values. */
export const ONNX_ELEMENT_TYPE = { float: 1, int64: 7, float16: 10, double: 11 } as const;
export type OnnxElementType = keyof typeof ONNX_ELEMENT_TYPE;

/** AttributeProto.AttributeType values. */
const ATTRIBUTE_TYPE = { int: 2, ints: 7 } as const;

export type OnnxAttribute = { name: string; type: 'int'; value: number } | { name: string; type: 'ints'; value: number[] };

export interface OnnxNode {
  opType: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  attributes?: OnnxAttribute[];
}

/** A graph input or output: a tensor of fixed shape. */
export interface OnnxValueInfo {
  name: string;
  elementType: OnnxElementType;
  shape: number[];
}

export interface OnnxGraph {
  name: string;
  nodes: OnnxNode[];
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

export interface OnnxModel {
  /** ModelProto.ir_version (8 goes with opset 17). */
  irVersion: number;
  /** Version of the default ("ai.onnx") operator set. */
  opsetVersion: number;
  producerName: string;
  producerVersion: string;
  graph: OnnxGraph;
}

/** AttributeProto: name = 1, i = 3, ints = 8, type = 20. */
export function encodeAttribute(attribute: OnnxAttribute): Uint8Array {
  const writer = new ProtobufWriter().string(1, attribute.name);
  if (attribute.type === 'int') writer.varint(3, attribute.value);
  else writer.repeatedVarint(8, attribute.value);
  return writer.varint(20, ATTRIBUTE_TYPE[attribute.type]).finish();
}

/** NodeProto: input = 1, output = 2, name = 3, op_type = 4, attribute = 5. */
export function encodeNode(node: OnnxNode): Uint8Array {
  const writer = new ProtobufWriter();
  for (const input of node.inputs) writer.string(1, input);
  for (const output of node.outputs) writer.string(2, output);
  if (node.name !== undefined) writer.string(3, node.name);
  writer.string(4, node.opType);
  for (const attribute of node.attributes ?? []) writer.bytes(5, encodeAttribute(attribute));
  return writer.finish();
}

/**
 * ValueInfoProto (name = 1, type = 2) holding a TypeProto (tensor_type = 1) whose
 * TypeProto.Tensor has elem_type = 1 and shape = 2; TensorShapeProto has dim = 1,
 * each Dimension a dim_value = 1.
 */
export function encodeValueInfo(info: OnnxValueInfo): Uint8Array {
  const shape = new ProtobufWriter();
  for (const size of info.shape) shape.bytes(1, new ProtobufWriter().varint(1, size).finish());
  const tensorType = new ProtobufWriter().varint(1, ONNX_ELEMENT_TYPE[info.elementType]).bytes(2, shape.finish()).finish();
  const type = new ProtobufWriter().bytes(1, tensorType).finish();
  return new ProtobufWriter().string(1, info.name).bytes(2, type).finish();
}

/** GraphProto: node = 1, name = 2, input = 11, output = 12. */
export function encodeGraph(graph: OnnxGraph): Uint8Array {
  const writer = new ProtobufWriter();
  for (const node of graph.nodes) writer.bytes(1, encodeNode(node));
  writer.string(2, graph.name);
  for (const input of graph.inputs) writer.bytes(11, encodeValueInfo(input));
  for (const output of graph.outputs) writer.bytes(12, encodeValueInfo(output));
  return writer.finish();
}

/**
 * ModelProto: ir_version = 1, producer_name = 2, producer_version = 3, graph = 7,
 * opset_import = 8 (OperatorSetIdProto: domain = 1, version = 2; the empty domain is ai.onnx).
 */
export function encodeModel(model: OnnxModel): Uint8Array {
  const opset = new ProtobufWriter().string(1, '').varint(2, model.opsetVersion).finish();
  return new ProtobufWriter()
    .varint(1, model.irVersion)
    .string(2, model.producerName)
    .string(3, model.producerVersion)
    .bytes(7, encodeGraph(model.graph))
    .bytes(8, opset)
    .finish();
}
