#!/usr/bin/env node
/** conformance-runner: see conformance/runner-command.ts. */
import { runEntry } from '../entry.js';

await runEntry('conformance-runner', async () => (await import('../../conformance/runner-command.js')).runnerCommand);
