#!/usr/bin/env node
/** emit-schemas: see generator/emit-schemas-command.ts. */
import { runEntry } from '../entry.js';

await runEntry('emit-schemas', async () => (await import('../../generator/emit-schemas-command.js')).emitSchemasCommand);
