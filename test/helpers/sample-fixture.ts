/**
 * A small, valid fixture (metadata and tensors) for the tests of the fixture and
 * manifest modules. Data is seeded; gradients and magnitudes come from the oracle,
 * shapes and tolerance fields from derivedFixtureFields (src/fixture-io.ts).
 */
import { fromFloat64Array } from '../../src/dtype.js';
import { derivedFixtureFields, type FixtureTensors } from '../../src/fixture-io.js';
import { conv2dGeometry, resolvePadding, shapeSize } from '../../src/geometry.js';
import { conv2dBackward, conv2dBackwardMagnitude } from '../../src/oracle/index.js';
import { Prng } from '../../src/prng.js';
import type { Conv2dParams, DataFamily, Dtype, FixtureMeta, Float64Tensor, PaddingMode } from '../../src/types.js';

export interface SampleOptions {
  id?: string;
  dtype?: Dtype;
  family?: DataFamily;
  seed?: number;
  /** SAME_UPPER exercises the padding-mode check; EXPLICIT uses asymmetric pads. */
  paddingMode?: Extract<PaddingMode, 'EXPLICIT' | 'SAME_UPPER'>;
}

export interface SampleFixture {
  meta: Omit<FixtureMeta, 'files'>;
  tensors: FixtureTensors;
}

function randomTensor(shape: number[], prng: Prng): Float64Tensor {
  const data = new Float64Array(shapeSize(shape));
  // Multiples of 1/4 in [-2, 2]: exactly representable in every dtype, so the inputs round-trip.
  for (let index = 0; index < data.length; index++) data[index] = prng.integer(-8, 8) / 4;
  return { dtype: 'float64', shape, data };
}

export function sampleFixture(options: SampleOptions = {}): SampleFixture {
  const dtype = options.dtype ?? 'float32';
  const family = options.family ?? 'normal';
  const seed = options.seed ?? 11;
  const paddingMode = options.paddingMode ?? 'EXPLICIT';
  const id = options.id ?? `sample-stride-2x1-${family}-${dtype === 'float16' ? 'f16' : dtype === 'float32' ? 'f32' : 'f64'}`;
  const prng = new Prng(seed);
  // N=2, C=4, H=5, W=6; Cout=6 with groups 2 -> w [6, 2, 3, 2].
  const xShape = [2, 4, 5, 6];
  const wShape = [6, 2, 3, 2];
  const stride: [number, number] = [2, 1];
  const dilation: [number, number] = [1, 2];
  const pads =
    paddingMode === 'EXPLICIT' ? { top: 1, bottom: 0, left: 2, right: 1 } : resolvePadding('SAME_UPPER', [xShape[2], xShape[3]], [wShape[2], wShape[3]], stride, dilation);
  const params: Conv2dParams = { stride, dilation, pads, groups: 2 };
  const geometry = conv2dGeometry(xShape, wShape, params);
  const x = randomTensor(geometry.xShape, prng);
  const w = randomTensor(geometry.wShape, prng);
  const dy = randomTensor(geometry.dyShape, prng);
  const gradients = conv2dBackward(x, w, dy, params);
  const magnitude = conv2dBackwardMagnitude(x, w, dy, params);
  const meta: Omit<FixtureMeta, 'files'> = {
    id,
    formatVersion: 1,
    op: 'conv2d_backward',
    description: 'A small grouped, strided, dilated case for the fixture I/O tests.',
    case: 'sample-stride-2x1',
    dtype,
    family,
    seed,
    tags: ['groups', 'stride', 'dilation'],
    params,
    padding: { mode: paddingMode },
    ...derivedFixtureFields(geometry, dtype, 'bound'),
    witnesses: { agreed: true, backends: ['onnxruntime', 'tfjs'] },
  };
  const tensors: FixtureTensors = {
    x: { dtype, shape: x.shape, data: fromFloat64Array(x.data, dtype) },
    w: { dtype, shape: w.shape, data: fromFloat64Array(w.data, dtype) },
    dy: { dtype, shape: dy.shape, data: fromFloat64Array(dy.data, dtype) },
    dx: gradients.dx,
    dw: gradients.dw,
    db: gradients.db,
    'dx-magnitude': magnitude.dx,
    'dw-magnitude': magnitude.dw,
    'db-magnitude': magnitude.db,
  };
  return { meta, tensors };
}
