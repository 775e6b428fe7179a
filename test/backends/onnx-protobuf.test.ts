import t from 'tap';
import {
  encodeAttribute,
  encodeModel,
  encodeNode,
  encodeValueInfo,
  encodeVarint,
  ProtobufWriter,
} from '../../backends/onnx-protobuf.js';

const bytesOf = (text: string): number[] => [...new TextEncoder().encode(text)];

t.test('varints against hand-computed bytes', async (t) => {
  // 0 and 127 fit in 7 bits: one byte, continuation bit clear.
  t.same([...encodeVarint(0)], [0x00]);
  t.same([...encodeVarint(127)], [0x7f]);
  // 128 = 0b1_0000000: low group 0000000 with the continuation bit (0x80), then 1.
  t.same([...encodeVarint(128)], [0x80, 0x01]);
  // 300 = 0b10_0101100: low group 0101100 = 0x2c, | 0x80 = 0xac; then 300 >> 7 = 2.
  t.same([...encodeVarint(300)], [0xac, 0x02]);
  // 2^32: bit 32 lies in the fifth 7-bit group (bits 28..34) at position 32 - 28 = 4,
  // so four 0x80 bytes (zero groups with continuation) and then 1 << 4 = 0x10.
  t.same([...encodeVarint(2 ** 32)], [0x80, 0x80, 0x80, 0x80, 0x10]);
  t.same([...encodeVarint(2n ** 32n)], [0x80, 0x80, 0x80, 0x80, 0x10]);
  // int64 -1 is 2^64 - 1: 64 one bits = nine full groups (63 bits, 0xff with continuation)
  // and a last group holding the remaining single bit, 0x01. Ten bytes.
  t.same([...encodeVarint(-1)], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
  // int64 -2 is 2^64 - 2: the lowest group is 1111110 = 0x7e, | 0x80 = 0xfe; the rest as for -1.
  t.same([...encodeVarint(-2)], [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
  // int64 minimum -2^63 = two's complement 1 followed by 63 zeros: nine zero groups
  // (0x80 each) and the top bit, 63 - 63 = bit 0 of the tenth group: 0x01.
  t.same([...encodeVarint(-(2n ** 63n))], [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]);
});

t.test('varints out of range are refused', async (t) => {
  for (const value of [2n ** 64n, -(2n ** 63n) - 1n, 0.5, 2 ** 53, Number.NaN]) {
    t.throws(() => encodeVarint(value), { name: 'ConformanceError', code: 'E_WITNESS' }, String(value));
  }
});

t.test('fields: tag = fieldNumber << 3 | wire type', async (t) => {
  // Field 1 varint 150: tag 1 << 3 | 0 = 0x08; 150 = 0b1_0010110 -> 0x96 0x01 (the protobuf docs' example).
  t.same([...new ProtobufWriter().varint(1, 150).finish()], [0x08, 0x96, 0x01]);
  // Field 2 string "testing": tag 2 << 3 | 2 = 0x12, length 7, the bytes.
  t.same([...new ProtobufWriter().string(2, 'testing').finish()], [0x12, 0x07, ...bytesOf('testing')]);
  // Field 16 varint 1: tag 16 << 3 = 128 needs two bytes, 0x80 0x01.
  t.same([...new ProtobufWriter().varint(16, 1).finish()], [0x80, 0x01, 0x01]);
  // Unpacked repeated: one tag per element.
  t.same([...new ProtobufWriter().repeatedVarint(8, [1, 2]).finish()], [0x40, 0x01, 0x40, 0x02]);
  t.throws(() => new ProtobufWriter().varint(0, 1), { name: 'ConformanceError', code: 'E_WITNESS' });
});

t.test('ONNX messages', async (t) => {
  // AttributeProto {name: "group" (field 1), i: 2 (field 3), type: INT = 2 (field 20)}:
  // 0x0a len 5 "group", 0x18 0x02, tag 20 << 3 = 160 = 0xa0 0x01, then 2.
  t.same([...encodeAttribute({ name: 'group', type: 'int', value: 2 })], [0x0a, 0x05, ...bytesOf('group'), 0x18, 0x02, 0xa0, 0x01, 0x02]);
  // ints go to field 8 (tag 0x40) one by one; -1 takes ten bytes; type INTS = 7.
  t.same(
    [...encodeAttribute({ name: 'p', type: 'ints', value: [3, -1] })],
    [0x0a, 0x01, ...bytesOf('p'), 0x40, 0x03, 0x40, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0xa0, 0x01, 0x07],
  );
  // NodeProto: input (1), output (2), name (3), op_type (4).
  t.same(
    [...encodeNode({ opType: 'Abs', name: 'n', inputs: ['a'], outputs: ['b'] })],
    [0x0a, 0x01, ...bytesOf('a'), 0x12, 0x01, ...bytesOf('b'), 0x1a, 0x01, ...bytesOf('n'), 0x22, 0x03, ...bytesOf('Abs')],
  );
  // ValueInfoProto {name "v", type {tensor_type {elem_type FLOAT = 1, shape {dim {dim_value 3}}}}}:
  // Dimension = 08 03 (2 bytes); TensorShapeProto = 0a 02 08 03 (4); TypeProto.Tensor = 08 01 12 04 .. (8);
  // TypeProto = 0a 08 .. (10); ValueInfoProto = 0a 01 'v' 12 0a ..
  t.same(
    [...encodeValueInfo({ name: 'v', elementType: 'float', shape: [3] })],
    [0x0a, 0x01, ...bytesOf('v'), 0x12, 0x0a, 0x0a, 0x08, 0x08, 0x01, 0x12, 0x04, 0x0a, 0x02, 0x08, 0x03],
  );
  // ModelProto starts with ir_version (field 1) and ends with opset_import (field 8):
  // OperatorSetIdProto {domain "" (0a 00), version 17 (10 11)} -> 42 04 0a 00 10 11.
  const model = encodeModel({
    irVersion: 8,
    opsetVersion: 17,
    producerName: 'p',
    producerVersion: '1',
    graph: { name: 'g', nodes: [], inputs: [], outputs: [] },
  });
  t.same([...model.slice(0, 2)], [0x08, 0x08]);
  t.same([...model.slice(-6)], [0x42, 0x04, 0x0a, 0x00, 0x10, 0x11]);
});
