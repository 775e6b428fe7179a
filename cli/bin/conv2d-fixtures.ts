#!/usr/bin/env node
/** conv2d-fixtures: see conformance/fixtures-command.ts. */
import { runEntry } from '../entry.js';

await runEntry('conv2d-fixtures', async () => (await import('../../conformance/fixtures-command.js')).fixturesCommand);
