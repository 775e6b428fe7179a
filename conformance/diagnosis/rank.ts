/**
 * Likely causes of a failing run: each cause of ./signatures.ts is scored by how
 * well its signature explains which (fixture, output) pairs failed.
 *
 * A signature predicts the pairs P = {(f, o) : f was scored, o is one of the
 * signature's outputs and scored, f carries a `failsOn` feature (any fixture when
 * none is given), every `requires` feature and no `passesOn` feature}. With F the
 * failing pairs (outputs of `fail` outcomes with failing elements):
 *   recall = |F ∩ P| / |F|,  precision = |F ∩ P| / |P|,
 *   consistency = min over the passesOn features p of 1 - sqrt(share of the fixtures with p that fail)
 *   score = recall * precision * consistency.
 * The consistency term weighs a failure where the signature says fixtures pass
 * more than one more unexplained pair: the bfloat16-inputs bug fails 5 of the 52
 * float16 fixtures, which a float16-accumulation bug never can (1 - sqrt(5/52) = 0.69).
 * A cause is named when score >= MIN_SCORE; causes are ranked by score, ties
 * going to a signature that says where failures are (failsOn / requires) over one
 * that only says where they are not, then to the order of signatures.ts. A run
 * with no failing pair names none.
 *
 * Features are a fixture's tags, `family:<family>` and `dtype:<dtype>`.
 */
import type { ReportLikelyCause } from '../../src/report-types.js';
import type { Outcome, OutputName, ScoredName } from '../../src/types.js';
import { CAUSE_SIGNATURES, type CauseSignature } from './signatures.js';

/** Below this score a cause is not named: it explains too little of what failed, or predicts too much that passed. */
export const MIN_SCORE = 0.25;

/** At most this many causes are named. */
export const MAX_CAUSES = 3;

/** A named cause with its score and evidence: the report's own type (one declaration, src/report-types.ts). */
export type LikelyCause = ReportLikelyCause;

/** A fixture's features: its tags, family:<family> and dtype:<dtype>. */
export function fixtureFeatures(outcome: Pick<Outcome, 'tags' | 'family' | 'dtype'>): Set<string> {
  return new Set([...outcome.tags, `family:${outcome.family}`, `dtype:${outcome.dtype}`]);
}

function matches(signature: CauseSignature, features: ReadonlySet<string>): boolean {
  const failsOn = signature.failsOn ?? [];
  if (failsOn.length > 0 && !failsOn.some((feature) => features.has(feature))) return false;
  if (!(signature.requires ?? []).every((feature) => features.has(feature))) return false;
  return !(signature.passesOn ?? []).some((feature) => features.has(feature));
}

/** The outputs of an outcome that were scored (pass and fail outcomes only). */
function scoredOutputs(outcome: Outcome): OutputName[] {
  return outcome.status === 'pass' || outcome.status === 'fail' ? outcome.outputs.map((metrics) => metrics.output).filter(isGradient) : [];
}

/** The signatures describe gradients: y (scored when the adapter has a forward) is left to its own line. */
function isGradient(name: ScoredName): name is OutputName {
  return name !== 'y';
}

function failingOutputs(outcome: Outcome): OutputName[] {
  return outcome.status === 'fail' ? outcome.outputs.filter((metrics) => metrics.failingElements > 0).map((metrics) => metrics.output).filter(isGradient) : [];
}

function describeFeatures(features: readonly string[] | undefined): string {
  if (features === undefined || features.length === 0) return 'fixtures';
  return `fixtures tagged ${features.join(' or ')}`;
}

/** Score one signature against the outcomes. */
export function scoreCause(signature: CauseSignature, outcomes: readonly Outcome[]): LikelyCause {
  let failing = 0;
  let predicted = 0;
  let explained = 0;
  let predictedFixtures = 0;
  let explainedFixtures = 0;
  const passesOn = signature.passesOn ?? [];
  const claimed = new Map<string, { scored: number; failing: number }>(passesOn.map((feature) => [feature, { scored: 0, failing: 0 }]));
  for (const outcome of outcomes) {
    const scored = scoredOutputs(outcome);
    if (scored.length === 0) continue;
    const failed = failingOutputs(outcome);
    failing += failed.length;
    const features = fixtureFeatures(outcome);
    for (const feature of passesOn) {
      if (!features.has(feature)) continue;
      const count = claimed.get(feature)!;
      count.scored++;
      if (failed.length > 0) count.failing++;
    }
    if (!matches(signature, features)) continue;
    const candidates = scored.filter((name) => signature.outputs.includes(name));
    if (candidates.length === 0) continue;
    predicted += candidates.length;
    predictedFixtures++;
    const hits = candidates.filter((name) => failed.includes(name)).length;
    explained += hits;
    if (hits > 0) explainedFixtures++;
  }
  const recall = failing === 0 ? 0 : explained / failing;
  const precision = predicted === 0 ? 0 : explained / predicted;
  let consistency = 1;
  for (const count of claimed.values()) if (count.scored > 0) consistency = Math.min(consistency, 1 - Math.sqrt(count.failing / count.scored));
  const elsewhere = failing - explained;
  const evidence =
    `${signature.outputs.join(', ')} fail${signature.outputs.length === 1 ? 's' : ''} on ${explainedFixtures} of ${predictedFixtures} ${describeFeatures(signature.failsOn)}` +
    `${(signature.requires ?? []).length > 0 ? ` and ${signature.requires!.join(' and ')}` : ''}` +
    `${passesOn.length > 0 ? ` (not ${passesOn.join(', ')})` : ''}; ${elsewhere} failing output${elsewhere === 1 ? '' : 's'} elsewhere`;
  return { cause: signature.id, title: signature.title, hint: signature.hint, score: recall * precision * consistency, recall, precision, consistency, evidence };
}

/** 1 for a signature that names where failures are (failsOn / requires), 0 for one that only says where they are not. */
function positive(signature: CauseSignature): number {
  return (signature.failsOn ?? []).length + (signature.requires ?? []).length > 0 ? 1 : 0;
}

/** The likely causes of a run, best first (empty when nothing failed or nothing fits). */
export function likelyCauses(outcomes: readonly Outcome[], signatures: readonly CauseSignature[] = CAUSE_SIGNATURES): LikelyCause[] {
  if (!outcomes.some((outcome) => failingOutputs(outcome).length > 0)) return [];
  const scored = signatures.map((signature) => ({ signature, cause: scoreCause(signature, outcomes) }));
  return scored
    .filter(({ cause }) => cause.score >= MIN_SCORE)
    .sort((a, b) => b.cause.score - a.cause.score || positive(b.signature) - positive(a.signature))
    .slice(0, MAX_CAUSES)
    .map(({ cause }) => cause);
}
