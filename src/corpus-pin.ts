/**
 * The corpus this package ships and the digest of every released corpus version.
 * Written by the generator (generator/generate.ts) when it writes the bundled corpus;
 * not edited by hand. Read through src/corpus-pinning.ts.
 */
import type { CorpusPin } from './corpus-pinning.js';

export const CORPUS_PIN: CorpusPin = {
  bundled: {
    corpusVersion: '1.2.0',
    digest: '5146d35724177469efbc4cb28187ab60ef2d6790e1027287267b00fe912e2c83',
    fixtureCount: 502
  },
  released: {
    '1.0.0': 'd7def24550956c9c766e36afc3f52326bff793e330278d7819557fc4f8b85045',
    '1.1.0': '0dacbf13bb993a14436c2a322cf7a240407cbaf868a3bdf688f425805ff5baae',
    '1.2.0': '5146d35724177469efbc4cb28187ab60ef2d6790e1027287267b00fe912e2c83'
  }
};
