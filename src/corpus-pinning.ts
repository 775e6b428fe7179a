/**
 * The pinned corpus: the digest of the corpus this package ships, and of every
 * released corpus version, recorded in the package (src/corpus-pin.ts, written by
 * the generator when it writes the bundled corpus), outside the corpus folder.
 *
 * A corpus whose files were rewritten and whose every checksum, manifest digest
 * included, was recomputed still verifies on its own; it no longer matches the pin.
 *   match            the digest is the one recorded for its corpusVersion
 *                    (for the bundled corpus: the one this package shipped);
 *   mismatch         its corpusVersion is released (or it is the bundled corpus)
 *                    but its digest differs: changed after release;
 *   unknown-version  its corpusVersion was never released (a scratch or subset corpus):
 *                    nothing to compare with.
 */
import { CORPUS_PIN } from './corpus-pin.js';

export interface CorpusPin {
  /** The corpus in this package's fixtures/ folder. */
  bundled: { corpusVersion: string; digest: string; fixtureCount: number };
  /** corpusVersion -> manifest digest, for every released corpus version. */
  released: Readonly<Record<string, string>>;
}

export type PinStatus = 'match' | 'mismatch' | 'unknown-version';

export interface PinCheck {
  status: PinStatus;
  /** The digest recorded for this corpus (null for an unknown version). */
  pinnedDigest: string | null;
  /** One line for the header of a report and for `verify`. */
  message: string;
}

/** Compare a corpus's version and manifest digest with the pin (see the module comment). */
export function checkCorpusPin(corpus: { corpusVersion: string; digest: string }, options: { bundled: boolean }, pin: CorpusPin = CORPUS_PIN): PinCheck {
  const short = (digest: string): string => digest.slice(0, 12);
  if (options.bundled) {
    const shipped = pin.bundled;
    if (corpus.corpusVersion === shipped.corpusVersion && corpus.digest === shipped.digest) {
      return { status: 'match', pinnedDigest: shipped.digest, message: `pinned: matches the corpus this package shipped (${shipped.corpusVersion}, digest ${short(shipped.digest)})` };
    }
    return {
      status: 'mismatch',
      pinnedDigest: shipped.digest,
      message:
        `PIN MISMATCH: the bundled corpus is ${corpus.corpusVersion} with digest ${corpus.digest}, ` +
        `but this package shipped ${shipped.corpusVersion} with digest ${shipped.digest}: its files were changed after the package was built`,
    };
  }
  const released = Object.hasOwn(pin.released, corpus.corpusVersion) ? pin.released[corpus.corpusVersion] : undefined;
  if (released === undefined) {
    const versions = Object.keys(pin.released).join(', ');
    return {
      status: 'unknown-version',
      pinnedDigest: null,
      message: `not pinned: corpus version ${corpus.corpusVersion} was never released (released: ${versions}), so digest ${short(corpus.digest)} cannot be compared with a release`,
    };
  }
  if (released === corpus.digest) {
    return { status: 'match', pinnedDigest: released, message: `pinned: matches released corpus ${corpus.corpusVersion} (digest ${short(released)})` };
  }
  return {
    status: 'mismatch',
    pinnedDigest: released,
    message:
      `PIN MISMATCH: corpus ${corpus.corpusVersion} has digest ${corpus.digest}, but released corpus ${corpus.corpusVersion} has digest ${released}: ` +
      'its files were changed after release (or regenerated under a released version)',
  };
}

/** The text of src/corpus-pin.ts for `pin` (what the generator writes). */
export function formatCorpusPinSource(pin: CorpusPin): string {
  const released = Object.fromEntries(Object.entries(pin.released).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return [
    '/**',
    ' * The corpus this package ships and the digest of every released corpus version.',
    ' * Written by the generator (generator/generate.ts) when it writes the bundled corpus;',
    ' * not edited by hand. Read through src/corpus-pinning.ts.',
    ' */',
    "import type { CorpusPin } from './corpus-pinning.js';",
    '',
    `export const CORPUS_PIN: CorpusPin = ${JSON.stringify({ bundled: pin.bundled, released }, null, 2).replace(/"([A-Za-z_][A-Za-z0-9_]*)":/g, '$1:').replace(/"/g, "'")};`,
    '',
  ].join('\n');
}
