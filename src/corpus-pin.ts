/**
 * The corpus this package ships and the digest of every released corpus version.
 * Written by the generator (generator/generate.ts) when it writes the bundled corpus;
 * not edited by hand. Read through src/corpus-pinning.ts.
 */
import type { CorpusPin } from './corpus-pinning.js';

export const CORPUS_PIN: CorpusPin = {
  bundled: {
    corpusVersion: '1.0.0',
    digest: 'd7def24550956c9c766e36afc3f52326bff793e330278d7819557fc4f8b85045',
    fixtureCount: 450
  },
  released: {
    '1.0.0': 'd7def24550956c9c766e36afc3f52326bff793e330278d7819557fc4f8b85045'
  }
};
