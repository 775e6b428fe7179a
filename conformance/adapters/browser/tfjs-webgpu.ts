/**
 * tfjs-webgpu: TensorFlow.js's WebGPU kernels (@tensorflow/tfjs-backend-webgpu),
 * scored in headless Chromium by the `browser:` host
 * (`--impl browser:dist/conformance/adapters/browser/tfjs-webgpu.js`).
 *
 * dx and dw come from the backend's Conv2DBackpropInput and Conv2DBackpropFilter
 * kernels, db from tf.sum. Those kernels take one group and no dilation (NHWC / HWIO),
 * so groups and dilation are rewritten exactly into plain convolutions by the same
 * decomposition as the generator's TF.js witness (generator/witnesses/tfjs-decompositions.ts).
 *
 * That decomposition calls the plain kernels synchronously, but reading a WebGPU tensor
 * is asynchronous (readSync is for CPU-resident tensors only). So it runs twice: a first
 * pass launches every plain kernel and records its tensor (answering zeros), the results
 * are read, and a second pass gets the recorded results in the same order. Which plain
 * calls the decomposition makes depends only on the shapes, the parameters and whether
 * dy is finite, never on the values returned, so both passes make the same calls.
 *
 * float32 only: the backend computes in float32 (float16 and float64 are not declared).
 * Needs @tensorflow/tfjs-backend-webgpu and @tensorflow/tfjs-core (optional peer dependencies).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu';
import { decomposedConv2dBackward, hwioToOihw, nchwToNhwc, nhwcToNchw, oihwToHwio, type PlainConvBackward } from '../../../backends/tfjs-decompositions.js';
import { shapeSize } from '../../../src/geometry.js';
import type { Adapter, BackwardRequest, BackwardResult, Float64Tensor, Pads, Tensor } from '../../../src/types.js';

function explicitPadding(pads: Pads): [[number, number], [number, number], [number, number], [number, number]] {
  return [
    [0, 0],
    [pads.top, pads.bottom],
    [pads.left, pads.right],
    [0, 0],
  ];
}

function float64(tensor: Tensor): Float64Tensor {
  return { dtype: 'float64', shape: [...tensor.shape], data: Float64Array.from(tensor.data) };
}

function tensor4d(values: Float64Tensor): tf.Tensor4D {
  return tf.tensor4d(Float32Array.from(values.data), values.shape as [number, number, number, number], 'float32');
}

/** One plain kernel launched in the first pass: its output tensor and how to turn it into NCHW / OIHW. */
interface Launched {
  tensor: tf.Tensor;
  shape: number[];
  toCorpusLayout: (values: Float64Tensor) => Float64Tensor;
}

/** The first pass: launch each plain kernel, keep its tensor, answer zeros of the right size. */
function launchingBackend(launched: Launched[]): PlainConvBackward {
  return {
    inputGradient(dy, w, xShape, stride, pads) {
      const [batch, inChannels, inHeight, inWidth] = xShape;
      const inputShape: [number, number, number, number] = [batch, inHeight, inWidth, inChannels];
      const dyTensor = tensor4d(nchwToNhwc(dy));
      const filter = tensor4d(oihwToHwio(w));
      const dx = tf.engine().runKernel(
        'Conv2DBackpropInput',
        { dy: dyTensor, filter },
        { strides: stride, pad: explicitPadding(pads), dataFormat: 'NHWC', dimRoundingMode: 'floor', inputShape } as unknown as tf.NamedAttrMap,
      ) as tf.Tensor;
      dyTensor.dispose();
      filter.dispose();
      launched.push({ tensor: dx, shape: inputShape, toCorpusLayout: nhwcToNchw });
      return new Float64Array(shapeSize(xShape));
    },
    filterGradient(x, dy, wShape, stride, pads) {
      const [outChannels, inChannels, kernelHeight, kernelWidth] = wShape;
      const filterShape: [number, number, number, number] = [kernelHeight, kernelWidth, inChannels, outChannels];
      const xTensor = tensor4d(nchwToNhwc(x));
      const dyTensor = tensor4d(nchwToNhwc(dy));
      const dw = tf.engine().runKernel(
        'Conv2DBackpropFilter',
        { x: xTensor, dy: dyTensor },
        { strides: stride, pad: explicitPadding(pads), dataFormat: 'NHWC', dimRoundingMode: 'floor', filterShape } as unknown as tf.NamedAttrMap,
      ) as tf.Tensor;
      xTensor.dispose();
      dyTensor.dispose();
      launched.push({ tensor: dw, shape: filterShape, toCorpusLayout: hwioToOihw });
      return new Float64Array(shapeSize(wShape));
    },
  };
}

/** The second pass: the recorded results, in the order the first pass asked for them. */
function replayingBackend(results: Float64Array[]): PlainConvBackward {
  let next = 0;
  const take = (): Float64Array => {
    const result = results[next++];
    if (result === undefined) throw new Error(`tfjs-webgpu adapter: the decomposition asked for plain call ${next}, but only ${results.length} were recorded`);
    return result;
  };
  return { inputGradient: take, filterGradient: take };
}

async function readLaunched(launched: Launched[]): Promise<Float64Array[]> {
  try {
    return await Promise.all(
      launched.map(async ({ tensor, shape, toCorpusLayout }) => {
        const values = await tensor.data<'float32'>();
        if (tensor.shape.join(',') !== shape.join(',')) throw new Error(`a plain kernel returned shape [${tensor.shape.join(', ')}], expected [${shape.join(', ')}]`);
        return toCorpusLayout({ dtype: 'float64', shape, data: Float64Array.from(values) }).data;
      }),
    );
  } finally {
    for (const { tensor } of launched) tensor.dispose();
  }
}

const adapter: Adapter = {
  name: 'tfjs-webgpu',
  layout: 'NCHW',
  filterLayout: 'OIHW',
  dtypes: ['float32'],
  supports: { groups: true, dilation: true, asymmetricPads: true },
  outputs: ['dx', 'dw', 'db'],

  async init() {
    if (!(await tf.setBackend('webgpu'))) throw new Error("tf.setBackend('webgpu') returned false: WebGPU is not available in this browser");
    await tf.ready();
  },

  async conv2dBackward(request: BackwardRequest): Promise<BackwardResult> {
    const x = float64(request.x);
    const w = float64(request.w);
    const dy = float64(request.dy);
    const launched: Launched[] = [];
    decomposedConv2dBackward(x, w, dy, request.params, launchingBackend(launched));
    const dyTensor = tensor4d(dy);
    const dbTensor = tf.sum(dyTensor, [0, 2, 3]);
    dyTensor.dispose();
    const [results, db] = await Promise.all([readLaunched(launched), dbTensor.data<'float32'>().finally(() => dbTensor.dispose())]);
    const gradients = decomposedConv2dBackward(x, w, dy, request.params, replayingBackend(results));
    return {
      dx: { dtype: 'float32', shape: [...request.x.shape], data: Float32Array.from(gradients.dx.data) },
      dw: { dtype: 'float32', shape: [...request.w.shape], data: Float32Array.from(gradients.dw.data) },
      db: { dtype: 'float32', shape: [request.w.shape[0]], data: Float32Array.from(db) },
    };
  },
};

export default adapter;
