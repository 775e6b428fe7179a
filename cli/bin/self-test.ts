#!/usr/bin/env node
/** self-test: see conformance/self-test-command.ts. */
import { runEntry } from '../entry.js';

await runEntry('self-test', async () => (await import('../../conformance/self-test-command.js')).selfTestCommand);
