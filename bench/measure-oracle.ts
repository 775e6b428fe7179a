/**
 * Our float64 oracle's backward (src/oracle conv2dBackward: dx, dw, db) against
 * onnxruntime-node's float32 backward (backends/onnxruntime.ts: one
 * cached single-threaded session per geometry, the same one the generator and
 * the bundled onnxruntime adapter use) on the realistic layers of the case
 * catalog whose accumulation lengths reach the thousands, with the `normal`
 * data of their fixtures. Both run in this process, alternating, several
 * times; the ratio is of the medians, so machine noise mostly cancels.
 */
import { performance } from 'node:perf_hooks';
import { DATA_FAMILY_DEFINITIONS } from '../src/data-families.js';
import { planCorpus, type FixturePlan } from '../generator/fixture-plan.js';
import { fromFloat64Array } from '../src/dtype.js';
import { accumulationLengths } from '../src/geometry.js';
import { conv2dBackward } from '../src/oracle/index.js';
import { Prng } from '../src/prng.js';
import type { Float64Tensor, Tensor } from '../src/types.js';
import { median } from './measure-runner.js';

/** Layers whose longest accumulation (dx, dw or db) is at least this long count as realistic here. */
export const MIN_ACCUMULATION_LENGTH = 1000;

export interface LayerTiming {
  case: string;
  x: number[];
  w: number[];
  accumulationLengths: { dx: number; dw: number; db: number };
  oracleMedianSeconds: number;
  onnxruntimeMedianSeconds: number;
  /** oracle / onnxruntime on this layer. */
  ratio: number;
}

export interface OracleMeasurement {
  /** Sum of the oracle's medians / sum of onnxruntime's medians over the layers. */
  vsOnnxruntime: number;
  repetitions: number;
  onnxruntimeVersion: string;
  layers: LayerTiming[];
}

/** The float32 `normal` fixtures of the catalog's realistic cases with an accumulation of at least MIN_ACCUMULATION_LENGTH. */
export function realisticPlans(): FixturePlan[] {
  return planCorpus({ families: ['normal'] }).filter((plan) => {
    if (plan.dtype !== 'float32' || !plan.tags.includes('realistic')) return false;
    const lengths = accumulationLengths(plan.geometry);
    return Math.max(lengths.dx, lengths.dw, lengths.db) >= MIN_ACCUMULATION_LENGTH;
  });
}

function seconds(start: number): number {
  return (performance.now() - start) / 1000;
}

export async function measureOracle(options: { repetitions: number }): Promise<OracleMeasurement> {
  const { createOnnxruntimeBackend } = await import('../backends/onnxruntime.js');
  const witness = await createOnnxruntimeBackend();
  const layers: LayerTiming[] = [];
  try {
    for (const plan of realisticPlans()) {
      const data = DATA_FAMILY_DEFINITIONS[plan.family].draw({ prng: new Prng(plan.seed), geometry: plan.geometry, dtype: plan.dtype, variant: plan.variant, attempt: 0 });
      const float64 = (shape: number[], values: Float64Array): Float64Tensor => ({ dtype: 'float64', shape: [...shape], data: values });
      const float32 = (shape: number[], values: Float64Array): Tensor => ({ dtype: 'float32', shape: [...shape], data: fromFloat64Array(values, 'float32') });
      const { xShape, wShape, dyShape } = plan.geometry;
      const oracleInputs = { x: float64(xShape, data.x), w: float64(wShape, data.w), dy: float64(dyShape, data.dy) };
      const ortRequest = { x: float32(xShape, data.x), w: float32(wShape, data.w), dy: float32(dyShape, data.dy), params: plan.params };
      // Warm-up: the session is built and cached, and both code paths are compiled.
      await witness.compute(ortRequest);
      conv2dBackward(oracleInputs.x, oracleInputs.w, oracleInputs.dy, plan.params);
      const oracleTimes: number[] = [];
      const ortTimes: number[] = [];
      for (let repetition = 0; repetition < options.repetitions; repetition++) {
        let start = performance.now();
        conv2dBackward(oracleInputs.x, oracleInputs.w, oracleInputs.dy, plan.params);
        oracleTimes.push(seconds(start));
        start = performance.now();
        await witness.compute(ortRequest);
        ortTimes.push(seconds(start));
      }
      const oracleMedianSeconds = median(oracleTimes);
      const onnxruntimeMedianSeconds = median(ortTimes);
      layers.push({
        case: plan.spec.name,
        x: xShape,
        w: wShape,
        accumulationLengths: accumulationLengths(plan.geometry),
        oracleMedianSeconds,
        onnxruntimeMedianSeconds,
        ratio: oracleMedianSeconds / onnxruntimeMedianSeconds,
      });
    }
  } finally {
    await witness.dispose();
  }
  const oracleTotal = layers.reduce((sum, layer) => sum + layer.oracleMedianSeconds, 0);
  const ortTotal = layers.reduce((sum, layer) => sum + layer.onnxruntimeMedianSeconds, 0);
  return { vsOnnxruntime: oracleTotal / ortTotal, repetitions: options.repetitions, onnxruntimeVersion: witness.version, layers };
}
