/**
 * Writes schema/fixture.schema.json, schema/forward.schema.json, schema/manifest.schema.json and schema/report.schema.json from the
 * TypeScript schema objects in src/schemas/ (the source of truth).
 *
 *   npm run emit-schemas             write the files
 *   npm run emit-schemas -- --check  exit 1 if a committed file differs
 *
 * The command is generator/emit-schemas-command.ts.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../src/atomic-write.js';
import { schemaDir } from '../src/paths.js';
import { fixtureSchema } from '../src/schemas/fixture-schema.js';
import { forwardSchema } from '../src/schemas/forward-schema.js';
import { manifestSchema } from '../src/schemas/manifest-schema.js';
import { reportSchema } from '../src/schemas/report-schema.js';

/** The emitted files: name in schema/ and the object it holds. */
export const SCHEMA_FILES: readonly { file: string; schema: object }[] = [
  { file: 'fixture.schema.json', schema: fixtureSchema },
  { file: 'forward.schema.json', schema: forwardSchema },
  { file: 'manifest.schema.json', schema: manifestSchema },
  { file: 'report.schema.json', schema: reportSchema },
];

/** The exact text of an emitted schema file. */
export function renderSchema(schema: object): string {
  return `${JSON.stringify(schema, null, 2)}\n`;
}

/** Write every schema file into `folder`; returns the paths written. */
export async function emitSchemas(folder: string = schemaDir()): Promise<string[]> {
  const written: string[] = [];
  for (const { file, schema } of SCHEMA_FILES) {
    const path = join(folder, file);
    await writeFileAtomic(path, renderSchema(schema));
    written.push(path);
  }
  return written;
}

/** The schema files in `folder` that are missing or differ from the TypeScript objects. */
export async function staleSchemas(folder: string = schemaDir()): Promise<string[]> {
  const stale: string[] = [];
  for (const { file, schema } of SCHEMA_FILES) {
    const path = join(folder, file);
    const current = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (current !== renderSchema(schema)) stale.push(path);
  }
  return stale;
}
