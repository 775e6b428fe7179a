#!/usr/bin/env node
/** generate-fixtures: see generator/generate-command.ts. */
import { runEntry } from '../entry.js';

await runEntry('generate-fixtures', async () => (await import('../../generator/generate-command.js')).generateCommand);
