/**
 * emit-schemas: write schema/*.schema.json from the TypeScript schema objects, or with
 * --check say which committed files are stale. Exit status (cli/exit-codes.ts): 0 written
 * or up to date; 1 a file is missing or out of date (--check); 2 usage errors (an --out
 * that names a file included). The bin file is cli/bin/emit-schemas.ts.
 */
import type { CliCommand, CommandIo, CommandResult } from '../cli/entry.js';
import { EXIT_FAILED, EXIT_OK } from '../cli/exit-codes.js';
import { checkOutputFolder } from '../cli/options.js';
import { schemaDir } from '../src/paths.js';
import { emitSchemas, staleSchemas } from './emit-schemas.js';

export interface EmitSchemasCommandOptions {
  check?: boolean;
  out?: string;
}

/** What emit-schemas did: the files written, or (with --check) the stale ones. */
export type EmitSchemasOutcome = { status: 'written'; written: string[] } | { status: 'checked'; stale: string[] };

export async function runEmitSchemas(options: EmitSchemasCommandOptions, io: CommandIo): Promise<CommandResult<EmitSchemasOutcome>> {
  const folder = options.out ?? schemaDir();
  checkOutputFolder(folder, '--out');
  if (options.check === true) {
    const stale = await staleSchemas(folder);
    for (const path of stale) io.stderr.write(`out of date: ${path} (run emit-schemas to rewrite it)\n`);
    return { status: stale.length === 0 ? EXIT_OK : EXIT_FAILED, data: { status: 'checked', stale } };
  }
  const written = await emitSchemas(folder);
  for (const path of written) io.stdout.write(`wrote ${path}\n`);
  return { status: EXIT_OK, data: { status: 'written', written } };
}

export const emitSchemasCommand: CliCommand = {
  name: 'emit-schemas',
  description: 'Write schema/*.schema.json from the TypeScript schema objects in src/schemas/',
  define(program, { io, action }) {
    program
      .option('--check', 'write nothing; exit 1 if a schema file is missing or out of date')
      .option('--out <folder>', 'folder to write to (default: <package root>/schema)')
      .addHelpText('after', '\nExit status: 0 written or up to date; 1 out of date (--check); 2 usage errors.')
      .action(action((options: EmitSchemasCommandOptions) => runEmitSchemas(options, io)));
  },
};
