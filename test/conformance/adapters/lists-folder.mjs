// A cmd: program (`node lists-folder.mjs DIR`): answers every fixture
// {"ok": false, "error": "DIR: N entries"} (or the error reading it), so that a test
// can tell whether DIR is visible to the program.
import { readdirSync } from 'node:fs';
import { serveAsCommand } from './hostile-cmd.mjs';

const folder = process.argv[2];
await serveAsCommand('lists-folder', () => {
  try {
    return `${folder}: ${readdirSync(folder).length} entries`;
  } catch (error) {
    return `${folder}: ${error.code}`;
  }
});
