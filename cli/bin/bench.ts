#!/usr/bin/env node
/** bench: see bench/bench-command.ts. */
import { runEntry } from '../entry.js';

await runEntry('bench', async () => (await import('../../bench/bench-command.js')).benchCommand);
