/**
 * Writes schema/fixture.schema.json, schema/manifest.schema.json and schema/report.schema.json from the
 * TypeScript schema objects in src/schemas/ (the source of truth).
 *
 *   node dist/generator/emit-schemas.js           write the files
 *   node dist/generator/emit-schemas.js --check   exit 1 if a committed file differs
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { writeFileAtomic } from '../src/atomic-write.js';
import { schemaDir } from '../src/paths.js';
import { fixtureSchema } from '../src/schemas/fixture-schema.js';
import { manifestSchema } from '../src/schemas/manifest-schema.js';
import { reportSchema } from '../src/schemas/report-schema.js';

/** The emitted files: name in schema/ and the object it holds. */
export const SCHEMA_FILES: readonly { file: string; schema: object }[] = [
  { file: 'fixture.schema.json', schema: fixtureSchema },
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

async function main(argv: string[]): Promise<void> {
  const program = new Command('emit-schemas')
    .description('Write schema/*.schema.json from the TypeScript schema objects in src/schemas/')
    .option('--check', 'write nothing; exit 1 if a schema file is missing or out of date')
    .option('--out <folder>', 'folder to write to (default: <package root>/schema)')
    .parse(argv);
  const options = program.opts<{ check?: boolean; out?: string }>();
  const folder = options.out ?? schemaDir();
  if (options.check) {
    const stale = await staleSchemas(folder);
    for (const path of stale) console.error(`out of date: ${path} (run emit-schemas to rewrite it)`);
    process.exitCode = stale.length === 0 ? 0 : 1;
    return;
  }
  for (const path of await emitSchemas(folder)) console.log(`wrote ${path}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv).catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  });
}
