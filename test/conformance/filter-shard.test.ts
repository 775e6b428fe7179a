/** The --filter language, --shard, and how --only/--filter/--shard combine. */
import fc from 'fast-check';
import t from 'tap';
import { matchesFilter, parseFilter, type FilterSubject } from '../../conformance/filter.js';
import { selectFixtures } from '../../conformance/run.js';
import { parseShard, selectShard } from '../../conformance/shard.js';
import { isConformanceError } from '../../src/errors.js';
import type { FixtureMeta } from '../../src/types.js';

const subject = (fields: Partial<FilterSubject>): FilterSubject => ({
  id: 'stride-2-normal-f32',
  family: 'normal',
  dtype: 'float32',
  case: 'stride-2',
  tags: ['strided', 'groups'],
  ...fields,
});

function matches(expression: string, fields: Partial<FilterSubject> = {}): boolean {
  return matchesFilter(parseFilter(expression), subject(fields));
}

t.test('terms: =, !=, ~, !~ on every key; comma is AND; | is OR among values', async (t) => {
  t.ok(matches('family=normal'));
  t.notOk(matches('family=exact'));
  t.ok(matches('family=exact|normal'));
  t.ok(matches('dtype!=float16'));
  t.notOk(matches('dtype!=float32'));
  t.notOk(matches('dtype!=float16|float32'));
  t.ok(matches('tag=groups'));
  t.notOk(matches('tag=dilated'));
  t.ok(matches('tag!=dilated'));
  t.notOk(matches('tag!=groups'), 'tag!= holds only when no tag equals the value');
  t.ok(matches('tag~grou'));
  t.ok(matches('tag!~dil'));
  t.ok(matches('case=stride-2'));
  t.ok(matches('id~stride'));
  t.notOk(matches('id!~stride'));
  t.ok(matches(' family = normal , dtype=float32 '), 'spaces around keys and values are ignored');
  t.notOk(matches('family=normal,dtype=float64'), 'AND');
  t.notOk(matches('tag=groups', { tags: [] }));
});

t.test('errors name the term, say what was expected and what was found', async (t) => {
  const cases: [string, RegExp][] = [
    ['colour=red', /--filter term 'colour=red': unknown key 'colour'; expected one of family, dtype, tag, case, id/],
    ['family', /--filter term 'family': no operator; expected KEY=VALUE, KEY!=VALUE, KEY~VALUE or KEY!~VALUE/],
    ['family=', /--filter term 'family=': empty value/],
    ['family=exact,', /--filter 'family=exact,': empty term/],
    ['family=exakt', /unknown family 'exakt'; expected one of exact, normal, wide, cancel, onehot-dy, zeros, special/],
    ['dtype!=int8', /unknown dtype 'int8'; expected one of float16, float32, float64, bfloat16/],
  ];
  for (const [expression, message] of cases) {
    t.throws(() => parseFilter(expression), { code: 'E_USAGE', message }, expression);
  }
  t.doesNotThrow(() => parseFilter('family~ex'), 'substring values of family are not checked against the names');
});

t.test('--shard parses I/N and refuses anything else', async (t) => {
  t.same(parseShard('2/4'), { index: 2, count: 4 });
  t.same(parseShard(' 1 / 1 '), { index: 1, count: 1 });
  for (const text of ['0/4', '5/4', '2', 'a/b', '1/0', '-1/3', '1.5/3']) {
    t.throws(() => parseShard(text), { code: 'E_USAGE', message: /--shard: expected I\/N with integers 1 <= I <= N \(e\.g\. 2\/4\), found/ }, text);
  }
});

t.test('shards partition the ids: each id in exactly one shard, sizes differ by at most 1', async (t) => {
  fc.assert(
    fc.property(fc.uniqueArray(fc.string({ minLength: 1, maxLength: 6 }), { maxLength: 40 }), fc.integer({ min: 1, max: 9 }), (ids, count) => {
      const seen = new Map<string, number>();
      const sizes: number[] = [];
      for (let index = 1; index <= count; index++) {
        const shard = selectShard(ids, { index, count });
        sizes.push(shard.length);
        for (const id of shard) seen.set(id, (seen.get(id) ?? 0) + 1);
      }
      const everyOnce = ids.every((id) => seen.get(id) === 1) && seen.size === ids.length;
      return everyOnce && Math.max(...sizes) - Math.min(...sizes) <= 1;
    }),
    { seed: 103, numRuns: 200 },
  );
  t.pass(`property held for 200 seeded cases`);
});

t.test('shards are deterministic: input order does not matter', async (t) => {
  const ids = ['c', 'a', 'e', 'b', 'd'];
  // Sorted: a b c d e; shard 2 of 2 takes positions 1 and 3.
  t.same(selectShard(ids, { index: 2, count: 2 }), ['b', 'd']);
  t.same(selectShard([...ids].reverse(), { index: 2, count: 2 }), ['b', 'd']);
});

function meta(id: string, family: FixtureMeta['family'], dtype: FixtureMeta['dtype'], tags: string[]): FixtureMeta {
  return { id, family, dtype, tags, case: id.split('-')[0] } as FixtureMeta;
}

const metas = [
  meta('alpha-exact-f32', 'exact', 'float32', ['plain']),
  meta('beta-normal-f32', 'normal', 'float32', ['groups']),
  meta('gamma-normal-f16', 'normal', 'float16', ['groups', 'dilated']),
  meta('delta-wide-f64', 'wide', 'float64', ['dilated']),
];

t.test('selection: --only, then --filter, then --shard; each refusing to select nothing', async (t) => {
  const ids = (selected: FixtureMeta[]) => selected.map((item) => item.id);
  t.same(ids(selectFixtures(metas, {}, '/corpus')), ['alpha-exact-f32', 'beta-normal-f32', 'delta-wide-f64', 'gamma-normal-f16']);
  t.same(ids(selectFixtures(metas, { terms: parseFilter('tag=groups,dtype!=float16') }, '/corpus')), ['beta-normal-f32']);
  t.same(ids(selectFixtures(metas, { only: ['delta-wide-f64', 'alpha-exact-f32'] }, '/corpus')), ['alpha-exact-f32', 'delta-wide-f64']);
  t.same(ids(selectFixtures(metas, { shard: { index: 1, count: 2 } }, '/corpus')), ['alpha-exact-f32', 'delta-wide-f64']);
  t.same(ids(selectFixtures(metas, { terms: parseFilter('case=gamma') }, '/corpus')), ['gamma-normal-f16']);

  t.throws(() => selectFixtures(metas, { only: ['beta'] }, '/corpus'), {
    code: 'E_USAGE',
    message: "--only: no fixture with id 'beta' (did you mean beta-normal-f32?) in the corpus at /corpus (4 fixtures)",
  });
  t.throws(() => selectFixtures(metas, { terms: parseFilter('tag=nonexistent'), filter: 'tag=nonexistent' }, '/corpus'), {
    code: 'E_USAGE',
    message: "--filter 'tag=nonexistent' selects none of the 4 fixtures; tags in this corpus: dilated, groups, plain",
  });
  t.throws(() => selectFixtures(metas, { only: ['alpha-exact-f32'], shard: { index: 2, count: 2 } }, '/corpus'), {
    code: 'E_USAGE',
    message: '--shard 2/2 selects no fixture: only 1 fixture is selected before sharding',
  });
  const error = (() => {
    try {
      selectFixtures([], {}, '/empty');
    } catch (caught) {
      return caught;
    }
  })();
  t.ok(isConformanceError(error, 'E_USAGE'), 'an empty corpus is a usage error');
});
