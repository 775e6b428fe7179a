/**
 * The class report (conformance/self-test/class-report.ts): a bug is judged under each class,
 * and a wider class can stop catching it. On two float32 normal fixtures: inputs rounded to
 * bfloat16 is exactly what fpmath bf16 declares (not caught there, caught under direct and tf32,
 * whose input rounding is 2^-11, not 2^-8); the stride bug cannot show under Winograd, which
 * applies only to stride 1 (the strided fixture is not judged under it).
 */
import t from 'tap';
import { classCatchReport, formatClassReport } from '../../conformance/self-test/class-report.js';

t.test('the class report counts per bug and class what fails and what was judged', async (t) => {
  const report = await classCatchReport({ filter: 'id=basic-3x3-pad1-normal-f32|stride-2x3-normal-f32' });
  const row = (name: string) => report.find((entry) => entry.entry === name)!.counts;
  const bfloat16Inputs = row('buggy-inputs-rounded-to-bfloat16');
  t.same(bfloat16Inputs.direct, { failing: 2, judged: 2 });
  t.same(bfloat16Inputs['direct/tf32'], { failing: 2, judged: 2 });
  t.same(bfloat16Inputs['direct/bf16'], { failing: 0, judged: 2 }, 'the bug is the declared mode');
  const strides = row('buggy-strides-swapped');
  t.same(strides.direct, { failing: 1, judged: 2 }, 'only the 2x3 stride shows it');
  t.same(strides['winograd F(4x4,3x3)'], { failing: 0, judged: 1 }, 'Winograd judges only the stride-1 fixture');
  t.match(formatClassReport(report), /^bug +direct +direct\/tf32 +direct\/bf16 +winograd F\(4x4,3x3\) +fft$/m);
});
