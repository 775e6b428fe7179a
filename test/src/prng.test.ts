import t from 'tap';
import { Prng } from '../../src/prng.js';

t.test('same seed gives the same sequence, different seeds differ', async (t) => {
  const a = new Prng(42);
  const b = new Prng(42);
  const c = new Prng(43);
  const seqA = Array.from({ length: 8 }, () => a.nextUint32());
  const seqB = Array.from({ length: 8 }, () => b.nextUint32());
  const seqC = Array.from({ length: 8 }, () => c.nextUint32());
  t.same(seqA, seqB);
  t.notSame(seqA, seqC);
});
